// oidc-provider lib/models/refresh_token.js: RefreshToken.prototype.generateTokenId and static RefreshToken.find; lib/provider.js: Provider.ctx
import crypto from 'node:crypto';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/**
 * Refresh token rotation that survives concurrent refreshes and lost responses.
 *
 * oidc-provider rotates refresh tokens (rotateRefreshToken: true) and treats any second use of a
 * rotated token as theft: it revokes the whole grant (actions/grants/refresh_token.js). Two tabs
 * refreshing at once, or a client retrying after a dropped response, then log the user out. Here,
 * for `graceSeconds` after the first use, presenting the rotated token again yields the SAME
 * successor refresh token (and a fresh access token); after the grace period, or once the successor
 * itself has been used, reuse revokes the grant as before.
 *
 * How, with oidc-provider's own handler left untouched:
 * - the successor's id is not random but HMAC(key, predecessor id) (RefreshSuccessors), set through
 *   the token's generateTokenId when the refresh_token grant saves it (the handler has put the
 *   predecessor in ctx.oidc.entities.RotatedRefreshToken just before). Concurrent requests compute
 *   the same successor, the adapter writes refresh tokens insert-if-absent, so both answers carry
 *   the same refresh token. Nothing links the two tokens in the database: it holds SHA-256 of each
 *   id, and the key is derived from KEY_ENCRYPTION_KEY, which is not in the database.
 * - RefreshToken.find, on the token endpoint's refresh_token grant only, hides `consumed` while
 *   the token was consumed less than `graceSeconds` ago and its successor has not been consumed.
 *   The handler then "rotates" again to the same successor. The adapter's consume() keeps the first
 *   consumption time, so retries cannot stretch the window.
 */
export class RefreshSuccessors {
  private readonly key: Buffer;

  constructor(secret: string | Buffer) {
    const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    this.key = Buffer.from(crypto.hkdfSync('sha256', ikm, Buffer.alloc(0), 'mcp-gw refresh token successor v1', 32));
  }

  /** The id of the refresh token that replaces `predecessorId` at rotation (256 bits, base64url). */
  successorOf(predecessorId: string): string {
    return crypto.createHmac('sha256', this.key).update(predecessorId).digest('base64url');
  }
}

type Ctx = KoaContextWithOIDC & { oidc: { entities: Record<string, { jti?: string } | undefined> } };

function currentContext(): Ctx | undefined {
  return (Provider as unknown as { ctx?: Ctx }).ctx;
}

function isRefreshGrant(ctx: Ctx | undefined): boolean {
  return ctx?.oidc?.route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token';
}

export function installRefreshGrace(provider: Provider, { graceSeconds, successors }: { graceSeconds: number; successors: RefreshSuccessors }): void {
  const RefreshToken = provider.RefreshToken as unknown as {
    find(value: unknown, options?: unknown): Promise<{ consumed?: number; jti?: string } | undefined>;
    adapter: { find(id: string): Promise<{ consumed?: unknown } | undefined> };
    prototype: { generateTokenId(): string };
  };

  const originalGenerateTokenId = RefreshToken.prototype.generateTokenId;
  RefreshToken.prototype.generateTokenId = function generateTokenId(this: object) {
    const ctx = currentContext();
    const rotated = isRefreshGrant(ctx) ? ctx!.oidc.entities.RotatedRefreshToken : undefined;
    if (rotated?.jti && rotated !== this) return successors.successorOf(rotated.jti);
    return originalGenerateTokenId.call(this);
  };

  if (graceSeconds <= 0) return;
  const originalFind = RefreshToken.find;
  RefreshToken.find = async function find(this: typeof RefreshToken, value: unknown, options?: unknown) {
    const token = await originalFind.call(this, value, options);
    if (!token?.consumed || typeof value !== 'string' || !isRefreshGrant(currentContext())) return token;
    if (Math.floor(Date.now() / 1000) - token.consumed > graceSeconds) return token;
    // Absent means the request that consumed the token has not saved it yet (a concurrent refresh):
    // when the grant is revoked, the predecessor goes with it and is not found in the first place.
    const successor = await this.adapter.find(successors.successorOf(value));
    if (successor?.consumed) return token;
    delete token.consumed;
    return token;
  };
}
