/**
 * The Streamable HTTP transport on its own: a real node:http server, the SDK's McpServer connected to
 * our transport, raw HTTP requests, so every status, header and SSE frame is checked as a client sees it.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '../src/mcp/sdk.js';
import { MemoryEventStore } from '../src/sessions/event-store.js';
import { NodeStreamableHttpTransport, type NodeStreamableHttpOptions } from '../src/sessions/streamable-http.js';

const ACCEPT = 'application/json, text/event-stream';
const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'test', version: '1' } },
};

interface Harness {
  url: string;
  transport: NodeStreamableHttpTransport;
  server: McpServer;
  closed: string[];
  seen: { headers: Record<string, unknown>; authToken: string | undefined }[];
  /** Resolves the `wait` tool's pending calls. */
  release(): void;
  close(): Promise<void>;
}

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(options: Partial<NodeStreamableHttpOptions> = {}): Promise<Harness> {
  const closed: string[] = [];
  const seen: Harness['seen'] = [];
  let releases: (() => void)[] = [];
  const transport = new NodeStreamableHttpTransport({
    sessionIdGenerator: () => crypto.randomUUID(),
    onsessionclosed: (id) => void closed.push(id),
    ...options,
  });
  const server = new McpServer({ name: 'transport-test', version: '1' }, { capabilities: { logging: {} } });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }, extra) => {
    seen.push({ headers: { ...extra.requestInfo?.headers }, authToken: extra.authInfo?.token });
    return { content: [{ type: 'text', text }] };
  });
  server.registerTool('wait', { inputSchema: {} }, async (_args, extra) => {
    await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'started' } });
    await new Promise<void>((resolve) => releases.push(resolve));
    return { content: [{ type: 'text', text: 'done' }] };
  });
  await server.connect(transport);
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const token = req.headers['x-test-token'];
      if (typeof token === 'string') (req as http.IncomingMessage & { auth?: unknown }).auth = { token, clientId: 'c', scopes: [] };
      transport.handleRequest(req, res, text ? JSON.parse(text) : undefined).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500).end(err.message);
      });
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const h: Harness = {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`,
    transport,
    server,
    closed,
    seen,
    release: () => {
      const pending = releases;
      releases = [];
      for (const r of pending) r();
    },
    close: async () => {
      h.release();
      await server.close().catch(() => {});
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
  open.push(h);
  return h;
}

function post(h: Harness, body: unknown, headers: Record<string, string> = {}) {
  return fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body: JSON.stringify(body) });
}

/** The SSE events of a finished stream: id and data of each (comments dropped). */
function events(text: string): { id?: string; data: string; retry?: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const at = line.indexOf(':');
        fields[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, '');
      }
      return { id: fields.id, data: fields.data ?? '', retry: fields.retry };
    });
}

async function initialize(h: Harness, protocolVersion = '2025-06-18') {
  const res = await post(h, { ...INIT, params: { ...INIT.params, protocolVersion } });
  const sessionId = res.headers.get('mcp-session-id')!;
  await res.text();
  const ack = await post(h, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion });
  expect(ack.status).toBe(202);
  return { sessionId, headers: { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion } };
}

const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** Reads an open SSE response until `done(text so far)` holds. */
async function readUntil(res: Response, done: (text: string) => boolean, timeoutMs = 3000): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  while (!done(text)) {
    if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(text)}`);
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

describe('Streamable HTTP transport (ours, on node:http)', () => {
  it('answers initialize on an SSE stream with the session id, then tool calls on that session', async () => {
    const h = await start();
    const res = await post(h, INIT);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const sessionId = res.headers.get('mcp-session-id');
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.transport.sessionId).toBe(sessionId);
    const [answer] = events(await res.text());
    expect(JSON.parse(answer!.data)).toMatchObject({ id: 0, result: { serverInfo: { name: 'transport-test' } } });

    const headers = { 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-06-18' };
    expect((await post(h, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
    const called = await post(h, call(1, 'echo', { text: 'hi' }), { ...headers, 'x-test-token': 'tok' });
    expect(called.status).toBe(200);
    expect(events(await called.text()).map((e) => JSON.parse(e.data))).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi' }] } }]);
    // Handlers get the request's headers and the AuthInfo the bearer check attached.
    expect(h.seen[0]).toMatchObject({ authToken: 'tok', headers: { 'mcp-session-id': sessionId } });
  });

  it('works with the SDK client (1.x) end to end', async () => {
    const h = await start({ eventStore: new MemoryEventStore({ maxEvents: 100, ttlMs: 60_000 }) });
    const client = new Client({ name: 'sdk-client', version: '1' });
    const clientTransport = new StreamableHTTPClientTransport(new URL(h.url));
    await client.connect(clientTransport);
    expect(clientTransport.sessionId).toBe(h.transport.sessionId);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['echo', 'wait']);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'from the SDK' } });
    expect(result.content).toEqual([{ type: 'text', text: 'from the SDK' }]);
    await clientTransport.terminateSession();
    expect(h.closed).toEqual([h.transport.sessionId]);
    await client.close();
  });

  it('refuses what the SDK transport refuses, with the same statuses and JSON-RPC errors', async () => {
    const h = await start();
    const err = async (res: Response) => ({ status: res.status, body: (await res.json()) as { error: { code: number; message: string } } });

    // Before initialize.
    const early = await err(await post(h, call(1, 'echo', { text: 'x' }), { 'mcp-session-id': 'nope' }));
    expect(early).toMatchObject({ status: 400, body: { error: { code: -32000, message: 'Bad Request: Server not initialized' } } });

    const { headers } = await initialize(h);
    // A second initialize on the session.
    expect(await err(await post(h, { ...INIT, id: 9 }, headers))).toMatchObject({ status: 400, body: { error: { code: -32600 } } });
    // Accept must name both types for POST, the event stream for GET.
    const noSse = await err(await post(h, call(2, 'echo', { text: 'x' }), { ...headers, accept: 'application/json' }));
    expect(noSse).toMatchObject({ status: 406, body: { error: { code: -32000 } } });
    const getJson = await err(await fetch(h.url, { headers: { ...headers, accept: 'application/json' } }));
    expect(getJson.status).toBe(406);
    // Session header missing or unknown; protocol version unsupported.
    const { 'mcp-session-id': _omit, ...noSession } = headers;
    expect(await err(await post(h, call(3, 'echo', { text: 'x' }), noSession))).toMatchObject({ status: 400, body: { error: { code: -32000 } } });
    expect(await err(await post(h, call(4, 'echo', { text: 'x' }), { ...headers, 'mcp-session-id': 'other' }))).toMatchObject({ status: 404, body: { error: { code: -32001, message: 'Session not found' } } });
    const version = await err(await post(h, call(5, 'echo', { text: 'x' }), { ...headers, 'mcp-protocol-version': '1999-01-01' }));
    expect(version.status).toBe(400);
    expect(version.body.error.message).toMatch(/Unsupported protocol version: 1999-01-01/);
    // Not JSON-RPC; a batch over the limit.
    expect(await err(await post(h, { jsonrpc: '2.0', id: 6, method: 7 }, headers))).toMatchObject({ status: 400, body: { error: { code: -32700 } } });
    const batch = Array.from({ length: 101 }, (_, i) => call(100 + i, 'echo', { text: 'x' }));
    expect(await err(await post(h, batch, headers))).toMatchObject({ status: 400, body: { error: { code: -32600 } } });
    // Methods other than GET, POST, DELETE.
    const put = await fetch(h.url, { method: 'PUT', headers });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    // Nothing was broken by any of it.
    expect((await post(h, call(7, 'echo', { text: 'still here' }), headers)).status).toBe(200);
  });

  it('answers a batch on one stream and ends it after the last answer', async () => {
    const h = await start();
    const { headers } = await initialize(h);
    const res = await post(h, [call(1, 'echo', { text: 'a' }), call(2, 'echo', { text: 'b' }), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } }], headers);
    const answers = events(await res.text()).map((e) => JSON.parse(e.data) as { id: number; result: { content: { text: string }[] } });
    expect(answers.map((a) => [a.id, a.result.content[0]!.text]).sort()).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('with an event store, for 2025-11-25 clients: a priming event first, event ids on every event', async () => {
    const h = await start({ eventStore: new MemoryEventStore({ maxEvents: 100, ttlMs: 60_000 }), retryInterval: 1500 });
    const { headers } = await initialize(h, '2025-11-25');
    const text = await (await post(h, call(1, 'echo', { text: 'x' }), headers)).text();
    const [priming, answer] = events(text);
    expect(priming).toMatchObject({ data: '', retry: '1500' });
    expect(priming!.id).toBeTruthy();
    expect(answer!.id).toBeTruthy();
    expect(answer!.id).not.toBe(priming!.id);
    expect(JSON.parse(answer!.data)).toMatchObject({ id: 1 });

    // An older client gets no priming event (empty data was not allowed before 2025-11-25).
    const h2 = await start({ eventStore: new MemoryEventStore({ maxEvents: 100, ttlMs: 60_000 }) });
    const old = await initialize(h2, '2025-06-18');
    const oldEvents = events(await (await post(h2, call(1, 'echo', { text: 'x' }), old.headers)).text());
    expect(oldEvents).toHaveLength(1);
    expect(oldEvents[0]!.id).toBeTruthy();
  });

  it('a client that lost its stream resumes it with Last-Event-ID and gets what it missed', async () => {
    const h = await start({ eventStore: new MemoryEventStore({ maxEvents: 100, ttlMs: 60_000 }) });
    const { headers } = await initialize(h, '2025-11-25');
    const abort = new AbortController();
    const res = await fetch(h.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
      body: JSON.stringify(call(1, 'wait')),
      signal: abort.signal,
    });
    // The priming event and the tool's first notification arrive; then the connection drops.
    const seen = await readUntil(res, (t) => t.includes('started'));
    const lastId = events(seen).at(-1)!.id!;
    abort.abort();
    await new Promise((r) => setTimeout(r, 50));
    // The answer is produced while the client is away: stored, not lost.
    h.release();
    await new Promise((r) => setTimeout(r, 50));
    const resumed = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers, 'last-event-id': lastId } });
    expect(resumed.status).toBe(200);
    const replayed = events(await readUntil(resumed, (t) => t.includes('"id":1')));
    expect(replayed.map((e) => JSON.parse(e.data))).toEqual([{ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'done' }] } }]);
    // An id the store does not know is refused.
    const bad = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers, 'last-event-id': 'garbage' } });
    expect(bad.status).toBe(400);
  });

  it('closeSSEStream ends a stream mid-call; the answer waits in the store for the resume (polling)', async () => {
    const h = await start({ eventStore: new MemoryEventStore({ maxEvents: 100, ttlMs: 60_000 }) });
    h.server.registerTool('poll', { inputSchema: {} }, async (_args, extra) => {
      extra.closeSSEStream?.();
      await new Promise((r) => setTimeout(r, 20));
      return { content: [{ type: 'text', text: 'after the poll' }] };
    });
    const { headers } = await initialize(h, '2025-11-25');
    const first = await post(h, call(1, 'poll'), headers);
    const [priming, ...rest] = events(await first.text());
    expect(rest).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    const resumed = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers, 'last-event-id': priming!.id! } });
    const text = await readUntil(resumed, (t) => t.includes('after the poll'));
    expect(events(text).map((e) => JSON.parse(e.data))).toMatchObject([{ id: 1, result: { content: [{ text: 'after the poll' }] } }]);
  });

  it('one standalone GET stream per session: server messages without a request go there; a second GET is refused', async () => {
    const h = await start({ keepAliveMs: 30 });
    const { headers } = await initialize(h);
    const stream = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const second = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers } });
    expect(second.status).toBe(409);
    await h.server.server.sendLoggingMessage({ level: 'warning', data: 'to everyone' });
    const text = await readUntil(stream, (t) => t.includes('to everyone') && t.includes(': keepalive'));
    expect(events(text).map((e) => JSON.parse(e.data))).toMatchObject([{ method: 'notifications/message', params: { data: 'to everyone' } }]);
    // Once that stream is gone, the client may open another.
    await stream.body!.cancel();
    await new Promise((r) => setTimeout(r, 50));
    const third = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers } });
    expect(third.status).toBe(200);
    await third.body!.cancel();
  });

  it('DELETE ends the session: onsessionclosed, open streams end, later requests get 404', async () => {
    const h = await start();
    const { sessionId, headers } = await initialize(h);
    const stream = await fetch(h.url, { headers: { accept: 'text/event-stream', ...headers } });
    const ended = stream.text();
    const del = await fetch(h.url, { method: 'DELETE', headers });
    expect(del.status).toBe(200);
    expect(h.closed).toEqual([sessionId]);
    await expect(ended).resolves.toBe('');
    const after = await post(h, call(1, 'echo', { text: 'x' }), headers);
    expect(after.status).toBe(404);
    expect(await after.json()).toMatchObject({ error: { code: -32001 } });
  });

  it('restore() continues a session initialised elsewhere: its id is accepted, initialize is refused', async () => {
    const h = await start();
    h.transport.restore('restored-session');
    const headers = { 'mcp-session-id': 'restored-session', 'mcp-protocol-version': '2025-06-18' };
    const res = await post(h, call(1, 'echo', { text: 'continued' }), headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBe('restored-session');
    expect(events(await res.text()).map((e) => JSON.parse(e.data))).toMatchObject([{ id: 1, result: { content: [{ text: 'continued' }] } }]);
    expect((await post(h, INIT, headers)).status).toBe(400);
  });

  it('send() refuses a response for a request it never received', async () => {
    const h = await start();
    await initialize(h);
    await expect(h.transport.send({ jsonrpc: '2.0', id: 42, result: {} })).rejects.toThrow(/No connection established for request ID: 42/);
  });
});
