import { JSONRPC } from './jsonrpc.js';

/**
 * A refusal at the MCP endpoint, answered as a JSON-RPC error (no id) with an HTTP status. Thrown where
 * the rule lives (guards, body reading, session lookup), rendered once by src/http/render-error.ts.
 */
export class McpHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    /** When set, the refusal is recorded in the audit log with this reason. */
    readonly auditReason?: string,
  ) {
    super(message);
    this.name = 'McpHttpError';
  }
}

/** The authorization server's keys cannot be loaded: not the client's fault (503, retry). */
export class VerifierUnavailableError extends Error {
  constructor() {
    super('The access token cannot be verified right now; retry shortly.');
    this.name = 'VerifierUnavailableError';
  }
}

export const httpErrors = {
  forbiddenHost: () => new McpHttpError(403, JSONRPC.SERVER_ERROR, 'Forbidden: the Host header does not name this server'),
  forbiddenOrigin: () => new McpHttpError(403, JSONRPC.SERVER_ERROR, 'Forbidden: Origin not allowed'),
  methodNotAllowed: () => new McpHttpError(405, JSONRPC.SERVER_ERROR, 'Method not allowed', { Allow: 'GET, POST, DELETE, OPTIONS' }),
  unsupportedMediaType: (detail = 'Content-Type must be application/json') => new McpHttpError(415, JSONRPC.SERVER_ERROR, `Unsupported Media Type: ${detail}`),
  tooLarge: (limit: number) => new McpHttpError(413, JSONRPC.INVALID_REQUEST, `Request body too large (limit ${limit} bytes)`),
  parseError: () => new McpHttpError(400, JSONRPC.PARSE_ERROR, 'Parse error: the body is not valid JSON'),
  invalidRequest: (message: string) => new McpHttpError(400, JSONRPC.INVALID_REQUEST, message),
  sessionRequired: (detail = '') => new McpHttpError(400, JSONRPC.SERVER_ERROR, `Bad Request: Mcp-Session-Id header is required${detail}`),
  sessionNotFound: () => new McpHttpError(404, JSONRPC.SESSION_NOT_FOUND, 'Session not found'),
  /** Another principal's session: answered exactly as an unknown one (no probing), but audited. */
  sessionOfAnother: () => new McpHttpError(404, JSONRPC.SESSION_NOT_FOUND, 'Session not found', {}, 'session_owned_by_another_principal'),
  sessionStoreUnavailable: () => new McpHttpError(503, JSONRPC.SERVER_ERROR, 'Session store unavailable; retry later', { 'Retry-After': '5' }),
  tooManySessions: () => new McpHttpError(503, JSONRPC.SERVER_ERROR, 'Too many open sessions on this server; retry later', { 'Retry-After': '30' }),
};
