import type { ServerResponse } from 'node:http';

/** JSON-RPC 2.0 error codes used at the HTTP layer (the SDK answers the rest). */
export const JSONRPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INTERNAL_ERROR: -32603,
  /** Implementation-defined server errors (-32000..-32099). */
  SERVER_ERROR: -32000,
  SESSION_NOT_FOUND: -32001,
} as const;

/** A JSON answer on a plain Node response (/mcp is served without Express; Express responses are ones too). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string, id: string | number | null = null): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id });
}

export interface JsonRpcRequestLike {
  jsonrpc: '2.0';
  method: string;
  id?: string | number;
  params?: Record<string, unknown>;
}

/**
 * Structural JSON-RPC 2.0 validation of a POSTed body (one message or a batch). Returns an error text
 * for the first invalid message, or the messages.
 */
export function validateJsonRpcBody(body: unknown): { ok: true; messages: Record<string, unknown>[] } | { ok: false; message: string } {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) return { ok: false, message: 'Invalid Request: empty batch' };
  if (list.length > 100) return { ok: false, message: 'Invalid Request: batch too large' };
  for (const m of list) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return { ok: false, message: 'Invalid Request: a message must be a JSON object' };
    const msg = m as Record<string, unknown>;
    if (msg.jsonrpc !== '2.0') return { ok: false, message: 'Invalid Request: "jsonrpc" must be "2.0"' };
    const hasId = 'id' in msg;
    if (hasId && typeof msg.id !== 'string' && !(typeof msg.id === 'number' && Number.isInteger(msg.id))) {
      return { ok: false, message: 'Invalid Request: "id" must be a string or an integer' };
    }
    if ('method' in msg) {
      if (typeof msg.method !== 'string' || msg.method.length === 0 || msg.method.length > 200) {
        return { ok: false, message: 'Invalid Request: "method" must be a non-empty string' };
      }
      if ('params' in msg && (typeof msg.params !== 'object' || msg.params === null)) {
        return { ok: false, message: 'Invalid Request: "params" must be an object or an array' };
      }
    } else if (!hasId || !('result' in msg || 'error' in msg)) {
      return { ok: false, message: 'Invalid Request: not a request, notification or response' };
    }
  }
  return { ok: true, messages: list as Record<string, unknown>[] };
}

export function isRequest(m: Record<string, unknown>): m is Record<string, unknown> & JsonRpcRequestLike {
  return typeof m.method === 'string';
}
