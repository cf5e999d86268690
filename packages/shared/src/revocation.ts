/** Redis channel on which the authorization server announces revocations to resource servers. */
export const REVOCATION_CHANNEL = 'mcp-gw:revocations';

/**
 * Redis channel on which a resource server echoes a notice's id once it stopped trusting what the
 * notice names; the authorization server waits for every subscribed one before it answers "revoked".
 */
export const REVOCATION_ACK_CHANNEL = 'mcp-gw:revocations:acks';

export interface RevocationEvent {
  type: 'client' | 'grant';
  clientId?: string;
  grantIds: string[];
  /** Set by the publisher on Redis: what a resource server echoes on REVOCATION_ACK_CHANNEL. */
  id?: string;
}
