// A minimal Streamable HTTP MCP client for load generation: one keep-alive connection and one
// initialized session (Mcp-Session-Id) per client, JSON-RPC POSTs, JSON or SSE answers parsed.
import { Client } from 'undici';
import { dpopProof } from './dpop.mjs';

const ACCEPT = 'application/json, text/event-stream';
const PROTOCOL_VERSION = '2025-06-18';

/** The JSON-RPC messages in a response body: a JSON document or an SSE stream of `data:` events. */
export function parseMessages(contentType, text) {
  if (!text) return [];
  if (contentType && contentType.includes('text/event-stream')) {
    const messages = [];
    for (const event of text.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) messages.push(JSON.parse(data));
    }
    return messages;
  }
  const parsed = JSON.parse(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

export class McpHttpClient {
  /**
   * @param {string} url the /mcp endpoint
   * @param {{ token?: string, dpop?: ReturnType<typeof import('./dpop.mjs').dpopKeyFrom>, dispatcher?: import('undici').Dispatcher }} [options]
   *   dpop: the token is DPoP-bound to this key; every request carries a fresh proof.
   */
  constructor(url, options = {}) {
    this.url = new URL(url);
    this.token = options.token;
    this.dpop = options.dpop;
    this.ownDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? new Client(this.url.origin, { pipelining: 1, keepAliveTimeout: 120_000 });
    this.sessionId = undefined;
    this.protocolVersion = PROTOCOL_VERSION;
    this.nextId = 1;
  }

  headers(method = 'POST') {
    const h = { 'content-type': 'application/json', accept: ACCEPT };
    if (this.token && this.dpop) {
      h.authorization = `DPoP ${this.token}`;
      h.dpop = dpopProof(this.dpop, { method, url: this.url.href, accessToken: this.token });
    } else if (this.token) h.authorization = `Bearer ${this.token}`;
    if (this.sessionId) {
      h['mcp-session-id'] = this.sessionId;
      h['mcp-protocol-version'] = this.protocolVersion;
    }
    return h;
  }

  /** POSTs one JSON-RPC message; returns status, headers and the parsed messages. */
  async post(message) {
    const res = await this.dispatcher.request({
      origin: this.url.origin,
      path: this.url.pathname,
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify(message),
    });
    const text = await res.body.text();
    let messages = [];
    try {
      messages = res.statusCode < 300 || text.startsWith('{') ? parseMessages(String(res.headers['content-type'] ?? ''), text) : [];
    } catch {
      // not JSON (an error page): leave messages empty
    }
    return { status: res.statusCode, headers: res.headers, messages, text };
  }

  /** A JSON-RPC request; resolves to the response message, throws on HTTP or JSON-RPC errors. */
  async request(method, params) {
    const id = this.nextId++;
    const res = await this.post({ jsonrpc: '2.0', id, method, params });
    const answer = res.messages.find((m) => m.id === id);
    if (res.status !== 200 || !answer) {
      const err = new Error(`${method}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      err.status = res.status;
      throw err;
    }
    if (answer.error) throw new Error(`${method}: JSON-RPC error ${answer.error.code} ${answer.error.message}`);
    return { result: answer.result, status: res.status, headers: res.headers };
  }

  async initialize() {
    const { result, headers } = await this.request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'mcp-gw-bench', version: '0.1.0' },
    });
    this.sessionId = headers['mcp-session-id'];
    this.protocolVersion = result.protocolVersion ?? PROTOCOL_VERSION;
    const ack = await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    if (ack.status !== 202 && ack.status !== 200) throw new Error(`notifications/initialized: HTTP ${ack.status}`);
    return result;
  }

  /** tools/call; throws unless the tool answered without isError. */
  async callTool(name, args = {}) {
    const { result } = await this.request('tools/call', { name, arguments: args });
    if (result.isError) throw new Error(`${name}: tool error ${JSON.stringify(result.content).slice(0, 200)}`);
    return result;
  }

  /** Ends the session (DELETE) and closes the connection. */
  async close({ deleteSession = true } = {}) {
    if (deleteSession && this.sessionId) {
      try {
        const res = await this.dispatcher.request({ origin: this.url.origin, path: this.url.pathname, method: 'DELETE', headers: this.headers('DELETE') });
        await res.body.dump();
      } catch {
        // the server may be gone already
      }
    }
    this.sessionId = undefined;
    if (this.ownDispatcher) await this.dispatcher.close().catch(() => {});
  }
}
