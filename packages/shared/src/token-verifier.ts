import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { InsufficientScopeError, InvalidTokenError } from './errors.js';
import { JwksCache } from './jwks-cache.js';
import { parseScope } from './scopes.js';

/** What a verified RFC 9068 access token says. */
export interface VerifiedAccessToken {
  token: string;
  sub: string;
  clientId: string;
  scopes: string[];
  /** The grant the token was issued under (our `gid` claim): revocation is checked against it. */
  grantId: string | undefined;
  jti: string | undefined;
  issuedAt: number | undefined;
  expiresAt: number;
  claims: JWTPayload;
}

/** Says whether an otherwise valid token was revoked (its client or grant). */
export type RevocationCheck = (token: VerifiedAccessToken) => Promise<boolean>;

export interface AccessTokenVerifierOptions {
  issuer: string;
  /** This resource server's identifier: tokens for any other audience are refused. */
  audience: string;
  jwks?: JwksCache;
  jwksUri?: string;
  clockToleranceSec?: number;
  algorithms?: string[];
  isRevoked?: RevocationCheck;
  /**
   * How long a token that verified may be taken as verified again without redoing the signature
   * check (never past its `exp`, and never once the key set changed). 0 turns it off. Revocation
   * (`isRevoked`) is asked on every call regardless.
   */
  verifiedCacheMs?: number;
  /** At most this many tokens are remembered (the oldest go first). */
  verifiedCacheSize?: number;
}

export const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/**
 * Validates bearer access tokens as a resource server must (RFC 9068, RFC 8707, RFC 6750):
 * signature by the issuer's published keys (asymmetric algorithms only, so `alg: none` and HS256
 * signed with a public key fail), `typ: at+jwt`, exact `iss`, this server in `aud`, `exp`/`nbf` with
 * a small skew, and not revoked.
 */
export class AccessTokenVerifier {
  readonly jwks: JwksCache;
  private readonly algorithms: string[];
  private readonly clockTolerance: number;
  /** Tokens that verified: until when (ms) and under which key set they may be taken as verified. */
  private readonly verified = new Map<string, { value: VerifiedAccessToken; until: number; keys: number }>();
  private readonly cacheMs: number;
  private readonly cacheSize: number;

  constructor(private readonly options: AccessTokenVerifierOptions) {
    this.jwks = options.jwks ?? new JwksCache({ issuer: options.issuer, jwksUri: options.jwksUri });
    this.algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
    this.clockTolerance = options.clockToleranceSec ?? 5;
    this.cacheMs = options.verifiedCacheMs ?? 60_000;
    this.cacheSize = options.verifiedCacheSize ?? 10_000;
  }

  /**
   * What `verify` would answer for `token` without any I/O, when it can: the token verified earlier
   * (still remembered, not past `exp`, same key set) and no revocation callback to ask. Undefined
   * otherwise; then call `verify`. Lets a hot path skip the promises when nothing needs waiting for.
   */
  remembered(token: string): VerifiedAccessToken | undefined {
    return this.options.isRevoked ? undefined : this.stillVerified(token);
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    if (!token || token.length > 8192 || !hasThreeParts(token)) {
      throw new InvalidTokenError('The access token is malformed');
    }
    const remembered = this.stillVerified(token);
    if (remembered) {
      await this.checkRevoked(remembered);
      return remembered;
    }
    const verified = await this.verifySignatureAndClaims(token);
    if (this.cacheMs > 0) {
      // Past exp (with the same tolerance jose applies) it must fail as expired: never remember beyond.
      const until = Math.min(Date.now() + this.cacheMs, (verified.expiresAt + this.clockTolerance) * 1000);
      if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { value: verified, until, keys: this.jwks.version });
    }
    await this.checkRevoked(verified);
    return verified;
  }

  /** The remembered result for `token` while it may still be taken as verified; a stale one is dropped. */
  private stillVerified(token: string): VerifiedAccessToken | undefined {
    const remembered = this.verified.get(token);
    if (!remembered) return undefined;
    if (remembered.until > Date.now() && remembered.keys === this.jwks.version) return remembered.value;
    this.verified.delete(token);
    return undefined;
  }

  private async checkRevoked(verified: VerifiedAccessToken): Promise<void> {
    if (this.options.isRevoked && (await this.options.isRevoked(verified))) {
      throw new InvalidTokenError('The access token was revoked');
    }
  }

  private async verifySignatureAndClaims(token: string): Promise<VerifiedAccessToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks.getKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: this.algorithms,
        typ: 'at+jwt',
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp', 'sub', 'iss', 'aud'],
      }));
    } catch (err) {
      throw new InvalidTokenError(describeJoseError(err));
    }
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
    if (!clientId || typeof payload.sub !== 'string') {
      throw new InvalidTokenError('The access token lacks client_id or sub');
    }
    const verified: VerifiedAccessToken = {
      token,
      sub: payload.sub,
      clientId,
      scopes: parseScope(typeof payload.scope === 'string' ? payload.scope : ''),
      grantId: typeof payload.gid === 'string' ? payload.gid : undefined,
      jti: typeof payload.jti === 'string' ? payload.jti : undefined,
      issuedAt: payload.iat,
      expiresAt: payload.exp!,
      claims: payload,
    };
    return Object.freeze(verified);
  }
}

/** A compact JWS has exactly three dot-separated parts (counted without splitting a kilobyte string). */
function hasThreeParts(token: string): boolean {
  const first = token.indexOf('.');
  if (first < 0) return false;
  const second = token.indexOf('.', first + 1);
  return second >= 0 && token.indexOf('.', second + 1) < 0;
}

/** Throws insufficient_scope unless every scope in `required` was granted. */
export function requireScopes(token: Pick<VerifiedAccessToken, 'scopes'>, required: readonly string[]): void {
  const missing = required.filter((s) => !token.scopes.includes(s));
  if (missing.length) throw new InsufficientScopeError([...required]);
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The access token expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The access token was not issued for this resource';
    if (err.claim === 'iss') return 'The access token was issued by another authorization server';
    if (err.claim === 'typ') return 'The token is not an access token (typ must be at+jwt)';
    if (err.claim === 'nbf') return 'The access token is not valid yet';
    return `The access token has an invalid ${err.claim} claim`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The access token signature is invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The access token was signed by an unknown key';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'The access token uses a signing algorithm that is not allowed';
  if (err instanceof joseErrors.JOSEError) return 'The access token is malformed';
  return 'The access token could not be verified';
}
