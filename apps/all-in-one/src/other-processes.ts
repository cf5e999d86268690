import type { Database } from '@mcp-gw/db';
import { OWNER_NOTICE_CHANNEL, parseOwnerNotice, type Logger, type RevocationEvent } from '@mcp-gw/shared';

export interface OwnerParts {
  /** The MCP server's revocation entry point (closes live sessions, forgets the grants). */
  revoke(event: RevocationEvent): Promise<unknown>;
  /** Something changed that the in-process revocation feed may not have heard of. */
  forgetGrants(): void;
  /** Reads the signing keys again (a rotation by `pnpm admin keys rotate`). */
  reloadKeys(): Promise<unknown>;
}

/**
 * This process owns the embedded database and other processes (the admin CLI) change it through its
 * socket. Their notices are applied before they read their answer, so "revoked" in the CLI means
 * revoked here; any other write they commit drops what the MCP server remembers of grants.
 */
export async function hearOtherProcesses(db: Database, parts: OwnerParts, logger: Logger): Promise<void> {
  if (!db.external) return;
  db.external.onWrite(() => parts.forgetGrants());
  await db.external.listen(OWNER_NOTICE_CHANNEL, async (payload) => {
    const notice = parseOwnerNotice(payload);
    if (!notice) return logger.warn({ payload: payload.slice(0, 200) }, 'ignored a malformed notice from another process');
    try {
      if (notice.type === 'revocation') await parts.revoke(notice.event);
      else await parts.reloadKeys();
    } catch (err) {
      logger.warn({ err, notice: notice.type }, 'a notice from another process could not be applied');
    }
  });
}
