import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from 'proxy-addr';
import { MCP_SCOPES, TICKETS_READ, type AccessTokenVerifier, type Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';
import { bearerAuth, insufficientScope, sendAuthError } from '../auth/bearer-auth.js';
import type { GrantStatus } from '../auth/grant-status.js';
import type { Principal } from '../auth/principal.js';
import { requestEra } from '../mcp/era.js';
import type { ModernEndpoint } from '../mcp/modern-handler.js';
import { isInitializeRequest, type AuthInfo, type JSONRPCMessage } from '../mcp/sdk.js';
import type { AuditLog } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';
import { TOOL_SCOPES } from '../tools/tickets.js';
import type { SessionLookup, SessionManager } from '../transport/session-manager.js';
import { isJsonContentType, readJsonBody } from './body.js';
import { dnsRebindingGuard } from './guards.js';
import { JSONRPC, isRequest, sendJsonRpcError, validateJsonRpcBody } from './jsonrpc.js';

const SESSION_HEADER = 'mcp-session-id';

/** Node-style middleware (the `cors` package is one): calls next() to go on, or answers itself. */
type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface McpEndpointOptions {
  config: McpServerConfig;
  sessions: SessionManager;
  /** The 2026-07-28 leg (stateless requests). */
  modern: ModernEndpoint;
  verifier: AccessTokenVerifier;
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
  /** A grant was found revoked: close its live sessions. */
  onGrantRevoked(grantId: string): void;
  /** A POST is being answered (in-flight accounting for the drain); called once per POST. */
  trackPost(res: ServerResponse): void;
}

/**
 * The scope a JSON-RPC request needs beyond being authenticated, if any: for tools/call, the tool's,
 * judged from the body and from the Mcp-Name header alike (when they differ the modern handler refuses
 * the request with -32020; the scope decision must not depend on which of the two an intermediary read).
 */
function requiredScopes(message: Record<string, unknown>, mcpName: string | undefined): string[] {
  if (!isRequest(message)) return [];
  switch (message.method) {
    case 'tools/call': {
      const name = (message.params as { name?: unknown } | undefined)?.name;
      const scopes = new Set<string>();
      for (const tool of [name, mcpName]) {
        const scope = typeof tool === 'string' ? TOOL_SCOPES.get(tool) : undefined;
        if (scope) scopes.add(scope);
      }
      return [...scopes];
    }
    case 'resources/list':
    case 'resources/read':
    case 'prompts/get':
      return [TICKETS_READ];
    default:
      return [];
  }
}

/** The Mcp-Name header's value, decoded from the spec's `=?base64?…?=` form when so encoded. */
function decodeMcpName(value: string | string[] | undefined): string | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (raw === undefined) return undefined;
  const encoded = /^=\?base64\?(.*)\?=$/.exec(raw);
  return encoded ? Buffer.from(encoded[1]!, 'base64').toString('utf8') : raw;
}

/**
 * Handlers work from the verified AuthInfo (req.auth), not from the header: it is taken off before the
 * request reaches the transport, so handlers never see the bearer token among the request headers
 * (requestInfo). Assigned rather than deleted: deleting a key turns V8's object into a slow dictionary
 * for every later header read.
 */
function withoutAuthorization(req: IncomingMessage): void {
  req.headers.authorization = undefined;
}

/**
 * Whether a request target is the resource path, as Express matched it: any case, one optional trailing
 * slash, the query ignored, origin-form or absolute-form (RFC 9112 §3.2.2: servers must accept both).
 */
export function pathMatcher(resourcePath: string): (url: string | undefined) => boolean {
  const target = resourcePath.toLowerCase();
  return (url) => {
    if (!url) return false;
    if (url[0] !== '/') url = URL.parse(url)?.pathname ?? '';
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return path.length === target.length && path.toLowerCase() === target;
  };
}

/**
 * The MCP endpoint (POST, GET, DELETE, OPTIONS on the resource path) on plain Node request and
 * response objects. Every tool call passes through here, so it does what the Express stack did for it
 * (security headers, CORS, DNS-rebinding guard, bearer auth, body limits, metrics) without Express's
 * per-request cost, which measured as large as the rest of a tool call. Other routes stay on Express.
 */
export function createMcpEndpoint(options: McpEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { config, sessions, audit, metrics, logger, securityHeaders } = options;
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

  /** The caller's session, or the 404 (unknown or another principal's) / 503 (store down) answer. */
  const findSession = async (req: IncomingMessage, res: ServerResponse, sessionId: string, principal: Principal) => {
    let found: SessionLookup;
    try {
      found = await sessions.lookup(sessionId, principal);
    } catch (err) {
      logger.error({ err, session: sessionId }, 'session store unavailable');
      res.setHeader('Retry-After', '5');
      sendJsonRpcError(res, 503, JSONRPC.SERVER_ERROR, 'Session store unavailable; retry later');
      return undefined;
    }
    if (found.kind !== 'found') {
      if (found.kind === 'forbidden') denied(req, 'session_owned_by_another_principal', principal);
      sendJsonRpcError(res, 404, JSONRPC.SESSION_NOT_FOUND, 'Session not found');
      return undefined;
    }
    return found.session;
  };

  const post = async (req: IncomingMessage, res: ServerResponse, principal: Principal) => {
    if (!isJsonContentType(req.headers['content-type'])) {
      sendJsonRpcError(res, 415, JSONRPC.SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
      return;
    }
    const read = await readJsonBody(req, config.MAX_BODY_BYTES);
    if (!read.ok) {
      if (read.aborted) return void res.end();
      sendJsonRpcError(res, read.status, read.code, read.message);
      return;
    }
    const checked = validateJsonRpcBody(read.body);
    if (!checked.ok) {
      sendJsonRpcError(res, 400, JSONRPC.INVALID_REQUEST, checked.message);
      return;
    }
    // A token carrying none of this server's scopes can do nothing here: step up at the door.
    if (!principal.scopes.some((s) => (MCP_SCOPES as readonly string[]).includes(s))) {
      denied(req, 'insufficient_scope', principal, { required: MCP_SCOPES });
      sendAuthError(res, config, insufficientScope(principal, [TICKETS_READ]));
      return;
    }
    const mcpName = checked.messages.length === 1 ? decodeMcpName(req.headers['mcp-name']) : undefined;
    for (const message of checked.messages) {
      const scope = requiredScopes(message, mcpName).find((s) => !principal.scopes.includes(s));
      if (scope) {
        denied(req, 'insufficient_scope', principal, {
          required: scope,
          rpc_method: message.method,
          tool: (message.params as { name?: string } | undefined)?.name,
        });
        sendAuthError(res, config, insufficientScope(principal, [scope]));
        return;
      }
    }
    if (requestEra(req, read.body, logger) === 'modern') {
      await options.modern.serve(req, res, read.body, (req as { auth?: AuthInfo }).auth!, principal);
      return;
    }
    const sessionId = req.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string') {
      const init = checked.messages.filter((m) => isInitializeRequest(m));
      if (init.length === 0) {
        sendJsonRpcError(res, 400, JSONRPC.SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required (initialize first)');
        return;
      }
      if (checked.messages.length !== 1) {
        sendJsonRpcError(res, 400, JSONRPC.INVALID_REQUEST, 'Invalid Request: initialize must be sent alone');
        return;
      }
      if (!sessions.hasCapacity()) {
        res.setHeader('Retry-After', '30');
        sendJsonRpcError(res, 503, JSONRPC.SERVER_ERROR, 'Too many open sessions on this server; retry later');
        return;
      }
      await sessions.open(principal, req, res, read.body);
      return;
    }
    const session = await findSession(req, res, sessionId, principal);
    if (!session) return;
    let body: unknown = read.body;
    // Answers to server-initiated requests (elicitation) may belong to another replica's call. The
    // messages passed validateJsonRpcBody, so one without a method is a response (no schema parse per call).
    if (checked.messages.some((m) => !isRequest(m))) {
      const keep = await sessions.routeResponses(session, checked.messages as JSONRPCMessage[]);
      if (keep.length === 0) {
        res.statusCode = 202;
        res.end();
        return;
      }
      body = Array.isArray(read.body) ? keep : keep[0];
    }
    await session.transport.handleRequest(req, res, body);
  };

  const getOrDelete = async (req: IncomingMessage, res: ServerResponse, principal: Principal) => {
    const sessionId = req.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string') {
      sendJsonRpcError(res, 400, JSONRPC.SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required');
      return;
    }
    const session = await findSession(req, res, sessionId, principal);
    if (!session) return;
    await session.transport.handleRequest(req, res);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    const method = req.method ?? 'GET';
    if (method === 'POST') options.trackPost(res);
    // Without an Origin header `cors` does nothing (our origin callback answers false): skip it.
    if (req.headers.origin !== undefined && !(await corsPassed(req, res))) return;
    if (method !== 'POST' && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
      res.setHeader('Allow', 'GET, POST, DELETE, OPTIONS');
      sendJsonRpcError(res, 405, JSONRPC.SERVER_ERROR, 'Method not allowed');
      return;
    }
    if (!guard(req, res)) return;
    const authenticated = authenticate(req, res);
    const principal = authenticated instanceof Promise ? await authenticated : authenticated;
    if (!principal) return;
    withoutAuthorization(req);
    if (method === 'POST') await post(req, res, principal);
    else await getOrDelete(req, res, principal);
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
      // Last resort: log, answer without internals.
      logger.error({ err, path: req.url?.split('?', 1)[0], method: req.method }, 'unhandled request error');
      sendJsonRpcError(res, 500, JSONRPC.INTERNAL_ERROR, 'Internal error');
    }
  };
}
