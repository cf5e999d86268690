import { accessTokenStanding, type PrismaClient } from '@mcp-gw/db';
import type { RevocationEvent } from '@mcp-gw/shared';

export interface GrantStatusOptions {
  /** How long an "active" answer is remembered while a revocation feed is live; 0 turns caching off. */
  ttlMs: number;
  /** Bound on remembered grants (the oldest are forgotten first). */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Whether an access token still stands — its grant exists, and the token itself was not revoked
 * (RFC 7009): asked on every request, answered by the database. An "active" answer is remembered per
 * token for a few seconds, but only while a revocation feed is live — one that hears every
 * revocation: the authorization server in this very process on the embedded database, or the Redis
 * revocation channel while subscribed — and it is forgotten the moment a revocation names the token,
 * its grant or its client. Without a live feed (replicas without Redis, Redis down) every request
 * asks the database, so "refused on the next request" holds either way.
 */
export class GrantStatus {
  /** Token (its jti, or its grant id when it has none) → until when it is known to stand. */
  private readonly remembered = new Map<string, { until: number; grantId: string }>();
  /** Grant id → the remembered tokens of that grant (a grant's revocation forgets them all). */
  private readonly byGrant = new Map<string, Set<string>>();
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
   * True when the token is remembered as standing right now (what `isActive` would answer without a
   * database read); false means "not known", not "revoked": ask `isActive` then.
   */
  knownActive(grantId: string, tokenId?: string): boolean {
    if (!this.caching) return false;
    const key = tokenId ?? grantId;
    const entry = this.remembered.get(key);
    if (entry === undefined || entry.grantId !== grantId) return false;
    if (entry.until > this.now()) return true;
    this.forget(key);
    return false;
  }

  async isActive(grantId: string, tokenId?: string): Promise<boolean> {
    if (this.knownActive(grantId, tokenId)) return true;
    const now = this.now();
    const generation = this.generation;
    const expiry = await accessTokenStanding(this.prisma, grantId, tokenId, new Date(now));
    if (expiry === undefined) return false;
    if (this.caching && generation === this.generation) {
      const key = tokenId ?? grantId;
      if (this.remembered.size >= this.maxEntries) this.forget(this.remembered.keys().next().value!);
      this.remembered.set(key, { until: Math.min(now + this.options.ttlMs, expiry?.getTime() ?? Number.POSITIVE_INFINITY), grantId });
      let tokens = this.byGrant.get(grantId);
      if (!tokens) this.byGrant.set(grantId, (tokens = new Set()));
      tokens.add(key);
    }
    return true;
  }

  /** A revocation notice: its tokens or grants are forgotten; a client's revocation forgets everything. */
  revoked(event: RevocationEvent): void {
    this.generation += 1;
    if (event.type === 'client') {
      this.remembered.clear();
      this.byGrant.clear();
      return;
    }
    for (const tokenId of event.tokenIds ?? []) this.forget(tokenId);
    for (const grantId of event.grantIds) {
      for (const key of this.byGrant.get(grantId) ?? []) this.remembered.delete(key);
      this.byGrant.delete(grantId);
    }
  }

  private forget(key: string): void {
    const entry = this.remembered.get(key);
    if (!entry) return;
    this.remembered.delete(key);
    const tokens = this.byGrant.get(entry.grantId);
    tokens?.delete(key);
    if (tokens?.size === 0) this.byGrant.delete(entry.grantId);
  }

  /** Something the feed may not have heard changed the database: nothing remembered stands. */
  forgetAll(): void {
    this.generation += 1;
    this.remembered.clear();
    this.byGrant.clear();
  }
}
