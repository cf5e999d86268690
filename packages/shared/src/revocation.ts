/** Redis channel on which the authorization server announces revocations to resource servers. */
export const REVOCATION_CHANNEL = 'mcp-gw:revocations';

/**
 * Redis channel on which a resource server echoes a notice's id once it stopped trusting what the
 * notice names; the authorization server waits for every subscribed one before it answers "revoked".
 */
export const REVOCATION_ACK_CHANNEL = 'mcp-gw:revocations:acks';

export interface RevocationEvent {
  /** A client (every grant of it), grants, or single access tokens (RFC 7009; their grants stand). */
  type: 'client' | 'grant' | 'token';
  clientId?: string;
  grantIds: string[];
  /** type 'token': the `jti`s of the revoked access tokens. */
  tokenIds?: string[];
  /** Set by the publisher on Redis: what a resource server echoes on REVOCATION_ACK_CHANNEL. */
  id?: string;
}

/** Validates a revocation notice from the wire; undefined when it is not one. */
export function parseRevocationEvent(message: string): RevocationEvent | undefined {
  return revocationEventFrom(parseJson(message));
}

function revocationEventFrom(value: unknown): RevocationEvent | undefined {
  const v = value as Partial<RevocationEvent> | null | undefined;
  if (!v || (v.type !== 'client' && v.type !== 'grant' && v.type !== 'token')) return undefined;
  if (!Array.isArray(v.grantIds) || !v.grantIds.every((g) => typeof g === 'string')) return undefined;
  if (v.tokenIds !== undefined && (!Array.isArray(v.tokenIds) || !v.tokenIds.every((t) => typeof t === 'string'))) return undefined;
  if (v.type === 'token' && !v.tokenIds?.length) return undefined;
  if (v.clientId !== undefined && typeof v.clientId !== 'string') return undefined;
  if (v.id !== undefined && (typeof v.id !== 'string' || v.id.length > 200)) return undefined;
  return { type: v.type, clientId: v.clientId, grantIds: v.grantIds, ...(v.tokenIds ? { tokenIds: v.tokenIds } : {}), ...(v.id ? { id: v.id } : {}) };
}

function parseJson(message: string): unknown {
  try {
    return JSON.parse(message);
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL NOTIFY channel on which processes that reach the embedded database through its owner
 * (the admin CLI) tell the owner what they changed; the owner acts on it before they go on.
 */
export const OWNER_NOTICE_CHANNEL = 'mcp_gw_owner_notices';

export type OwnerNotice = { type: 'revocation'; event: RevocationEvent } | { type: 'keys' };

export function parseOwnerNotice(message: string): OwnerNotice | undefined {
  const notice = parseJson(message) as { type?: unknown; event?: unknown } | null | undefined;
  if (notice?.type === 'keys') return { type: 'keys' };
  const event = notice?.type === 'revocation' ? revocationEventFrom(notice.event) : undefined;
  return event ? { type: 'revocation', event } : undefined;
}
