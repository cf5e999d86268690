import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { MCP_ACCEPT, initializeBody, readRpc, startHarness, type Harness } from './support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function post(token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return fetch(h.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: MCP_ACCEPT,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

async function openSession(token: string): Promise<string> {
  const res = await post(token, initializeBody());
  expect(res.status).toBe(200);
  const sessionId = res.headers.get('mcp-session-id');
  expect(sessionId).toBeTruthy();
  await res.text();
  const initialized = await post(token, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId! });
  expect(initialized.status).toBe(202);
  return sessionId!;
}

describe('protected resource metadata (RFC 9728)', () => {
  it('serves the same document at the root and path-inserted well-known URLs, with open CORS', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await request(h.server).get(path).set('Origin', 'https://inspector.example');
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.body).toEqual({
        resource: h.mcpUrl,
        authorization_servers: [h.issuer.issuer],
        scopes_supported: ['tickets:read', 'tickets:write'],
        bearer_methods_supported: ['header'],
        dpop_signing_alg_values_supported: ['ES256', 'ES384', 'Ed25519', 'EdDSA', 'PS256', 'RS256'],
        dpop_bound_access_tokens_required: false,
        resource_name: expect.any(String),
        resource_documentation: `${h.baseUrl}/docs`,
      });
      expect(res.body.scopes_supported).not.toContain('offline_access');
    }
    const docs = await request(h.server).get('/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).toContain('search_tickets');
  });
});

describe('bearer token checks on /mcp', () => {
  const prm = () => `${h.baseUrl}/.well-known/oauth-protected-resource/mcp`;

  it('no token: 401 with resource_metadata and scope, no error attribute', async () => {
    const res = await post(undefined, initializeBody());
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="${prm()}"`);
    expect(challenge).toContain('scope="tickets:read tickets:write"');
    expect(challenge).not.toContain('error=');
    expect(challenge).not.toContain('offline_access');
    expect((await res.json() as any)).toMatchObject({ error: expect.any(String) });
  });

  it('GET and DELETE without a token are 401 as well', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(h.mcpUrl, { method, headers: { accept: 'text/event-stream' } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('resource_metadata=');
    }
  });

  const invalid: [string, () => Promise<string>, RegExp][] = [
    ['expired', () => h.token({ sub: h.users.alice, expiresIn: -120 }), /expired/i],
    ['wrong audience', () => h.token({ sub: h.users.alice, aud: 'http://127.0.0.1:1/other' }), /not issued for this resource/i],
    ['wrong issuer', () => h.token({ sub: h.users.alice, iss: 'http://evil.example' }), /another authorization server/i],
    ['bad signature', () => h.token({ sub: h.users.alice, foreignKey: true }), /signature/i],
    ['unknown kid', () => h.token({ sub: h.users.alice, foreignKey: true, kid: 'unknown-kid' }), /unknown key/i],
    ['alg none', () => h.issuer.mintUnsignedToken({ sub: h.users.alice }), /./],
    ['not an access token (typ JWT)', () => h.token({ sub: h.users.alice, typ: 'JWT' }), /typ/i],
    ['no grant id', () => h.token({ sub: h.users.alice, noGid: true }), /grant/i],
    ['garbage', async () => 'abc.def.ghi', /./],
  ];
  for (const [name, mint, description] of invalid) {
    it(`${name}: 401 invalid_token`, async () => {
      const res = await post(await mint(), initializeBody());
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate')!;
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain(`resource_metadata="${prm()}"`);
      const body = (await res.json() as any);
      expect(body.error).toBe('invalid_token');
      expect(body.error_description).toMatch(description);
      expect(res.headers.get('mcp-session-id')).toBeNull();
    });
  }

  it('refuses a token in the query string even when it is valid', async () => {
    const token = await h.token({ sub: h.users.alice });
    const res = await fetch(`${h.mcpUrl}?access_token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT },
      body: JSON.stringify(initializeBody()),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_request"');
    expect(res.headers.get('mcp-session-id')).toBeNull();
  });

  it('a token with no MCP scope gets 403 insufficient_scope at the door', async () => {
    const token = await h.token({ sub: h.users.alice, scope: 'openid profile' });
    const res = await post(token, initializeBody());
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="tickets:read"');
  });
});

describe('missing scope for a tool: HTTP 403 step-up', () => {
  it('a read-only token calling a write tool gets 403 with the scopes to request, and nothing is written', async () => {
    const token = await h.token({ sub: h.users.alice, scope: 'tickets:read' });
    const sessionId = await openSession(token);
    const before = await h.db.prisma.ticket.count();
    const res = await post(
      token,
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'create_ticket', arguments: { project: 'WEB', title: 'Should not exist', body: 'x' } } },
      { 'mcp-session-id': sessionId },
    );
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="tickets:read tickets:write"');
    expect(await h.db.prisma.ticket.count()).toBe(before);
    const audit = await h.db.prisma.auditEvent.findFirst({ where: { outcome: 'denied', actorId: h.users.alice }, orderBy: { id: 'desc' } });
    expect(audit?.details).toMatchObject({ reason: 'insufficient_scope', tool: 'create_ticket' });
    // Reads still work on the same session.
    const read = await post(token, { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'list_projects', arguments: {} } }, { 'mcp-session-id': sessionId });
    expect(read.status).toBe(200);
    const rpc = await readRpc(read);
    expect((rpc.result as { isError?: boolean }).isError).toBeFalsy();
  });

  it('a write-only token cannot read resources', async () => {
    const token = await h.token({ sub: h.users.alice, scope: 'tickets:write' });
    const sessionId = await openSession(token);
    const res = await post(token, { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'ticket://T-1' } }, { 'mcp-session-id': sessionId });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('scope="tickets:write tickets:read"');
  });
});

describe('sessions', () => {
  it('unknown session id: 404', async () => {
    const token = await h.token({ sub: h.users.alice });
    const res = await post(token, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'no-such-session' });
    expect(res.status).toBe(404);
    expect(((await res.json() as any)).error.code).toBe(-32001);
  });

  it('non-initialize request without a session id: 400', async () => {
    const token = await h.token({ sub: h.users.alice });
    const res = await post(token, { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(res.status).toBe(400);
  });

  it("another user's (or client's) token on a session id is answered 404 and never served", async () => {
    const aliceToken = await h.token({ sub: h.users.alice });
    const sessionId = await openSession(aliceToken);
    const bobToken = await h.token({ sub: h.users.bob });
    const otherClient = await h.token({ sub: h.users.alice, clientId: 'another-client' });
    for (const token of [bobToken, otherClient]) {
      const res = await post(token, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_projects', arguments: {} } }, { 'mcp-session-id': sessionId });
      expect(res.status).toBe(404);
      const body = (await res.json() as any);
      expect(JSON.stringify(body)).not.toContain('WEB');
      const del = await fetch(h.mcpUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId } });
      expect(del.status).toBe(404);
    }
    // The owner's session is unharmed.
    expect(h.mcp.sessions.ids()).toContain(sessionId);
    const ok = await post(aliceToken, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'mcp-session-id': sessionId });
    expect(ok.status).toBe(200);
  });

  it('DELETE ends the session; later requests on it are 404', async () => {
    const token = await h.token({ sub: h.users.alice });
    const sessionId = await openSession(token);
    const del = await fetch(h.mcpUrl, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId } });
    expect(del.status).toBe(200);
    expect(h.mcp.sessions.ids()).not.toContain(sessionId);
    const res = await post(token, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, { 'mcp-session-id': sessionId });
    expect(res.status).toBe(404);
  });

  it('GET opens the SSE stream of a session', async () => {
    const token = await h.token({ sub: h.users.alice });
    const sessionId = await openSession(token);
    const controller = new AbortController();
    const res = await fetch(h.mcpUrl, {
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, accept: 'text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    controller.abort();
  });
});

describe('transport hardening', () => {
  it('rejects a browser Origin that is not allowed (DNS rebinding), allows a listed one, allows none', async () => {
    const token = await h.token({ sub: h.users.alice });
    const bad = await post(token, initializeBody(), { origin: 'http://evil.example' });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('mcp-session-id')).toBeNull();
    const good = await post(token, initializeBody(), { origin: 'http://localhost:6274' });
    expect(good.status).toBe(200);
    expect(good.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(good.headers.get('access-control-expose-headers')).toMatch(/Mcp-Session-Id/i);
    expect(good.headers.get('access-control-expose-headers')).toMatch(/WWW-Authenticate/i);
  });

  it('answers CORS preflight for allowed origins with the MCP headers', async () => {
    const res = await request(h.server)
      .options('/mcp')
      .set('Origin', 'http://localhost:6274')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, mcp-session-id');
    expect(res.status).toBe(204);
    const allowed = res.headers['access-control-allow-headers'] as string;
    for (const header of ['Authorization', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Last-Event-ID']) {
      expect(allowed).toContain(header);
    }
  });

  it('rejects a Host header naming another server', async () => {
    const token = await h.token({ sub: h.users.alice });
    const res = await request(h.server)
      .post('/mcp')
      .set('Host', 'evil.example:80')
      .set('Authorization', `Bearer ${token}`)
      .set('Accept', MCP_ACCEPT)
      .send(initializeBody());
    expect(res.status).toBe(403);
    expect(res.headers['mcp-session-id']).toBeUndefined();
  });

  it('malformed JSON is a JSON-RPC parse error (-32700), not a 500', async () => {
    const token = await h.token({ sub: h.users.alice });
    const res = await post(token, '{"jsonrpc": "2.0", "method": ');
    expect(res.status).toBe(400);
    const body = (await res.json() as any);
    expect(body.error.code).toBe(-32700);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js/);
  });

  it('valid JSON that is not JSON-RPC is an invalid request (-32600)', async () => {
    const token = await h.token({ sub: h.users.alice });
    for (const body of [{ hello: 'world' }, { jsonrpc: '1.0', id: 1, method: 'ping' }, [], { jsonrpc: '2.0', id: {}, method: 'x' }]) {
      const res = await post(token, body);
      expect(res.status).toBe(400);
      expect(((await res.json() as any)).error.code).toBe(-32600);
    }
  });

  it('an oversized body is refused with 413 and a JSON-RPC error', async () => {
    const token = await h.token({ sub: h.users.alice });
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1024 * 1024 + 10) } });
    const res = await post(token, huge);
    expect(res.status).toBe(413);
    expect(((await res.json() as any)).error.code).toBe(-32600);
  });

  it('a non-JSON content type is refused with 415', async () => {
    const token = await h.token({ sub: h.users.alice });
    const res = await post(token, 'hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('bodies as express.json read them: gzip and deflate inflated within the limit, UTF-8 only, objects and arrays only', async () => {
    const token = await h.token({ sub: h.users.alice });
    const init = JSON.stringify(initializeBody());
    const accepted = async (res: Response) => {
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get('mcp-session-id')).toBeTruthy();
      await res.text();
    };
    await accepted(await post(token, init, { 'content-type': 'Application/JSON; charset=UTF-8' }));
    await accepted(await post(token, zlib.gzipSync(init), { 'content-encoding': 'gzip' }));
    await accepted(await post(token, zlib.deflateSync(init), { 'content-encoding': 'deflate' }));
    const refused = async (res: Response, status: number, code: number) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as any;
      expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code } });
      expect(JSON.stringify(body)).not.toMatch(/at .*\.js/);
    };
    await refused(await post(token, init, { 'content-type': 'application/json; charset=latin1' }), 415, -32000);
    await refused(await post(token, init, { 'content-encoding': 'compress' }), 415, -32000);
    await refused(await post(token, 'not gzip at all', { 'content-encoding': 'gzip' }), 400, -32700);
    await refused(await post(token, '"a string"'), 400, -32700);
    await refused(await post(token, '   '), 400, -32700);
    // The limit holds after decompression: a small gzip of a huge body is still too large.
    const bomb = zlib.gzipSync(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2 * 1024 * 1024) } }));
    expect(bomb.length).toBeLessThan(16 * 1024);
    const tooLarge = await post(token, bomb, { 'content-encoding': 'gzip' });
    await refused(tooLarge, 413, -32600);
    // Without Content-Length (chunked), the limit is enforced while reading.
    const piece = new TextEncoder().encode(`{"pad":"${'x'.repeat(400 * 1024)}`);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(piece);
        controller.close();
      },
    });
    const streamed = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${token}` },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    await refused(streamed, 413, -32600);
    // An empty body names what is missing.
    const empty = await post(token, '');
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).error.message).toMatch(/jsonrpc/);
  });

  it('answers on the MCP path in any case and with a trailing slash, 405 to other methods, 404 elsewhere', async () => {
    const token = await h.token({ sub: h.users.alice });
    for (const path of ['/mcp/', '/MCP', '/mcp?x=1']) {
      const res = await fetch(`${h.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: MCP_ACCEPT, authorization: `Bearer ${token}` }, body: JSON.stringify(initializeBody()) });
      expect(res.status, path).toBe(200);
      await res.text();
    }
    for (const method of ['PUT', 'PATCH']) {
      const res = await fetch(h.mcpUrl, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST, DELETE, OPTIONS');
    }
    expect((await fetch(`${h.baseUrl}/mcpx`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${h.baseUrl}/mcp/x`, { method: 'POST' })).status).toBe(404);
  });

  it('sends the same security headers on /mcp as on every other route', async () => {
    const security = (res: Response) =>
      Object.fromEntries(
        [...res.headers].filter(([name]) => /^(content-security-policy|cross-origin-|origin-agent-cluster|referrer-policy|strict-transport-security|x-(?!accel-buffering))/.test(name)),
      );
    const live = await fetch(`${h.baseUrl}/live`);
    const expected = security(live);
    expect(expected).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'cross-origin-resource-policy': 'cross-origin' });
    expect(expected['content-security-policy']).toContain("default-src 'none'");
    expect(expected['x-powered-by']).toBeUndefined();
    const token = await h.token({ sub: h.users.alice });
    for (const res of [await post(undefined, initializeBody()), await post(token, initializeBody()), await post(token, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': 'nope' }), await fetch(h.mcpUrl, { method: 'PUT' })]) {
      expect(security(res), String(res.status)).toEqual(expected);
      await res.text();
    }
  });
});

describe('health and metrics', () => {
  it('/live, /ready (db + JWKS) and /metrics', async () => {
    expect((await request(h.server).get('/live')).status).toBe(200);
    const ready = await request(h.server).get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ database: 'ok', jwks: 'ok' });
    const metrics = await request(h.server).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('mcp_http_requests_total');
    expect(metrics.text).toContain('mcp_active_sessions');
    expect(metrics.text).toContain('mcp_tool_calls_total');
    expect(metrics.text).toContain('mcp_tool_call_duration_seconds');
  });
});
