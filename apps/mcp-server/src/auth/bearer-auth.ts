import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AccessTokenVerifier,
  DpopVerifier,
  InsufficientScopeError,
  UseDpopNonceError,
  InvalidTokenError,
  MCP_SCOPES,
  OAuthError,
  bearerChallenge,
  dpopChallenge,
  extractBearerToken,
  extractDpopToken,
  type Logger,
  type VerifiedAccessToken,
} from '@mcp-gw/shared';
import { resourceMetadataUrl, type McpServerConfig } from '../config.js';
import { sendJson } from '../protocol/jsonrpc.js';
import { VerifierUnavailableError } from '../protocol/http-errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { GrantStatus } from './grant-status.js';
import { toAuthInfo, type Principal } from './principal.js';
import type { AuthInfo } from '../mcp/sdk.js';

/** Which scheme the request's Authorization header used: a challenge answers in the same one. */
export type AuthScheme = 'Bearer' | 'DPoP';
type AuthenticatedRequest = IncomingMessage & { auth?: AuthInfo; authScheme?: AuthScheme };

export function authSchemeOf(req: IncomingMessage): AuthScheme | undefined {
  return (req as AuthenticatedRequest).authScheme;
}

/** The token's grant was revoked: the client must reconnect (a 401 invalid_token saying so). */
class RevokedGrantError extends InvalidTokenError {
  constructor() {
    super(REVOKED_MESSAGE);
  }
}

export const REVOKED_MESSAGE =
  'Your access to this server was revoked or has ended. Reconnect the server in your MCP client (sign in again) to continue.';

export interface BearerAuthOptions {
  config: McpServerConfig;
  verifier: AccessTokenVerifier;
  /** Whether the token's grant still stands (revocation). */
  grants: GrantStatus;
  metrics: Metrics;
  logger: Logger;
  /** Checks the proof of DPoP-bound tokens (RFC 9449). */
  dpop: DpopVerifier;
  /** Called when a request shows that a grant was revoked: its live sessions are closed. */
  onGrantRevoked?: (grantId: string) => void;
  onDenied?: (req: IncomingMessage, reason: string, principal?: Principal) => void;
}

export function createTokenVerifier(config: McpServerConfig): AccessTokenVerifier {
  return new AccessTokenVerifier({ issuer: config.AUTH_ISSUER, audience: config.MCP_RESOURCE_URL });
}

/** What a DPoP answer needs of the proof check: the algorithms to list, the nonce to hand out. */
export type DpopAdvertised = Pick<DpopVerifier, 'algorithms' | 'nonces'>;

/**
 * RFC 9449 §9: a DPoP request's answer carries the nonce its next proof must use, when this server
 * requires nonces (on success too, so a client moves to the next nonce without a refusal).
 */
export function setDpopNonce(res: ServerResponse, dpop: DpopAdvertised, scheme: AuthScheme | undefined, error?: OAuthError): void {
  const nonce = error instanceof UseDpopNonceError ? error.nonce : scheme === 'DPoP' ? dpop.nonces?.current() : undefined;
  if (nonce) res.setHeader('DPoP-Nonce', nonce);
}

/**
 * Sends the RFC 6750 challenge with RFC 9449's DPoP challenge beside it, and a JSON body naming the
 * error (src/http/render-error.ts calls it). The error goes on the challenge of the scheme the request
 * used; Bearer comes first, with the resource metadata every MCP client looks for.
 */
export function sendAuthError(
  res: ServerResponse,
  config: McpServerConfig,
  error: OAuthError | undefined,
  options: { scheme?: AuthScheme; dpop: DpopAdvertised; scope?: readonly string[] },
): void {
  const onDpop = options.scheme === 'DPoP' && error !== undefined && !(error instanceof InsufficientScopeError);
  res.setHeader('WWW-Authenticate', [
    bearerChallenge({ resourceMetadataUrl: resourceMetadataUrl(config.MCP_RESOURCE_URL), scope: options.scope ?? MCP_SCOPES, error: onDpop ? undefined : error }),
    dpopChallenge(options.dpop.algorithms, onDpop ? error : undefined),
  ]);
  setDpopNonce(res, options.dpop, options.scheme, error);
  res.setHeader('Cache-Control', 'no-store');
  const status = error?.status ?? 401;
  const body = error
    ? { error: error.error, error_description: error.errorDescription }
    : { error: 'unauthorized', error_description: 'This MCP server requires an OAuth access token (Authorization: Bearer …).' };
  sendJson(res, status, body);
}

/** Whether the request URL carries `access_token` in its query. */
function hasQueryToken(url: string | undefined): boolean {
  const q = url?.indexOf('?') ?? -1;
  return q >= 0 && new URLSearchParams(url!.slice(q + 1)).has('access_token');
}

/**
 * The step-up challenge for a valid token that lacks `required`: the scope attribute lists what the
 * client should ask for, keeping the MCP scopes it already has, so re-authorizing does not lose them.
 */
export function insufficientScope(principal: Principal, required: readonly string[]): InsufficientScopeError {
  const keep = principal.scopes.filter((s) => (MCP_SCOPES as readonly string[]).includes(s));
  const scopes = [...new Set([...keep, ...required])];
  const err = new InsufficientScopeError(scopes, `This operation requires the ${required.join(' ')} permission. Reconnect the server in your MCP client and grant it.`);
  return err;
}

/** What a request without a token is answered: the challenge alone (RFC 6750 §3.1: no error code). */
export class MissingTokenError extends Error {
  constructor() {
    super('This MCP server requires an OAuth access token (Authorization: Bearer …).');
    this.name = 'MissingTokenError';
  }
}

/**
 * Bearer token authentication for /mcp (RFC 6750 header only): verifies the JWT, checks its grant is
 * still active in the database (revocation), and attaches the SDK's AuthInfo to the request. Returns
 * the principal, or throws what to answer (OAuthError, MissingTokenError, VerifierUnavailableError).
 * The answer is immediate (no promise) when the token was verified before and its grant is known
 * active, the case of every call after a session's first: nothing is waited for, so nothing is deferred.
 */
export function bearerAuth(options: BearerAuthOptions): (req: IncomingMessage) => Principal | Promise<Principal> {
  const { config, verifier, grants, metrics, logger } = options;
  // One principal and AuthInfo per verified token (the verifier keeps that object while it remembers the token).
  const identities = new WeakMap<VerifiedAccessToken, { principal: Principal; auth: AuthInfo }>();
  const identityOf = (verified: VerifiedAccessToken, token: string) => {
    let identity = identities.get(verified);
    if (!identity) {
      const principal: Principal = {
        sub: verified.sub,
        clientId: verified.clientId,
        scopes: verified.scopes,
        grantId: verified.grantId,
        jti: verified.jti,
        expiresAt: verified.expiresAt,
      };
      identity = { principal, auth: toAuthInfo(principal, token, config.MCP_RESOURCE_URL) };
      identities.set(verified, identity);
    }
    return identity;
  };

  // With auth off every request acts as the one configured user: one principal and AuthInfo for all,
  // shared as a verified token's are.
  const disabled = config.MCP_AUTH_DISABLED ? disabledIdentity(config) : undefined;

  /** What a request's DPoP proof is checked against: this method, the resource URL, the token, its key. */
  const proofOf = (req: IncomingMessage, token: string, jkt: string) => ({ proof: req.headers.dpop, method: req.method ?? 'POST', urls: [config.MCP_RESOURCE_URL], accessToken: token, jkt });

  /** RFC 9449 §7: a DPoP-bound token only with the DPoP scheme and a valid proof; a plain one only as Bearer. */
  const checkBinding = async (req: IncomingMessage, verified: VerifiedAccessToken, token: string, scheme: AuthScheme): Promise<void> => {
    const jkt = (verified.claims.cnf as { jkt?: unknown } | undefined)?.jkt;
    if (typeof jkt !== 'string') {
      if (scheme === 'DPoP') throw new InvalidTokenError('This access token is not bound to a key: present it as "Authorization: Bearer <token>"');
      return;
    }
    if (scheme !== 'DPoP') throw new InvalidTokenError('This access token is bound to a key (DPoP): present it as "Authorization: DPoP <token>" with a DPoP proof');
    await options.dpop.verify(proofOf(req, token, jkt));
  };

  const verifyAndCheck = async (req: IncomingMessage, token: string, scheme: AuthScheme, known?: VerifiedAccessToken): Promise<Principal> => {
    if (!verifier.jwks.ready) {
      try {
        await verifier.jwks.refresh(true);
      } catch (err) {
        // The keys cannot be loaded (authorization server unreachable): not the client's fault.
        logger.error({ err }, 'cannot load the authorization server signing keys');
        metrics.authFailures.inc({ reason: 'verifier_unavailable' });
        throw new VerifierUnavailableError();
      }
    }
    try {
      const verified = known ?? (await verifier.verify(token));
      if (!verified.grantId) throw new InvalidTokenError('The access token has no grant id (gid); it cannot be checked for revocation');
      const { principal, auth } = identityOf(verified, token);
      await checkBinding(req, verified, token, scheme);
      if (!grants.knownActive(verified.grantId, verified.jti) && !(await grants.isActive(verified.grantId, verified.jti))) {
        options.onGrantRevoked?.(verified.grantId);
        metrics.authFailures.inc({ reason: 'revoked' });
        options.onDenied?.(req, 'grant_revoked', principal);
        throw new RevokedGrantError();
      }
      (req as AuthenticatedRequest).auth = auth;
      return principal;
    } catch (err) {
      if (err instanceof RevokedGrantError) throw err;
      if (err instanceof OAuthError) {
        metrics.authFailures.inc({ reason: err.error });
        // Being handed a DPoP nonce is a step of the protocol every such client takes, not a refusal to audit.
        if (!(err instanceof UseDpopNonceError)) options.onDenied?.(req, err.errorDescription);
        throw err;
      }
      // The keys could not be loaded (AS unreachable on first use): not the client's fault.
      logger.error({ err }, 'token verification failed unexpectedly');
      metrics.authFailures.inc({ reason: 'verifier_unavailable' });
      throw new VerifierUnavailableError();
    }
  };

  return (req) => {
    // RFC 6750 §2.3 query tokens leak into logs and histories: refused outright.
    if (hasQueryToken(req.url)) {
      metrics.authFailures.inc({ reason: 'query_token' });
      options.onDenied?.(req, 'token_in_query');
      throw new OAuthError('invalid_request', 'Access tokens are accepted only in the Authorization header, never in the URL.', 400);
    }
    if (disabled) {
      (req as AuthenticatedRequest).auth = disabled.auth;
      return disabled.principal;
    }
    const header = req.headers.authorization;
    const dpopToken = extractDpopToken(header);
    const scheme: AuthScheme = dpopToken !== undefined || (header !== undefined && /^dpop\b/i.test(header)) ? 'DPoP' : 'Bearer';
    (req as AuthenticatedRequest).authScheme = scheme;
    const token = dpopToken ?? extractBearerToken(header);
    if (!token) {
      if (header && /^(bearer|dpop)\b/i.test(header)) {
        metrics.authFailures.inc({ reason: 'malformed' });
        options.onDenied?.(req, 'malformed_token');
        throw new InvalidTokenError('The Authorization header is malformed');
      }
      metrics.authFailures.inc({ reason: 'missing' });
      throw new MissingTokenError();
    }
    // Verified before, grant known active (remembered while the revocation feed is live): what
    // verify and isActive would answer, without their promises.
    const known = verifier.jwks.ready ? verifier.remembered(token) : undefined;
    // A key-bound token's proof is checked on every request, on the asynchronous path below (its
    // signature on the thread pool).
    if (known?.grantId && scheme === 'Bearer' && known.claims.cnf === undefined && grants.knownActive(known.grantId, known.jti)) {
      const { principal, auth } = identityOf(known, token);
      (req as AuthenticatedRequest).auth = auth;
      return principal;
    }
    return verifyAndCheck(req, token, scheme, known);
  };
}

function disabledIdentity(config: McpServerConfig): { principal: Principal; auth: AuthInfo } {
  const principal: Principal = {
    sub: config.MCP_AUTH_DISABLED_SUB!,
    clientId: 'auth-disabled',
    scopes: [...MCP_SCOPES],
    grantId: undefined,
    jti: undefined,
    expiresAt: undefined,
  };
  return { principal, auth: toAuthInfo(principal, 'auth-disabled', config.MCP_RESOURCE_URL) };
}
