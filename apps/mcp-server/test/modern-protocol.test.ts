// MCP 2026-07-28 on the same URL as the 2025-era sessions: stateless requests over real HTTP with real
// tokens, the SDK 2.x client negotiating the modern era, and the SDK 1.x client on a session beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_ACCEPT, startHarness, type Harness } from './support/harness.js';

const V = '2026-07-28';
const TOOL_NAMES = ['close_ticket', 'comment_on_ticket', 'create_ticket', 'get_ticket', 'list_projects', 'search_tickets', 'update_ticket', 'whoami'];
let h: Harness;
let token: string;

beforeAll(async () => {
  h = await startHarness({ env: { RATE_LIMIT_WRITE_PER_MINUTE: '1000', RATE_LIMIT_READ_PER_MINUTE: '1000' } });
  token = await h.token({ sub: h.users.alice });
});
afterAll(async () => {
  await h?.close();
});

interface RpcAnswer {
  status: number;
  headers: Headers;
  body: any;
}

const envelope = (capabilities: Record<string, unknown> = {}, version = V) => ({
  'io.modelcontextprotocol/protocolVersion': version,
  'io.modelcontextprotocol/clientInfo': { name: 'raw-http', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': capabilities,
});

/** A 2026-07-28 request as a conforming client sends it (headers mirror the body); `headers` override. */
async function modern(
  method: string,
  params: Record<string, unknown> = {},
  opts: { headers?: Record<string, string | undefined>; token?: string; capabilities?: Record<string, unknown>; version?: string; id?: number } = {},
): Promise<RpcAnswer> {
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: MCP_ACCEPT,
    'MCP-Protocol-Version': opts.version ?? V,
    'Mcp-Method': method,
    ...(name ? { 'Mcp-Name': name } : {}),
  };
  if (opts.token !== '') headers.Authorization = `Bearer ${opts.token ?? token}`;
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    const existing = Object.keys(headers).find((h) => h.toLowerCase() === k.toLowerCase());
    if (existing) delete headers[existing];
    if (v !== undefined) headers[k] = v;
  }
  const res = await fetch(h.mcpUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: opts.id ?? 1, method, params: { ...params, _meta: envelope(opts.capabilities, opts.version) } }),
  });
  const text = await res.text();
  let body: unknown;
  if (text && (res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    body = JSON.parse(text.split('\n').find((l) => l.startsWith('data:'))!.slice(5));
  } else if (text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

const callTool = (name: string, args: Record<string, unknown> = {}, opts: Parameters<typeof modern>[2] = {}) => modern('tools/call', { name, arguments: args }, opts);

describe('one URL, both eras', () => {
  it('server/discover offers 2026-07-28 with the server identity, and caching hints', async () => {
    const r = await modern('server/discover');
    expect(r.status).toBe(200);
    expect(r.headers.get('mcp-session-id')).toBeNull();
    expect(r.body.result).toMatchObject({
      resultType: 'complete',
      supportedVersions: expect.arrayContaining([V]),
      capabilities: { tools: {}, resources: {}, prompts: {} },
      cacheScope: 'private',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'mcp-gw-tickets' } },
    });
    expect(r.body.result.instructions).toMatch(/untrusted-ticket-content/);
  });

  it('lists the same tools as a 2025-era session, with resultType and a private cache hint (the list is per user)', async () => {
    const r = await modern('tools/list');
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({ resultType: 'complete', cacheScope: 'private' });
    expect(r.body.result.ttlMs).toBeGreaterThan(0);
    const session = await h.connect(token);
    const legacy = await session.client.listTools();
    const strip = (tools: { name: string; inputSchema: unknown; outputSchema?: unknown; annotations?: unknown }[]) =>
      tools.map((t) => ({ name: t.name, annotations: t.annotations, input: Object.keys((t.inputSchema as any).properties ?? {}).sort(), output: Object.keys((t.outputSchema as any)?.properties ?? {}).sort() })).sort((a, b) => a.name.localeCompare(b.name));
    expect(strip(r.body.result.tools)).toEqual(strip(legacy.tools as never));
    expect(r.body.result.tools.map((t: { name: string }) => t.name).sort()).toEqual(TOOL_NAMES);
    await session.close();
  });

  it('serves every read tool statelessly, as the session does', async () => {
    const who = await callTool('whoami');
    expect(who.status).toBe(200);
    expect(who.body.result).toMatchObject({ resultType: 'complete', structuredContent: { user_id: h.users.alice } });
    expect(who.body.result.isError).toBeFalsy();
    const projects = await callTool('list_projects');
    expect(projects.body.result.structuredContent.projects.length).toBeGreaterThan(0);
    const found = await callTool('search_tickets', { limit: 3 });
    const first = found.body.result.structuredContent.tickets[0];
    expect(first.id).toMatch(/^T-\d+$/);
    const got = await callTool('get_ticket', { ticket_id: first.id });
    expect(got.body.result.structuredContent.ticket.id).toBe(first.id);
    // Nothing stateful was created for any of them.
    expect(who.headers.get('mcp-session-id')).toBeNull();
  });

  it('serves the write tools statelessly, with idempotency across requests', async () => {
    const key = `k-${Date.now()}`;
    const created = await callTool('create_ticket', { project: 'WEB', title: 'Stateless ticket', body: 'Created over 2026-07-28', idempotency_key: key });
    expect(created.body.result.isError, JSON.stringify(created.body)).toBeFalsy();
    const id = created.body.result.structuredContent.ticket.id;
    const again = await callTool('create_ticket', { project: 'WEB', title: 'Stateless ticket', body: 'Created over 2026-07-28', idempotency_key: key }, { id: 2 });
    expect(again.body.result.structuredContent.ticket.id).toBe(id);
    const commented = await callTool('comment_on_ticket', { ticket_id: id, body: 'A comment' });
    expect(commented.body.result.isError).toBeFalsy();
    const updated = await callTool('update_ticket', { ticket_id: id, priority: 'high' });
    expect(updated.body.result.structuredContent.ticket.priority).toBe('high');
  });

  it('reads resources and prompts, and answers a missing resource with -32602 (2025 sessions: -32002)', async () => {
    const list = await modern('resources/list');
    expect(list.body.result).toMatchObject({ resultType: 'complete', cacheScope: 'private' });
    const uri = list.body.result.resources[0].uri;
    const read = await modern('resources/read', { uri });
    expect(read.body.result.contents[0].text).toContain('## Description');
    const missing = await modern('resources/read', { uri: 'ticket://T-999999' });
    expect(missing.body.error).toMatchObject({ code: -32602, data: { uri: 'ticket://T-999999' } });
    const session = await h.connect(token);
    await expect(session.client.readResource({ uri: 'ticket://T-999999' })).rejects.toMatchObject({ code: -32002 });
    await session.close();
    const prompts = await modern('prompts/list');
    expect(prompts.body.result.prompts.map((p: { name: string }) => p.name).sort()).toEqual(['summarize_project', 'triage_ticket']);
    const prompt = await modern('prompts/get', { name: 'summarize_project', arguments: { project: 'WEB' } });
    expect(prompt.body.result.messages.length).toBe(2);
  });

  it('ignores an Mcp-Session-Id header on a modern request and never mints one', async () => {
    const r = await callTool('whoami', {}, { headers: { 'Mcp-Session-Id': 'not-a-session' } });
    expect(r.status).toBe(200);
    expect(r.body.result.structuredContent.user_id).toBe(h.users.alice);
    expect(r.headers.get('mcp-session-id')).toBeNull();
  });

  it('a client that falls back to initialize gets a 2025-era session, and stays in it', async () => {
    const session = await h.connect(token);
    expect(session.sessionId).toBeTruthy();
    const r = (await session.client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
    expect(r.structuredContent).toMatchObject({ user_id: h.users.alice });
    expect((r as Record<string, unknown>).resultType).toBeUndefined();
    await session.close();
  });
});

describe('2026-07-28 validation', () => {
  it('refuses headers that disagree with the body with 400 and -32020', async () => {
    const name = await callTool('whoami', {}, { headers: { 'Mcp-Name': 'get_ticket' } });
    expect(name.status).toBe(400);
    expect(name.body.error.code).toBe(-32020);
    const method = await callTool('whoami', {}, { headers: { 'Mcp-Method': 'tools/list' } });
    expect(method.status).toBe(400);
    expect(method.body.error.code).toBe(-32020);
    const missing = await callTool('whoami', {}, { headers: { 'Mcp-Method': undefined } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe(-32020);
    const version = await callTool('whoami', {}, { headers: { 'MCP-Protocol-Version': '2026-01-01' } });
    expect(version.status).toBe(400);
    expect(version.body.error.code).toBe(-32020);
  });

  it('decodes a base64 Mcp-Name before comparing it', async () => {
    const r = await callTool('whoami', {}, { headers: { 'Mcp-Name': `=?base64?${Buffer.from('whoami').toString('base64')}?=` } });
    expect(r.status).toBe(200);
    expect(r.body.result.structuredContent.user_id).toBe(h.users.alice);
  });

  it('answers an unsupported version with 400, -32022 and the supported list', async () => {
    const r = await modern('tools/list', {}, { version: '2099-01-01' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(-32022);
    expect(r.body.error.data.supported).toContain(V);
    expect(r.body.error.data.requested).toBe('2099-01-01');
  });

  it('answers an unknown method with 404 and -32601', async () => {
    const r = await modern('tickets/teleport');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe(-32601);
  });

  it("serves a Claude-style request (2026-07-28 envelope, MCP-Protocol-Version: 2025-11-25) instead of refusing it", async () => {
    const r = await callTool('whoami', {}, { headers: { 'MCP-Protocol-Version': '2025-11-25' } });
    expect(r.status).toBe(200);
    expect(r.body.result).toMatchObject({ resultType: 'complete', structuredContent: { user_id: h.users.alice } });
    // Only that case: with a session id, or a header naming a version we do not serve, it stays refused.
    const withSession = await callTool('whoami', {}, { headers: { 'MCP-Protocol-Version': '2025-11-25', 'Mcp-Session-Id': 'abc' } });
    expect(withSession.status).toBe(400);
    expect(withSession.body.error.code).toBe(-32020);
    const unknown = await callTool('whoami', {}, { headers: { 'MCP-Protocol-Version': '2024-01-01' } });
    expect(unknown.body.error.code).toBe(-32020);
  });
});

describe('auth on every stateless request', () => {
  it('401 with resource_metadata without a token', async () => {
    const r = await callTool('whoami', {}, { token: '' });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/resource_metadata="[^"]+oauth-protected-resource/);
  });

  it('403 insufficient_scope per tool, judged from the body and from Mcp-Name alike', async () => {
    const reader = await h.token({ sub: h.users.bob, clientId: 'reader', scope: 'tickets:read' });
    const ok = await callTool('whoami', {}, { token: reader });
    expect(ok.status).toBe(200);
    const write = await callTool('create_ticket', { project: 'WEB', title: 'x', body: 'y' }, { token: reader });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(write.headers.get('www-authenticate')).toMatch(/scope="[^"]*tickets:write/);
    // The header names a write tool the token may not call: refused whatever the body says.
    const header = await callTool('whoami', {}, { token: reader, headers: { 'Mcp-Name': 'close_ticket' } });
    expect(header.status).toBe(403);
  });

  it('a revoked grant is refused on the next stateless request', async () => {
    const gid = await h.issuer.createGrant();
    const t = await h.token({ sub: h.users.alice, gid });
    expect((await callTool('whoami', {}, { token: t })).status).toBe(200);
    await h.issuer.revokeGrant(gid);
    const r = await callTool('whoami', {}, { token: t });
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('CORS lets the Inspector send and read the 2026-07-28 headers', async () => {
    const res = await fetch(h.mcpUrl, {
      method: 'OPTIONS',
      headers: { Origin: new URL(h.mcpUrl).origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'mcp-method,mcp-name,mcp-protocol-version,authorization' },
    });
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const header of ['mcp-method', 'mcp-name', 'mcp-protocol-version', 'authorization']) expect(allowed).toContain(header);
  });
});

describe('close_ticket asks through input_required on 2026-07-28', () => {
  const elicitation = { elicitation: { form: {} } };

  async function openTicket(title: string): Promise<string> {
    const created = await callTool('create_ticket', { project: 'WEB', title, body: 'to close' });
    return created.body.result.structuredContent.ticket.id;
  }
  const ask = (id: string, t = token) => callTool('close_ticket', { ticket_id: id }, { token: t, capabilities: elicitation });
  const answer = (id: string, requestState: string, response: unknown, t = token, extra: Record<string, unknown> = {}) =>
    modern('tools/call', { name: 'close_ticket', arguments: { ticket_id: id, ...extra }, requestState, inputResponses: { confirm_close: response } }, { token: t, capabilities: elicitation, id: 2 });

  it('returns input_required with an elicitation and closes on an accepted retry', async () => {
    const id = await openTicket('Close me through MRTR');
    const first = await ask(id);
    expect(first.status).toBe(200);
    const result = first.body.result;
    expect(result.resultType).toBe('input_required');
    expect(result.inputRequests.confirm_close).toMatchObject({ method: 'elicitation/create', params: { mode: 'form', requestedSchema: { properties: { confirm: { type: 'boolean' } } } } });
    expect(typeof result.requestState).toBe('string');
    const done = await answer(id, result.requestState, { action: 'accept', content: { confirm: true } });
    expect(done.body.result).toMatchObject({ resultType: 'complete', structuredContent: { outcome: 'closed', ticket_id: id } });
    const audit = await h.db.prisma.auditEvent.findFirst({ where: { action: 'tool.close_ticket', targetId: id }, orderBy: { id: 'desc' } });
    expect(audit?.details).toMatchObject({ outcome: 'closed', confirmed_by: 'elicitation', era: 'modern' });
  });

  it('a declined answer closes nothing', async () => {
    const id = await openTicket('Decline me');
    const first = await ask(id);
    const r = await answer(id, first.body.result.requestState, { action: 'decline' });
    expect(r.body.result.structuredContent.outcome).toBe('not_closed');
    expect((await callTool('get_ticket', { ticket_id: id })).body.result.structuredContent.ticket.status).not.toBe('closed');
  });

  it('refuses a tampered, foreign, reused, stale or misapplied requestState with a clear tool error', async () => {
    const id = await openTicket('Guard my confirmation');
    const other = await openTicket('Another ticket');
    const accept = { action: 'accept', content: { confirm: true } };
    const expectRefused = (r: RpcAnswer) => {
      expect(r.body.result.isError, JSON.stringify(r.body)).toBe(true);
      expect(r.body.result.content[0].text).toMatch(/requestState .* is not valid/);
    };

    const tampered = (await ask(id)).body.result.requestState as string;
    expectRefused(await answer(id, `${tampered.slice(0, -2)}xx`, accept));

    // Issued to alice, presented with bob's token (who can see the ticket too).
    const foreign = (await ask(id)).body.result.requestState;
    expectRefused(await answer(id, foreign, accept, await h.token({ sub: h.users.bob })));

    // Issued for one ticket, presented on another.
    const elsewhere = (await ask(id)).body.result.requestState;
    expectRefused(await answer(other, elsewhere, accept));

    // Issued without a resolution, retried with one.
    const changed = (await ask(id)).body.result.requestState;
    expectRefused(await answer(id, changed, accept, token, { resolution: 'sneaked in' }));

    // Expired.
    const stale = (await ask(id)).body.result.requestState;
    await h.db.prisma.pendingConfirmation.updateMany({ where: { expiresAt: { gt: new Date() } }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expectRefused(await answer(id, stale, accept));

    // Single use: the first retry closes, a replay of the same state is refused.
    const once = (await ask(id)).body.result.requestState;
    expect((await answer(id, once, accept)).body.result.structuredContent.outcome).toBe('closed');
    const reopened = await callTool('update_ticket', { ticket_id: id, status: 'open' });
    expect(reopened.body.result.isError).toBeFalsy();
    expectRefused(await answer(id, once, accept));
  });

  it('asks again when the retry carries no usable answer', async () => {
    const id = await openTicket('Ask me twice');
    const first = await ask(id);
    const r = await answer(id, first.body.result.requestState, { nonsense: true });
    expect(r.body.result.resultType).toBe('input_required');
    expect(r.body.result.requestState).not.toBe(first.body.result.requestState);
  });

  it('without the elicitation capability, falls back to the confirmation token', async () => {
    const id = await openTicket('Token please');
    const r = await callTool('close_ticket', { ticket_id: id });
    expect(r.body.result).toMatchObject({ resultType: 'complete', structuredContent: { outcome: 'confirmation_required' } });
    const token2 = r.body.result.structuredContent.confirmation_token;
    const done = await callTool('close_ticket', { ticket_id: id, confirm: true, confirmation_token: token2 }, { id: 3 });
    expect(done.body.result.structuredContent.outcome).toBe('closed');
  });
});

describe('subscriptions/listen', () => {
  it('acknowledges on a long-lived stream, and a revocation ends it', async () => {
    const gid = await h.issuer.createGrant();
    const t = await h.token({ sub: h.users.alice, gid });
    const abort = new AbortController();
    const res = await fetch(h.mcpUrl, {
      method: 'POST',
      signal: abort.signal,
      headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json', Accept: MCP_ACCEPT, 'MCP-Protocol-Version': V, 'Mcp-Method': 'subscriptions/listen' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: envelope() } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('notifications/subscriptions/acknowledged')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain('notifications/subscriptions/acknowledged');
    await h.issuer.revokeGrant(gid);
    const closed = await h.mcp.revoke({ type: 'grant', grantIds: [gid] });
    expect(closed).toBeGreaterThanOrEqual(1);
    const ended = await reader.read().then(
      (r) => r.done,
      () => true,
    );
    expect(ended).toBe(true);
    abort.abort();
  });
});

describe('the SDK 2.x client', () => {
  it('negotiates 2026-07-28 and calls every tool, close_ticket through input_required', async () => {
    const client = new V2Client({ name: 'sdk-v2-test', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(String((request.params as { message?: string }).message));
      return { action: 'accept', content: { confirm: true } };
    });
    const transport = new V2Transport(new URL(h.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
    await client.connect(transport);
    expect(client.getNegotiatedProtocolVersion()).toBe(V);
    expect(client.getProtocolEra()).toBe('modern');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOL_NAMES);
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
      return r.structuredContent as Record<string, any>;
    };
    expect((await call('whoami')).user_id).toBe(h.users.alice);
    await call('list_projects');
    const id = (await call('create_ticket', { project: 'WEB', title: 'From the v2 client', body: 'hello' })).ticket.id;
    expect((await call('search_tickets', { query: 'v2 client' })).tickets.map((t: { id: string }) => t.id)).toContain(id);
    expect((await call('get_ticket', { ticket_id: id })).ticket.id).toBe(id);
    await call('comment_on_ticket', { ticket_id: id, body: 'v2 comment' });
    await call('update_ticket', { ticket_id: id, priority: 'low' });
    expect((await call('close_ticket', { ticket_id: id })).outcome).toBe('closed');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(id);
    await client.close();
  });
});
