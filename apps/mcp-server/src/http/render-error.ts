import type { IncomingMessage, ServerResponse } from 'node:http';
import { OAuthError, type Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';
import { MissingTokenError, authSchemeOf, sendAuthError, type DpopAdvertised } from '../auth/bearer-auth.js';
import { McpHttpError, VerifierUnavailableError } from '../protocol/http-errors.js';
import { JSONRPC, sendJson, sendJsonRpcError } from '../protocol/jsonrpc.js';

/**
 * The one place the MCP endpoint turns a thrown refusal into an answer (as oidc-provider renders its
 * error classes in one handler): endpoint rules throw McpHttpError, the bearer check throws OAuthError
 * (RFC 6750 challenge), MissingTokenError or VerifierUnavailableError; anything else is a bug, logged
 * and answered without internals.
 */
export function renderError(req: IncomingMessage, res: ServerResponse, err: unknown, config: McpServerConfig, logger: Logger, dpop: DpopAdvertised): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (err instanceof McpHttpError) {
    for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
    sendJsonRpcError(res, err.status, err.code, err.message);
  } else if (err instanceof OAuthError) {
    sendAuthError(res, config, err, { scheme: authSchemeOf(req), dpop });
  } else if (err instanceof MissingTokenError) {
    sendAuthError(res, config, undefined, { dpop });
  } else if (err instanceof VerifierUnavailableError) {
    res.setHeader('Retry-After', '5');
    sendJson(res, 503, { error: 'temporarily_unavailable', error_description: err.message });
  } else {
    logger.error({ err, path: req.url?.split('?', 1)[0], method: req.method }, 'unhandled request error');
    sendJsonRpcError(res, 500, JSONRPC.INTERNAL_ERROR, 'Internal error');
  }
}
