import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { AccessTokenVerifier, DpopVerifier, Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';
import { authSchemeOf, bearerAuth, setDpopNonce } from '../auth/bearer-auth.js';
import type { GrantStatus } from '../auth/grant-status.js';
import type { Principal } from '../auth/principal.js';
import { requestEra } from '../era/dispatch.js';
import type { AuthInfo } from '../mcp/sdk.js';
import type { AuditLog } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';
import { McpHttpError, httpErrors } from '../protocol/http-errors.js';
import { validateJsonRpcBody } from '../protocol/jsonrpc.js';
import type { SessionEndpoint } from '../sessions/session-endpoint.js';
import type { ModernEndpoint } from '../stateless/modern-endpoint.js';
import { isJsonContentType, readJsonBody } from './body.js';
import { dnsRebindingGuard } from './guards.js';
import { renderError } from './render-error.js';
import { checkScopes } from './scope-gate.js';

/** Node-style middleware (the `cors` package is one): calls next() to go on, or answers itself. */
type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface McpEndpointOptions {
  config: McpServerConfig;
  /** The 2025-era leg (sessions). */
  sessions: SessionEndpoint;
  /** The 2026-07-28 leg (stateless requests). */
  modern: ModernEndpoint;
  verifier: AccessTokenVerifier;
  /** Checks the proofs of DPoP-bound tokens. */
  dpop: DpopVerifier;
  grants: GrantStatus;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
  /** CORS for /mcp (origin allow-list, preflights). */
  cors: NodeMiddleware;
  /** The security headers every response of the app carries (helmet's, computed once). */
  securityHeaders: readonly (readonly [string, string])[];
  /** Express's compiled `trust proxy` setting, so client IPs here are the ones Express would see. */
  trustProxy: (address: string, hop: number) => boolean;
  /** A grant was found revoked: close its live sessions and streams. */
  onGrantRevoked(grantId: string): void;
  /** A POST is being answered (in-flight accounting for the drain); called once per POST. */
  trackPost(res: ServerResponse): void;
}

/**
 * Handlers work from the verified AuthInfo (req.auth), not from the header: it is taken off before the
 * request reaches a handler, so handlers never see the bearer token among the request headers
 * (requestInfo). Assigned rather than deleted: deleting a key turns V8's object into a slow dictionary
 * for every later header read.
 */
function withoutAuthorization(req: IncomingMessage): void {
  req.headers.authorization = undefined;
}

/**
 * Whether a request target is the resource path, as Express matched it: any case, one optional trailing
 * slash, the query ignored, origin-form or absolute-form (RFC 9112 §3.2.2: servers must accept both).
 * Below a path (https://example.com/tickets/mcp), the path without its leading segments (/mcp) is the
 * endpoint too: what a proxy that strips the prefix forwards.
 */
export function pathMatcher(resourcePath: string): (url: string | undefined) => boolean {
  const segments = resourcePath.toLowerCase().split('/').filter(Boolean);
  const targets = new Set(segments.length ? segments.map((_, i) => `/${segments.slice(i).join('/')}`) : ['/']);
  return (url) => {
    if (!url) return false;
    if (url[0] !== '/') url = URL.parse(url)?.pathname ?? '';
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return targets.has(path.toLowerCase());
  };
}

/**
 * The MCP endpoint's HTTP edge (POST, GET, DELETE, OPTIONS on the resource path) on plain Node request
 * and response objects: security headers, CORS, the DNS-rebinding guard, bearer auth, the body, the
 * scope step-up and metrics, for both protocol eras; then the era dispatch hands the request to the
 * 2025-era sessions or the 2026-07-28 handler. Every refusal is thrown and rendered by renderError.
 * It runs without Express: Express's per-request cost measured as large as the rest of a tool call.
 */
export function createMcpEndpoint(options: McpEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { config, audit, metrics, logger, securityHeaders } = options;
  const guard = dnsRebindingGuard(config);
  const clientIp = (req: IncomingMessage) => proxyAddr(req, options.trustProxy);
  const denied = (req: IncomingMessage, reason: string, principal?: Principal, details: Record<string, unknown> = {}) => {
    void audit.record({
      action: 'mcp.request',
      outcome: 'denied',
      actorId: principal?.sub,
      clientId: principal?.clientId,
      ip: clientIp(req),
      details: { reason, method: req.method, ...details },
    });
  };
  const authenticate = bearerAuth({
    config,
    verifier: options.verifier,
    dpop: options.dpop,
    grants: options.grants,
    metrics,
    logger,
    onGrantRevoked: options.onGrantRevoked,
    onDenied: (req, reason, principal) => denied(req, reason, principal),
  });
  const corsPassed = (req: IncomingMessage, res: ServerResponse) =>
    new Promise<boolean>((resolve, reject) => {
      options.cors(req, res, (err) => (err ? reject(err) : resolve(true)));
      // A preflight is answered by the middleware itself, without calling next.
      if (res.writableEnded) resolve(false);
    });

  const post = async (req: IncomingMessage, res: ServerResponse, principal: Principal) => {
    if (!isJsonContentType(req.headers['content-type'])) throw httpErrors.unsupportedMediaType();
    const read = await readJsonBody(req, config.MAX_BODY_BYTES);
    if (!read.ok) {
      if (read.aborted) return void res.end();
      throw read.error;
    }
    const checked = validateJsonRpcBody(read.body);
    if (!checked.ok) throw httpErrors.invalidRequest(checked.message);
    checkScopes(principal, checked.messages, req.headers['mcp-name'], ({ required, message }) =>
      denied(req, 'insufficient_scope', principal, {
        required,
        ...(message ? { rpc_method: message.method, tool: (message.params as { name?: string } | undefined)?.name } : {}),
      }),
    );
    if (requestEra(req, read.body, logger) === 'modern') {
      await options.modern.serve(req, res, read.body, (req as { auth?: AuthInfo }).auth!, principal);
    } else {
      await options.sessions.post(req, res, read.body, checked.messages, principal);
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    const method = req.method ?? 'GET';
    if (method === 'POST') options.trackPost(res);
    // Without an Origin header `cors` does nothing (our origin callback answers false): skip it.
    if (req.headers.origin !== undefined && !(await corsPassed(req, res))) return;
    if (method !== 'POST' && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') throw httpErrors.methodNotAllowed();
    guard(req);
    const authenticated = authenticate(req);
    const principal = authenticated instanceof Promise ? await authenticated : authenticated;
    if (options.dpop.nonces) setDpopNonce(res, options.dpop, authSchemeOf(req));
    withoutAuthorization(req);
    try {
      if (method === 'POST') await post(req, res, principal);
      else await options.sessions.getOrDelete(req, res, principal);
    } catch (err) {
      if (err instanceof McpHttpError && err.auditReason) denied(req, err.auditReason, principal);
      throw err;
    }
  };

  return async (req, res) => {
    const started = performance.now();
    // HTTP metrics under the route label "mcp", as the Express routes' are labelled.
    res.once('finish', () => {
      metrics.httpRequests.inc({ method: req.method ?? '', route: 'mcp', status: String(res.statusCode) });
      if (res.getHeader('content-type') !== 'text/event-stream') {
        metrics.httpDuration.observe({ method: req.method ?? '', route: 'mcp' }, (performance.now() - started) / 1000);
      }
    });
    try {
      await serve(req, res);
    } catch (err) {
      renderError(req, res, err, config, logger, options.dpop);
    }
  };
}
