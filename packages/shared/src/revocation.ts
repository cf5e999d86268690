/** Redis channel on which the authorization server announces revocations to resource servers. */
export const REVOCATION_CHANNEL = 'mcp-gw:revocations';

export interface RevocationEvent {
  type: 'client' | 'grant';
  clientId?: string;
  grantIds: string[];
}
