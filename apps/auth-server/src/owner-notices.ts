import { OWNER_NOTICE_CHANNEL, type OwnerNotice, type RevocationEvent } from '@mcp-gw/shared';
import type { Database } from '@mcp-gw/db';

/**
 * How this process tells the embedded database's owner what it changed, when it reaches that
 * database through the owner's socket (the admin CLI, a separately started auth server); undefined
 * otherwise. The owner has acted on a notice when the returned promise resolves.
 */
export function ownerNotices(db: Database): ((notice: OwnerNotice) => Promise<void>) | undefined {
  if (!db.owner) return undefined;
  return (notice) => db.notify(OWNER_NOTICE_CHANNEL, JSON.stringify(notice));
}

/** The revocation publisher's `owner` option: revocations as owner notices. */
export function revocationsToOwner(db: Database): ((event: RevocationEvent) => Promise<void>) | undefined {
  const tell = ownerNotices(db);
  return tell && ((event) => tell({ type: 'revocation', event }));
}
