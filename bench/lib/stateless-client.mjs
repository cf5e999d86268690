// A minimal MCP 2026-07-28 client for load generation: stateless requests (no initialize, no
// Mcp-Session-Id), one keep-alive connection per client, each call a plain POST carrying its own
// envelope (`_meta` protocol version, client info and capabilities) and the standard headers
// (MCP-Protocol-Version, Mcp-Method, Mcp-Name). Same face as McpHttpClient (initialize, callTool,
// close), so the throughput benchmark drives either the same way.
import { Client } from 'undici';
import { parseMessages } from './mcp-client.mjs';

const ACCEPT = 'application/json, text/event-stream';
export const MODERN_PROTOCOL_VERSION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
  'io.modelcontextprotocol/clientInfo': { name: 'mcp-gw-bench', version: '0.1.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** The Mcp-Name header value: as is when plain ASCII, else the spec's `=?base64?…?=` form. */
function mcpNameHeader(name) {
  return /^[\x20-\x7e]*$/.test(name) ? name : `=?base64?${Buffer.from(name, 'utf8').toString('base64')}?=`;
}

export class StatelessMcpClient {
  /**
   * @param {string} url the /mcp endpoint
   * @param {{ token?: string, dispatcher?: import('undici').Dispatcher }} [options]
   */
  constructor(url, options = {}) {
    this.url = new URL(url);
    this.token = options.token;
    this.ownDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? new Client(this.url.origin, { pipelining: 1, keepAliveTimeout: 120_000 });
    this.nextId = 1;
  }

  headers(method, name) {
    const h = {
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-protocol-version': MODERN_PROTOCOL_VERSION,
      'mcp-method': method,
    };
    if (name !== undefined) h['mcp-name'] = mcpNameHeader(name);
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  /** A JSON-RPC request; resolves to the response message's result, throws on HTTP or JSON-RPC errors. */
  async request(method, params = {}, name = undefined) {
    const id = this.nextId++;
    const res = await this.dispatcher.request({
      origin: this.url.origin,
      path: this.url.pathname,
      method: 'POST',
      headers: this.headers(method, name),
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: ENVELOPE } }),
    });
    const text = await res.body.text();
    let messages = [];
    try {
      messages = res.statusCode < 300 || text.startsWith('{') ? parseMessages(String(res.headers['content-type'] ?? ''), text) : [];
    } catch {
      // not JSON (an error page): leave messages empty
    }
    const answer = messages.find((m) => m.id === id);
    if (res.statusCode !== 200 || !answer) {
      const err = new Error(`${method}: HTTP ${res.statusCode} ${text.slice(0, 200)}`);
      err.status = res.statusCode;
      throw err;
    }
    if (answer.error) throw new Error(`${method}: JSON-RPC error ${answer.error.code} ${answer.error.message}`);
    return { result: answer.result, status: res.statusCode, headers: res.headers };
  }

  /** Nothing to open: a stateless client has no session. */
  async initialize() {
    return undefined;
  }

  /** tools/call; throws unless the tool answered a complete result without isError. */
  async callTool(name, args = {}) {
    const { result } = await this.request('tools/call', { name, arguments: args }, name);
    if (result.resultType !== undefined && result.resultType !== 'complete') throw new Error(`${name}: resultType ${result.resultType}`);
    if (result.isError) throw new Error(`${name}: tool error ${JSON.stringify(result.content).slice(0, 200)}`);
    return result;
  }

  /** Closes the connection (there is no session to end). */
  async close() {
    if (this.ownDispatcher) await this.dispatcher.close().catch(() => {});
  }
}
