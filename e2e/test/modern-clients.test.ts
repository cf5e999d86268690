// Today's clients on one URL: the SDK 2.x client negotiating MCP 2026-07-28 (stateless requests,
// input_required), the SDK 1.x client on a 2025-era session, both at once for one person, and the
// request Claude's connectors are reported to send. Every client signs in through the real OAuth flow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { obtainTokens, walkAuthorization } from '@mcp-gw/testkit';
import { startMcpdo, type Mcpdo } from '../support/mcpdo.js';
import { signInSdkV1, signInSdkV2, type AskedElicitation } from '../support/mcp-clients.js';
import { requestsOf, type WireExchange } from '../support/wire-log.js';
import { createPostgresDatabase } from '../support/database.js';
import { startSystem, type RunningSystem } from '../support/system.js';

const MODERN = '2026-07-28';
const EVERY_TOOL = ['close_ticket', 'comment_on_ticket', 'create_ticket', 'get_ticket', 'list_projects', 'search_tickets', 'update_ticket', 'whoami'];

type CallTool = (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>;

interface EveryToolRun {
  created: string;
  userId: string;
  clientId: string;
}

/**
 * What a person does through an agent with every tool: who am I, my projects, find a ticket, read it,
 * file one, comment on it, re-prioritise and assign it, and close it (confirmed through the client's
 * elicitation). Each answer is checked for what the agent relies on, not just for "no error".
 */
async function useEveryTool(call: CallTool, label: string, elicitations: AskedElicitation[]): Promise<EveryToolRun> {
  const ok = async (name: string, args: Record<string, unknown> = {}) => {
    const result = await call(name, args);
    expect(result.isError, `${name}: ${JSON.stringify(result.content)}`).toBeFalsy();
    return result.structuredContent as Record<string, any>;
  };
  const who = await ok('whoami');
  expect(who.permissions.map((p: { scope: string }) => p.scope)).toEqual(['tickets:read', 'tickets:write']);
  expect(who.tools_allowed).toEqual(expect.arrayContaining(EVERY_TOOL));

  const projects = await ok('list_projects');
  expect(projects.projects.map((p: { key: string }) => p.key)).toEqual(expect.arrayContaining(['WEB', 'MOB', 'OPS']));

  const found = await ok('search_tickets', { query: 'safari checkout', project: 'WEB', limit: 5 });
  const safari = found.tickets.find((t: { title: string }) => /Safari 17/.test(t.title));
  expect(safari, JSON.stringify(found.tickets)).toBeTruthy();

  const read = await ok('get_ticket', { ticket_id: safari.id });
  expect(read.ticket).toMatchObject({ id: safari.id, project: { key: 'WEB' }, status: 'open' });
  expect(read.ticket.body).toContain('structuredClone');

  const title = `${label}: wishlist loses items after sign-in`;
  const created = await ok('create_ticket', { project: 'WEB', title, body: `Filed by ${label} in the end-to-end test.`, idempotency_key: `create-${label}-${Date.now()}` });
  const id = created.ticket.id as string;
  expect(created.ticket).toMatchObject({ title, status: 'open', priority: 'normal', reporter: { email: 'demo@example.com' } });

  const commented = await ok('comment_on_ticket', { ticket_id: id, body: `Seen on ${label} too.` });
  expect(commented.comment.body).toBe(`Seen on ${label} too.`);
  expect(commented.ticket.comment_count).toBe(1);

  const updated = await ok('update_ticket', { ticket_id: id, priority: 'high', assignee: 'me' });
  expect(updated.changed.sort()).toEqual(['assignee', 'priority']);
  expect(updated.ticket).toMatchObject({ priority: 'high', assignee: { email: 'demo@example.com' } });

  const asked = elicitations.length;
  const closed = await ok('close_ticket', { ticket_id: id, resolution: 'Fixed in the wishlist merge.' });
  expect(closed).toMatchObject({ outcome: 'closed', ticket_id: id, ticket: { status: 'closed' } });
  expect(elicitations.length - asked, 'the person was asked once').toBe(1);
  expect(elicitations.at(-1)!.message).toContain(`Close ticket ${id}`);

  const after = await ok('get_ticket', { ticket_id: id });
  expect(after.ticket.status).toBe('closed');
  expect(after.ticket.closed_at).toBeTruthy();
  expect(after.ticket.comments.map((c: { body: string }) => c.body)).toEqual(expect.arrayContaining(['Fixed in the wishlist merge.']));
  return { created: id, userId: who.user_id, clientId: who.client_id };
}

/** Every POST of a 2026-07-28 connection is a stateless request carrying the per-request envelope. */
function expectStateless(exchanges: WireExchange[]) {
  const posts = exchanges.filter((e) => e.method === 'POST');
  expect(posts.length).toBeGreaterThan(0);
  for (const e of posts) {
    expect(e.status, JSON.stringify(e.request)).toBe(200);
    expect(e.requestHeaders.get('mcp-session-id')).toBeNull();
    expect(e.responseHeaders.get('mcp-session-id')).toBeNull();
    expect(e.requestHeaders.get('mcp-protocol-version')).toBe(MODERN);
    expect(e.request._meta ?? e.request.params?._meta).toMatchObject({ 'io.modelcontextprotocol/protocolVersion': MODERN });
  }
  expect(posts.some((e) => e.request.method === 'initialize')).toBe(false);
}

// With TEST_DATABASE_URL (and TEST_REDIS_URL) the system runs on a fresh PostgreSQL database (and
// Redis) instead of the embedded one: the confirmations input_required hands out live there.
const ON_POSTGRES = Boolean(process.env.TEST_DATABASE_URL);

describe(`SDK 2.x, SDK 1.x, mcpdo and Claude-style requests on one MCP URL (${ON_POSTGRES ? 'PostgreSQL' : 'embedded database'})`, () => {
  let system: RunningSystem;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;

  beforeAll(async () => {
    const env: Record<string, string> = {};
    if (ON_POSTGRES) {
      database = await createPostgresDatabase('mcpgw_modern');
      env.DATABASE_URL = database.url;
      if (process.env.TEST_REDIS_URL) {
        env.REDIS_URL = process.env.TEST_REDIS_URL;
        // The per-address registration limit (30 an hour) then lives in that Redis, shared by every
        // run and every other system on it: eight registrations from 127.0.0.1 a run soon exhaust it
        // (support/cluster.ts raises it for the same reason).
        env.REGISTRATION_RATE_LIMIT = '100000';
      }
    }
    system = await startSystem(env);
    if (database) {
      // The system really runs on that database: its migrations and demo data are there.
      const check = new pg.Client({ connectionString: database.url });
      await check.connect();
      try {
        const { rows } = await check.query<{ n: string }>('SELECT count(*) AS n FROM app_user');
        expect(Number(rows[0]!.n)).toBeGreaterThan(0);
      } finally {
        await check.end();
      }
    }
  });
  afterAll(async () => {
    await system?.stop();
    await database?.drop();
  });

  it('the SDK 2.x client negotiates 2026-07-28 and uses every tool, a resource and a prompt', async () => {
    const v2 = await signInSdkV2(system, { name: 'sdk-v2 modern' });
    try {
      const { client } = v2;
      expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
      expect(client.getProtocolEra()).toBe('modern');
      expect(client.getDiscoverResult()?.supportedVersions).toContain(MODERN);
      expect(client.getServerVersion()?.name).toBe('mcp-gw-tickets');

      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual(EVERY_TOOL);
      const run = await useEveryTool((name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>, 'sdk-v2', v2.elicitations);
      expect(run.clientId).toBe(v2.provider.client!.client_id);
      // The confirmation asked for in the 2026-07-28 way: input_required, then the retry with the
      // answer and the requestState echoed (no server-to-client request exists on this era).
      const closes = (await requestsOf(v2.wire)).filter((r) => r.request.method === 'tools/call' && r.request.params.name === 'close_ticket');
      expect(closes.map((c) => c.answer.result.resultType)).toEqual(['input_required', 'complete']);
      const [ask, retry] = closes;
      expect(Object.keys(ask!.answer.result.inputRequests)).toEqual(['confirm_close']);
      expect(retry!.request.params.requestState).toBe(ask!.answer.result.requestState);
      expect(retry!.request.params.inputResponses.confirm_close).toMatchObject({ action: 'accept', content: { confirm: true } });

      const resource = await client.readResource({ uri: `ticket://${run.created}` });
      const text = (resource.contents[0] as { text: string }).text;
      expect(text).toContain(`# ${run.created}`);
      expect(text).toContain('Status: closed');
      expect(text).toContain('sdk-v2: wishlist loses items after sign-in');

      const prompt = await client.getPrompt({ name: 'triage_ticket', arguments: { ticket_id: run.created } });
      expect(prompt.description).toBe(`Triage ${run.created}`);
      expect(prompt.messages[1]!.content).toMatchObject({ type: 'resource', resource: { uri: `ticket://${run.created}` } });

      expectStateless(v2.wire);
    } finally {
      await v2.client.close();
    }
  });

  it('the SDK 1.x client uses every tool on a 2025-era session, confirming through its elicitation', async () => {
    const v1 = await signInSdkV1(system, { name: 'sdk-v1 legacy' });
    try {
      const { client, transport } = v1;
      const sessionId = transport.sessionId;
      expect(sessionId).toMatch(/\S{16,}/);
      expect(client.getServerVersion()?.name).toBe('mcp-gw-tickets');
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual(EVERY_TOOL);
      const run = await useEveryTool((name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>, 'sdk-v1', v1.elicitations);
      expect(run.clientId).toBe(v1.provider.client!.client_id);
      expect(transport.sessionId).toBe(sessionId);
      const posts = v1.wire.filter((e) => e.method === 'POST');
      expect(posts[0]!.request.method).toBe('initialize');
      for (const e of posts.slice(1)) expect(e.requestHeaders.get('mcp-session-id')).toBe(sessionId);
      // Requests carry no 2026-07-28 envelope: this is the 2025-era path end to end.
      expect(posts.some((e) => JSON.stringify(e.request).includes('io.modelcontextprotocol/protocolVersion'))).toBe(false);
      const resource = await client.readResource({ uri: `ticket://${run.created}` });
      expect((resource.contents[0] as { text: string }).text).toContain('Status: closed');
    } finally {
      await v1.transport.terminateSession().catch(() => {});
      await v1.client.close();
    }
  });

  it('one person with both clients at once: neither disturbs the other', async () => {
    const [modern, legacy] = await Promise.all([signInSdkV2(system, { name: 'sdk-v2 beside v1' }), signInSdkV1(system, { name: 'sdk-v1 beside v2' })]);
    try {
      expect(modern.client.getProtocolEra()).toBe('modern');
      const sessionId = legacy.transport.sessionId;
      expect(sessionId).toBeTruthy();
      const call = (c: typeof modern.client | typeof legacy.client, name: string, args: Record<string, unknown> = {}) =>
        (c.callTool({ name, arguments: args }) as Promise<CallToolResult>).then((r) => {
          expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
          return r.structuredContent as Record<string, any>;
        });

      const [whoModern, whoLegacy] = await Promise.all([call(modern.client, 'whoami'), call(legacy.client, 'whoami')]);
      expect(whoModern.user_id).toBe(whoLegacy.user_id);
      expect(whoModern.client_id).toBe(modern.provider.client!.client_id);
      expect(whoLegacy.client_id).toBe(legacy.provider.client!.client_id);
      expect(whoModern.client_id).not.toBe(whoLegacy.client_id);

      // Interleaved writes from both, then each reads the other's ticket (same person, same data).
      const created = await Promise.all(
        [modern.client, legacy.client, modern.client, legacy.client].map((c, i) =>
          call(c, 'create_ticket', { project: 'OPS', title: `side by side ${i} (${c === modern.client ? 'v2' : 'v1'})`, body: 'Two clients, one person.' }),
        ),
      );
      const [m1, l1, m2, l2] = created.map((r) => r.ticket.id as string);
      expect(new Set([m1, l1, m2, l2]).size).toBe(4);
      expect((await call(modern.client, 'get_ticket', { ticket_id: l1 })).ticket.title).toBe('side by side 1 (v1)');
      expect((await call(legacy.client, 'get_ticket', { ticket_id: m1 })).ticket.title).toBe('side by side 0 (v2)');

      // Both close at the same moment: each client is asked once, about its own ticket only; the one
      // who declines keeps its ticket open.
      modern.answer = { action: 'accept', content: { confirm: true } };
      legacy.answer = { action: 'decline' };
      const [closedByModern, declinedByLegacy] = await Promise.all([call(modern.client, 'close_ticket', { ticket_id: m2 }), call(legacy.client, 'close_ticket', { ticket_id: l2 })]);
      expect(closedByModern.outcome).toBe('closed');
      expect(declinedByLegacy.outcome).toBe('not_closed');
      expect(modern.elicitations.map((e) => e.message)).toEqual([expect.stringContaining(`Close ticket ${m2} `)]);
      expect(legacy.elicitations.map((e) => e.message)).toEqual([expect.stringContaining(`Close ticket ${l2} `)]);
      expect((await call(legacy.client, 'get_ticket', { ticket_id: m2 })).ticket.status).toBe('closed');
      expect((await call(modern.client, 'get_ticket', { ticket_id: l2 })).ticket.status).toBe('open');

      // The legacy session is the same one throughout; the modern connection never got one.
      expect(legacy.transport.sessionId).toBe(sessionId);
      for (const e of legacy.wire.filter((x) => x.method === 'POST').slice(1)) expect(e.requestHeaders.get('mcp-session-id')).toBe(sessionId);
      expectStateless(modern.wire);

      // Ending the session leaves the modern client working, and the reverse.
      await legacy.transport.terminateSession();
      const listed = await call(modern.client, 'search_tickets', { project: 'OPS', query: 'side', limit: 50 });
      expect(listed.tickets.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining([m1, l1, m2, l2]));
      const again = await signInSdkV1(system, { name: 'sdk-v1 again' });
      await modern.client.close();
      expect((await call(again.client, 'whoami')).user_id).toBe(whoModern.user_id);
      await again.transport.terminateSession();
      await again.client.close();
    } finally {
      await modern.client.close();
      await legacy.client.close();
    }
  });

  it("answers Claude's connector request (2026-07-28 envelope, MCP-Protocol-Version: 2025-11-25) with 200 and resultType complete", async () => {
    const { tokens, client } = await obtainTokens({ issuer: system.issuer, email: system.demoEmail, password: system.demoPassword, resource: system.mcpUrl });
    // As anthropics/claude-code#93290 reports it: a body negotiated at 2026-07-28 via server/discover,
    // the header still at 2025-11-25, no session.
    const response = await fetch(system.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        'mcp-method': 'tools/call',
        'mcp-name': 'whoami',
        'user-agent': 'claude-code/2.1.267',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: {
          name: 'whoami',
          arguments: {},
          _meta: {
            'io.modelcontextprotocol/protocolVersion': MODERN,
            'io.modelcontextprotocol/clientInfo': { name: 'claude-code', title: 'Claude Code', version: '2.1.267' },
            'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, roots: { listChanged: true } },
          },
        },
      }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    const message = (response.headers.get('content-type') ?? '').includes('text/event-stream')
      ? JSON.parse(text.split('\n').find((l) => l.startsWith('data:'))!.slice(5))
      : JSON.parse(text);
    expect(message.error, text).toBeUndefined();
    expect(message.id).toBe(7);
    expect(message.result).toMatchObject({ resultType: 'complete', structuredContent: { client_id: client.client_id } });
    expect(message.result.isError).toBeFalsy();
    expect(message.result.structuredContent.user_id).toBeTruthy();
  });

  // The MCP Inspector's command-line client, run as from an agent's shell (no TTY, no browser, no
  // keychain): connect prints the sign-in URL; a person opens it, signs in and consents; the
  // browser lands on mcpdo's loopback listener; the next command completes the connection.
  for (const { era, version, elicitationOrigin } of [
    { era: 'modern', version: MODERN, elicitationOrigin: 'input-required' },
    { era: 'legacy', version: '2025-11-25', elicitationOrigin: 'server-request' },
  ] as const) {
    it(`the MCP Inspector's mcpdo signs in headless, connects with --era ${era} and uses the tools`, async () => {
      const mcpdo: Mcpdo = await startMcpdo();
      const name = `tickets-${era}`;
      const ok = async (...args: string[]) => {
        const r = await mcpdo.run('--connection', name, ...args);
        expect(r.code, `mcpdo ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.json, r.stdout).toBeTruthy();
        return r.json;
      };
      try {
        const connect = await ok('connect', '--era', era, system.mcpUrl);
        expect(connect).toMatchObject({ name, pendingAuth: true });
        // What mcpdo asks for (shared/CLIENTS.md): its loopback callback, PRM scopes plus
        // offline_access, consent, PKCE and the MCP URL as resource.
        const authUrl = new URL(connect.authUrl);
        expect(authUrl.origin + authUrl.pathname).toBe(`${system.issuer}/auth`);
        expect(authUrl.searchParams.get('redirect_uri')).toBe(mcpdo.callbackUrl);
        expect(authUrl.searchParams.get('scope')!.split(' ').sort()).toEqual(['offline_access', 'tickets:read', 'tickets:write']);
        expect(authUrl.searchParams.get('prompt')).toBe('consent');
        expect(authUrl.searchParams.get('resource')).toBe(system.mcpUrl);
        expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
        const clientId = authUrl.searchParams.get('client_id')!;

        const walked = await walkAuthorization(authUrl, { issuer: system.issuer, email: system.demoEmail, password: system.demoPassword });
        expect(walked.location.href.startsWith(`${mcpdo.callbackUrl}?`), walked.location.href).toBe(true);
        expect(walked.location.searchParams.get('iss')).toBe(system.issuer);
        const landing = await fetch(walked.location);
        expect(landing.status).toBe(200);
        expect(await landing.text()).toContain('OAuth complete');

        // connections/show completes a finished sign-in; the token exchange may still be under way.
        let shown: any;
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
          shown = await ok('connections/show');
          if (shown.pendingAuth !== true && shown.protocolEra) break;
        }
        expect(shown, JSON.stringify(shown)).toMatchObject({
          name,
          protocolEra: era,
          protocolVersion: version,
          serverInfo: { name: 'mcp-gw-tickets' },
          auth: { method: 'oauth', authorized: true, clientId },
        });
        expect(shown.pendingAuth).not.toBe(true);
        expect(shown.auth.scope.split(' ').sort()).toEqual(['tickets:read', 'tickets:write']);
        if (era === 'modern') expect(shown.supportedVersions).toContain(MODERN);
        // Stored for reuse, with a refresh token: the person stays signed in past the access token.
        const stored = await ok('auth/list');
        expect(stored.servers, JSON.stringify(stored)).toEqual([expect.objectContaining({ url: system.mcpUrl, hasTokens: true, hasRefreshToken: true, live: true })]);
        expect(stored.servers[0].knownAs).toContain(name);
        const listed = await ok('connections/list');
        expect(listed.connections).toEqual([expect.objectContaining({ name, protocolEra: era })]);
        expect(listed.connections[0].pendingAuth).toBeFalsy();

        const tools = await ok('tools/list');
        expect(tools.tools.map((t: { name: string }) => t.name).sort()).toEqual(EVERY_TOOL);
        const who = await ok('tools/call', 'whoami');
        expect(who.isError).toBeFalsy();
        expect(who.structuredContent).toMatchObject({ client_id: clientId, tools_allowed: expect.arrayContaining(EVERY_TOOL) });
        const found = await ok('tools/call', 'search_tickets', 'query:=safari checkout', 'limit:=3');
        expect(found.structuredContent.tickets.some((t: { title: string }) => /Safari 17/.test(t.title))).toBe(true);

        const title = `mcpdo ${era}: export to CSV drops accents`;
        const created = await ok('tools/call', 'create_ticket', 'project:=WEB', `title:=${title}`, 'body:=Seen from the MCP Inspector CLI.');
        expect(created.isError, JSON.stringify(created)).toBeFalsy();
        const id = created.structuredContent.ticket.id as string;
        expect(created.structuredContent.ticket).toMatchObject({ title, status: 'open', reporter: { email: system.demoEmail } });

        // close_ticket asks for confirmation: on 2026-07-28 through input_required, on a 2025-era
        // session through an elicitation request; mcpdo parks the call and hands the question over.
        const asked = await ok('tools/call', 'close_ticket', `ticket_id:=${id}`);
        expect(asked.elicitationPending, JSON.stringify(asked)).toMatchObject({ toolName: 'close_ticket', mode: 'form', origin: elicitationOrigin });
        expect(asked.elicitationPending.message).toContain(`Close ticket ${id}`);
        expect(asked.elicitationPending.requestedSchema.properties.confirm.type).toBe('boolean');
        const closed = await ok('elicitation/respond', asked.elicitationPending.elicitationId, 'confirm:=true');
        expect(closed.isError, JSON.stringify(closed)).toBeFalsy();
        expect(closed.structuredContent).toMatchObject({ outcome: 'closed', ticket_id: id, ticket: { status: 'closed' } });

        const read = await ok('resources/read', `ticket://${id}`);
        expect(read.contents[0].text).toContain(`# ${id}`);
        expect(read.contents[0].text).toContain('Status: closed');
        const prompt = await ok('prompts/get', 'triage_ticket', '--prompt-args', `ticket_id=${id}`);
        expect(prompt.description).toBe(`Triage ${id}`);
      } finally {
        await mcpdo.stop();
      }
    });
  }
});
