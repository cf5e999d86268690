import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@mcp-gw/shared';
import type { Principal } from '../auth/principal.js';
import { isInitializeRequest, type JSONRPCMessage } from '../mcp/sdk.js';
import { httpErrors } from '../protocol/http-errors.js';
import { isRequest } from '../protocol/jsonrpc.js';
import type { SessionLookup, SessionManager } from './session-manager.js';

const SESSION_HEADER = 'mcp-session-id';

export interface SessionEndpoint {
  /** A 2025-era POST (already authenticated, parsed and scope-checked): initialize, or a session's message(s). */
  post(req: IncomingMessage, res: ServerResponse, body: unknown, messages: readonly Record<string, unknown>[], principal: Principal): Promise<void>;
  /** GET (the session's SSE stream, Last-Event-ID) or DELETE (end the session). */
  getOrDelete(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void>;
}

/**
 * The 2025-era Streamable HTTP rules: sessions opened by initialize, bound to the token's user and
 * client (any other principal's token on a session id is answered as an unknown session), continued
 * on any replica. Refusals are thrown (McpHttpError) for the endpoint to render.
 */
export function createSessionEndpoint(options: { sessions: SessionManager; logger: Logger }): SessionEndpoint {
  const { sessions, logger } = options;

  const findSession = async (sessionId: string, principal: Principal) => {
    let found: SessionLookup;
    try {
      found = await sessions.lookup(sessionId, principal);
    } catch (err) {
      logger.error({ err, session: sessionId }, 'session store unavailable');
      throw httpErrors.sessionStoreUnavailable();
    }
    if (found.kind === 'forbidden') throw httpErrors.sessionOfAnother();
    if (found.kind !== 'found') throw httpErrors.sessionNotFound();
    return found.session;
  };

  return {
    async post(req, res, body, messages, principal) {
      const sessionId = req.headers[SESSION_HEADER];
      if (typeof sessionId !== 'string') {
        if (!messages.some((m) => isInitializeRequest(m))) throw httpErrors.sessionRequired(' (initialize first)');
        if (messages.length !== 1) throw httpErrors.invalidRequest('Invalid Request: initialize must be sent alone');
        if (!sessions.hasCapacity()) throw httpErrors.tooManySessions();
        await sessions.open(principal, req, res, body);
        return;
      }
      const session = await findSession(sessionId, principal);
      // Answers to server-initiated requests (elicitation) may belong to another replica's call. The
      // messages passed validation, so one without a method is a response (no schema parse per call).
      if (messages.some((m) => !isRequest(m))) {
        const keep = await sessions.routeResponses(session, messages as JSONRPCMessage[]);
        if (keep.length === 0) {
          res.statusCode = 202;
          res.end();
          return;
        }
        body = Array.isArray(body) ? keep : keep[0];
      }
      await session.transport.handleRequest(req, res, body);
    },
    async getOrDelete(req, res, principal) {
      const sessionId = req.headers[SESSION_HEADER];
      if (typeof sessionId !== 'string') throw httpErrors.sessionRequired();
      const session = await findSession(sessionId, principal);
      await session.transport.handleRequest(req, res);
    },
  };
}
