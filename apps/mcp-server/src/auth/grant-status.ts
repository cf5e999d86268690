import { activeGrantExpiry, type PrismaClient } from '@mcp-gw/db';
import type { RevocationEvent } from '@mcp-gw/shared';

export interface GrantStatusOptions {
  /** How long an "active" answer is remembered while a revocation feed is live; 0 turns caching off. */
  ttlMs: number;
  /** Bound on remembered grants (the oldest are forgotten first). */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Whether the grant behind an access token still stands: asked on every request, answered by the
 * database. An "active" answer is remembered for a few seconds, but only while a revocation feed is
 * live — one that hears every revocation: the authorization server in this very process on the
 * embedded database, or the Redis revocation channel while subscribed — and it is forgotten the
 * moment a revocation names the grant or its client. Without a live feed (replicas without Redis,
 * Redis down) every request asks the database, so "refused on the next request" holds either way.
 */
export class GrantStatus {
  private readonly remembered = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private liveFeeds = 0;
  /** Bumped by every revocation: a lookup that started before one must not be remembered. */
  private generation = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: GrantStatusOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether answers are remembered now. */
  get caching(): boolean {
    return this.liveFeeds > 0 && this.options.ttlMs > 0;
  }

  /** A revocation feed came up (or went down): either way what was remembered is dropped. */
  feedUp(): void {
    this.liveFeeds += 1;
    this.forgetAll();
  }

  feedDown(): void {
    this.liveFeeds = Math.max(0, this.liveFeeds - 1);
    this.forgetAll();
  }

  /**
   * True when the grant is remembered as active right now (what `isActive` would answer without a
   * database read); false means "not known", not "revoked": ask `isActive` then.
   */
  knownActive(grantId: string): boolean {
    if (!this.caching) return false;
    const until = this.remembered.get(grantId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.remembered.delete(grantId);
    return false;
  }

  async isActive(grantId: string): Promise<boolean> {
    if (this.knownActive(grantId)) return true;
    const now = this.now();
    const generation = this.generation;
    const expiry = await activeGrantExpiry(this.prisma, grantId, new Date(now));
    if (expiry === undefined) return false;
    if (this.caching && generation === this.generation) {
      const until = Math.min(now + this.options.ttlMs, expiry?.getTime() ?? Number.POSITIVE_INFINITY);
      if (this.remembered.size >= this.maxEntries) this.remembered.delete(this.remembered.keys().next().value!);
      this.remembered.set(grantId, until);
    }
    return true;
  }

  /** A revocation notice: its grants are forgotten; a client's revocation forgets everything. */
  revoked(event: RevocationEvent): void {
    this.generation += 1;
    if (event.type === 'client') {
      this.remembered.clear();
      return;
    }
    for (const grantId of event.grantIds) this.remembered.delete(grantId);
  }

  /** Something the feed may not have heard changed the database: nothing remembered stands. */
  forgetAll(): void {
    this.generation += 1;
    this.remembered.clear();
  }
}
