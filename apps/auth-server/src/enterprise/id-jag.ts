import { createRemoteJWKSet, decodeJwt, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { EnterpriseIdpConfig } from './config.js';

/** Why an ID-JAG was refused: the `error_description` of the `invalid_grant` answer. */
export class IdJagError extends Error {
  override name = 'IdJagError';
}

export interface IdJagClaims extends JWTPayload {
  iss: string;
  sub: string;
  jti: string;
  exp: number;
  iat: number;
  client_id: string;
  resource: string;
  scope?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface IdJagExpectations {
  /** Our issuer: the assertion's `aud` (with or without a trailing slash). */
  audience: string;
  /** The client that authenticated at our token endpoint: the assertion's `client_id`. */
  clientId: string;
}

/** Only public-key signatures: a shared secret would let anyone holding it mint assertions. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Seconds of clock difference accepted on `iat` and `exp`. */
export const ID_JAG_SKEW_SECONDS = 60;
const SKEW = ID_JAG_SKEW_SECONDS;
/** An ID-JAG is short-lived (minutes): older ones are refused even if their `exp` is generous. */
const MAX_AGE = 600;

/**
 * Checks Identity Assertion JWT Authorization Grants (draft-ietf-oauth-identity-assertion-authz-grant
 * §4.4.1, the MCP enterprise-managed-authorization profile) from the trusted IdPs: type, issuer,
 * signature with that issuer's keys, audience, client, lifetime. Replay (`jti`) is the caller's: it
 * needs shared storage.
 */
export class IdJagVerifier {
  private readonly keys = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly idps: EnterpriseIdpConfig[],
    private readonly fetchJson: (url: string) => Promise<unknown> = async (url) => (await fetch(url, { signal: AbortSignal.timeout(10_000) })).json(),
  ) {}

  async verify(assertion: string, expected: IdJagExpectations): Promise<{ idp: EnterpriseIdpConfig; claims: IdJagClaims }> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(assertion);
    } catch {
      throw new IdJagError('the assertion is not a JWT');
    }
    const idp = this.idps.find((i) => i.issuer === unverified.iss);
    if (!idp) throw new IdJagError(`the assertion's issuer ${String(unverified.iss ?? '(none)').slice(0, 200)} is not a trusted enterprise IdP`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, await this.keysOf(idp), { issuer: idp.issuer, audience: [expected.audience, `${expected.audience}/`], algorithms: ASYMMETRIC, typ: 'oauth-id-jag+jwt', clockTolerance: SKEW, requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id', 'resource'] }));
    } catch (err) {
      throw new IdJagError(describe(err, expected.audience));
    }
    const now = Math.floor(Date.now() / 1000);
    if (payload.iat! > now + SKEW) throw new IdJagError('the assertion was issued in the future (iat)');
    if (payload.iat! < now - MAX_AGE) throw new IdJagError(`the assertion is too old (issued more than ${MAX_AGE} s ago)`);
    if (payload.client_id !== expected.clientId) throw new IdJagError(`the assertion was issued to client ${String(payload.client_id ?? '(none)').slice(0, 200)}, not to the client that presented it`);
    if (typeof payload.resource !== 'string') throw new IdJagError('the assertion\'s resource must be one URL');
    if (payload.scope !== undefined && typeof payload.scope !== 'string') throw new IdJagError('the assertion\'s scope must be a string');
    return { idp, claims: payload as IdJagClaims };
  }

  /** The issuer's keys: its JWKS URI when configured, otherwise the one its discovery document names (looked up once). */
  private async keysOf(idp: EnterpriseIdpConfig): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let keys = this.keys.get(idp.id);
    if (keys) return keys;
    let jwksUri = idp.jwksUri;
    if (!jwksUri) {
      const base = idp.issuer.replace(/\/+$/, '');
      try {
        const document = (await this.fetchJson(`${base}/.well-known/openid-configuration`)) as { jwks_uri?: unknown };
        if (typeof document.jwks_uri !== 'string') throw new Error('no jwks_uri');
        jwksUri = document.jwks_uri;
      } catch {
        throw new IdJagError(`the keys of ${idp.label} could not be found (its discovery document is unavailable): try again later`);
      }
    }
    keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 10_000, cooldownDuration: 30_000 });
    this.keys.set(idp.id, keys);
    return keys;
  }
}

function describe(err: unknown, audience: string): string {
  if (err instanceof joseErrors.JWTExpired) return 'the assertion has expired (exp)';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `the assertion's audience is not this authorization server (${audience})`;
    if (err.claim === 'typ') return 'the assertion is not an ID-JAG (its typ must be oauth-id-jag+jwt)';
    if (err.reason === 'missing') return `the assertion has no ${err.claim} claim`;
    return `the assertion's ${err.claim} claim is not valid`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return 'the assertion\'s signature does not verify with the IdP\'s keys';
  if (err instanceof joseErrors.JWKSTimeout || (err instanceof Error && /fetch|ECONNREFUSED|network/i.test(err.message))) return 'the IdP\'s keys could not be fetched: try again later';
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return 'the assertion is signed with an algorithm that is not accepted';
  return 'the assertion could not be verified';
}
