// Revocation across REAL processes: one authorization server and two MCP server replicas over one
// PostgreSQL database (with and without Redis). A client is revoked through each admin surface — the
// admin page, the admin JSON API, the CLI — and both replicas must refuse its token on the very next
// request, close its live sessions (an open GET SSE stream ends), and its refresh token must be dead.
// The time from the revoke call returning to each replica refusing is measured and printed, never
// asserted on.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CookieJar, authorize, authorizeAndRedeem, registerClient, tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import { postgresUnavailable, redisUnavailable, startCluster, type Cluster } from '../support/cluster.js';
import { dpopKey, dpopProof } from '../support/dpop.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const ACCEPT = 'application/json, text/event-stream';
const PROTOCOL = '2025-06-18';
const PER_SURFACE = 7; // 3 surfaces × 7 = 21 revocations per variant
type Surface = 'page' | 'api' | 'cli';
const SURFACES: Surface[] = ['page', 'api', 'cli'];

const pgSkip = await postgresUnavailable();
const redisSkip = await redisUnavailable();
if (pgSkip && process.env.CI) throw new Error(`${pgSkip}: the multi-process revocation tests need it in CI`);
if (redisSkip && process.env.CI) throw new Error(`${redisSkip}: the Redis variant needs it in CI`);
if (pgSkip) console.warn(`SKIPPED admin-revocation-multiprocess: ${pgSkip}`);
else if (redisSkip) console.warn(`SKIPPED the Redis variant of admin-revocation-multiprocess: ${redisSkip}`);

/** The claims of a JWT (no verification: the servers do that). */
function decodeJwt(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  grantId: string;
}

interface Person {
  email: string;
  password: string;
  jar: CookieJar;
}

/** Consents `person` to `client` over HTTP (the jar keeps them signed in) and redeems the code. */
async function consent(cluster: Cluster, client: RegisteredClient, person: Person, resource = cluster.resource, scope = 'tickets:read tickets:write'): Promise<Tokens> {
  const { tokens } = await authorizeAndRedeem({ issuer: cluster.issuer, clientId: client.client_id, redirectUri: REDIRECT, email: person.email, password: person.password, jar: person.jar, scope, resource });
  return { access_token: tokens.access_token, refresh_token: String(tokens.refresh_token), grantId: String(decodeJwt(tokens.access_token).gid) };
}

function newClient(cluster: Cluster, name: string): Promise<RegisteredClient> {
  return registerClient(cluster.issuer, {
    client_name: name,
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
}

/** Signs in to the admin console as a browser would: /console/login → login form → back to /admin. */
async function consoleSignIn(issuer: string, email: string, password: string): Promise<CookieJar> {
  const jar = new CookieJar();
  let url = new URL(`${issuer}/console/login?return_to=/admin`);
  let init: RequestInit = {};
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: jar.header() } });
    jar.store(res);
    init = {};
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url);
      continue;
    }
    const html = await res.text();
    if (url.pathname === '/admin' && res.status === 200) return jar;
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (res.status !== 200 || !csrf || !html.includes('name="password"')) throw new Error(`console sign-in: ${res.status} at ${url.pathname}`);
    url = new URL(`${url.pathname}/login`, url);
    init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: issuer }, body: new URLSearchParams({ csrf, email, password }) };
  }
  throw new Error('console sign-in: too many redirects');
}

function mcpPost(url: string, token: string, message: unknown, sessionId?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: ACCEPT,
      'mcp-protocol-version': PROTOCOL,
      ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
    },
    body: JSON.stringify(message),
  });
}

/** A raw Streamable HTTP session: initialize, initialized, and an open GET SSE stream. */
async function rawSession(url: string, token: string): Promise<{ id: string; streamEnded: Promise<void>; abort(): void }> {
  const init = await mcpPost(url, token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  expect(init.status).toBe(200);
  const id = init.headers.get('mcp-session-id')!;
  expect(id).toBeTruthy();
  await init.text();
  expect((await mcpPost(url, token, { jsonrpc: '2.0', method: 'notifications/initialized' }, id)).status).toBe(202);
  const controller = new AbortController();
  const sse = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': PROTOCOL },
    signal: controller.signal,
  });
  expect(sse.status).toBe(200);
  const reader = sse.body!.getReader();
  const streamEnded = (async () => {
    try {
      for (;;) if ((await reader.read()).done) return;
    } catch {
      // aborted by us or reset by the server: ended either way
    }
  })();
  return { id, streamEnded, abort: () => controller.abort() };
}

async function sdkSession(url: string, token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'e2e-revocation', version: '1.0.0' });
  client.onerror = () => {}; // the SDK reports the refused SSE reconnection after revocation here
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return { client, transport };
}

async function activeSessions(mcpUrl: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', mcpUrl))).text();
  return Number(/^mcp_active_sessions (\d+)/m.exec(text)?.[1] ?? NaN);
}

/** Resolves true when `p` settles within `ms`, false otherwise (a bound on waiting, not a timing assertion). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Refusal latencies (ms) per variant, surface and replica, printed at the end. */
const timings = new Map<string, number[]>();
const revokeCallMs = new Map<string, number[]>();
const record = (map: Map<string, number[]>, key: string, ms: number) => map.set(key, [...(map.get(key) ?? []), ms]);

const variants = [
  { name: 'without Redis', redis: false, skip: pgSkip },
  { name: 'with Redis', redis: true, skip: pgSkip ?? redisSkip },
];

describe.each(variants)('revocation across two MCP server processes, $name', ({ name: variant, redis, skip }) => {
  let cluster: Cluster;
  let admin: Person;
  let bob: Person;
  let adminJar: CookieJar;
  let adminApiToken: string;
  /** A valid token of bob for an unrelated client: proves a revoked session id is gone (404), not just forbidden. */
  let witness: Tokens;

  beforeAll(async () => {
    if (skip) return;
    cluster = await startCluster({ mcpProcesses: 2, redis });
    admin = { email: cluster.demoEmail, password: cluster.demoPassword, jar: new CookieJar() };
    bob = { email: 'bob@example.com', password: 'Bob-Secret-123', jar: new CookieJar() };
    expect((await cluster.cli(['users', 'add', bob.email], { ADMIN_NEW_PASSWORD: bob.password })).stdout).toContain('added user bob@example.com');
    adminJar = await consoleSignIn(cluster.issuer, admin.email, admin.password);
    const script = await newClient(cluster, 'admin script');
    adminApiToken = (await consent(cluster, script, admin, `${cluster.issuer}/admin/api`, 'admin')).access_token;
    witness = await consent(cluster, await newClient(cluster, 'witness'), bob);
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  async function revokeClient(surface: Surface, clientId: string): Promise<void> {
    if (surface === 'page') {
      const confirmPage = await fetch(`${cluster.issuer}/admin/clients/${encodeURIComponent(clientId)}/revoke`, { headers: { cookie: adminJar.header() } });
      adminJar.store(confirmPage);
      const csrf = /name="csrf" value="([^"]+)"/.exec(await confirmPage.text())![1]!;
      const res = await fetch(`${cluster.issuer}/admin/clients/${encodeURIComponent(clientId)}/revoke`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: adminJar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: cluster.issuer },
        body: new URLSearchParams({ csrf, confirm: 'yes' }),
      });
      expect(res.status).toBe(303);
      expect(decodeURIComponent(res.headers.get('location')!)).toContain(`Revoked ${clientId}`);
    } else if (surface === 'api') {
      const res = await fetch(`${cluster.issuer}/admin/api/clients/${encodeURIComponent(clientId)}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminApiToken}` } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { revoked: boolean; grants: number; servers: { notified: number; confirmed: number } };
      expect(body).toMatchObject({ revoked: true, grants: 1 });
      // With Redis both replicas (and any other suite's sharing this Redis) were told and confirmed.
      if (redis) expect(body.servers.notified).toBeGreaterThanOrEqual(2);
      else expect(body.servers).toEqual({ notified: 0, confirmed: 0 });
    } else {
      const { stdout } = await cluster.cli(['clients', 'revoke', clientId]);
      expect(stdout).toContain(`revoked client ${clientId}: 1 grant(s)`);
      if (redis) expect(stdout).toMatch(/confirmed by \d+/);
      else expect(stdout).not.toContain('confirmed by');
    }
  }

  it.skipIf(!!skip)(`a client revoked through the admin page, the admin API and the CLI (${PER_SURFACE} each) is refused by both replicas on the next request, its sessions closed, its refresh token dead`, async () => {
    for (let i = 0; i < PER_SURFACE; i++) {
      for (const surface of SURFACES) {
        const label = `${surface} #${i + 1}`;
        const client = await newClient(cluster, `revoked via ${surface} ${i + 1}`);
        const tokens = await consent(cluster, client, bob);

        // Live sessions on both replicas: one from the SDK client, one raw with an open GET SSE stream.
        const before = await Promise.all(cluster.mcpUrls.map(activeSessions));
        const sdk = await Promise.all(cluster.mcpUrls.map((u) => sdkSession(u, tokens.access_token)));
        for (const s of sdk) expect((await s.client.listTools()).tools.length).toBeGreaterThan(0);
        const raw = await Promise.all(cluster.mcpUrls.map((u) => rawSession(u, tokens.access_token)));
        for (const [r, s] of cluster.mcpUrls.entries()) expect(await activeSessions(s), `${label} replica ${r}`).toBe(before[r]! + 2);

        const started = performance.now();
        await revokeClient(surface, client.client_id);
        const returned = performance.now();
        record(revokeCallMs, `${variant}|${surface}`, returned - started);

        // The very next request on each replica (in parallel) is refused: 401 invalid_token.
        const answers = await Promise.all(
          cluster.mcpUrls.map(async (u, r) => {
            const res = await mcpPost(u, tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, raw[r]!.id);
            return { res, ms: performance.now() - returned, text: await res.text() };
          }),
        );
        for (const [r, { res, ms, text }] of answers.entries()) {
          expect(res.status, `${label} replica ${r}: the next request must be refused; it answered ${text.slice(0, 200)}`).toBe(401);
          expect(res.headers.get('www-authenticate'), label).toContain('error="invalid_token"');
          expect((JSON.parse(text) as { error?: string }).error).toBe('invalid_token');
          record(timings, `${variant}|${surface}|${String.fromCharCode(65 + r)}`, ms);
        }
        // The JWT itself has not expired: the refusal is the revocation.
        expect(Number(decodeJwt(tokens.access_token).exp) * 1000).toBeGreaterThan(Date.now());

        // Its live sessions are closed on both replicas: the SSE streams end, the session ids are gone.
        for (const [r, s] of raw.entries()) {
          const ended = await settlesWithin(s.streamEnded, 15_000);
          if (!ended) s.abort();
          expect(ended, `${label} replica ${r}: the open GET SSE stream must end`).toBe(true);
        }
        for (const [r, u] of cluster.mcpUrls.entries()) {
          await expect.poll(() => activeSessions(u), { timeout: 15_000, message: `${label} replica ${r} sessions` }).toBe(before[r]!);
          const probe = await mcpPost(u, witness.access_token, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, raw[r]!.id);
          expect(probe.status).toBe(404);
          const sdkProbe = await mcpPost(u, witness.access_token, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, sdk[r]!.transport.sessionId);
          expect(sdkProbe.status).toBe(404);
        }
        for (const s of sdk) await expect(s.client.listTools()).rejects.toThrow();

        // The refresh token no longer works.
        const refreshed = await tokenRequest(cluster.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id, resource: cluster.resource });
        expect(refreshed.status, label).toBeGreaterThanOrEqual(400);
        expect(['invalid_grant', 'invalid_client'], label).toContain(refreshed.body.error);

        for (const s of sdk) await s.client.close().catch(() => {});
      }
    }
    // Every revocation was audited with who did it.
    const audit = (await (await fetch(`${cluster.issuer}/admin/api/audit?action=client.revoked&limit=200`, { headers: { authorization: `Bearer ${adminApiToken}` } })).json()) as {
      events: { actorType: string; actorId: string; details: { servers?: { notified: number; confirmed: number } } }[];
    };
    // ...and with what the MCP servers said: told and confirmed over Redis, or nobody to tell.
    for (const e of audit.events) {
      if (redis) expect(e.details.servers!.notified).toBeGreaterThanOrEqual(2);
      else expect(e.details.servers).toEqual({ notified: 0, confirmed: 0 });
    }
    expect(audit.events).toHaveLength(PER_SURFACE * SURFACES.length);
    const actors = audit.events.map((e) => e.actorId);
    expect(actors.filter((a) => a === 'cli:e2e-operator')).toHaveLength(PER_SURFACE);
    expect(audit.events.every((e) => e.actorType === 'admin')).toBe(true);
  });

  it.skipIf(!!skip)("revoking one user's grant ends just that user's access and sessions on both replicas; the other user's grant to the same client keeps working", async () => {
    const client = await newClient(cluster, 'shared app');
    const bobTokens = await consent(cluster, client, bob);
    const adminTokens = await consent(cluster, client, admin);
    const [urlA, urlB] = cluster.mcpUrls as [string, string];
    const bobA = await rawSession(urlA, bobTokens.access_token);
    const bobB = await rawSession(urlB, bobTokens.access_token);
    const adminSdk = await Promise.all(cluster.mcpUrls.map((u) => sdkSession(u, adminTokens.access_token)));

    const res = await fetch(`${cluster.issuer}/admin/api/grants/${encodeURIComponent(bobTokens.grantId)}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminApiToken}` } });
    expect(res.status).toBe(200);

    // Replica A sees Bob's old token first.
    const refusedA = await mcpPost(urlA, bobTokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, bobA.id);
    expect(refusedA.status).toBe(401);
    expect(refusedA.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await settlesWithin(bobA.streamEnded, 15_000)).toBe(true);

    // Bob signs in again and consents anew (a new grant). Replica B never saw his old token since the
    // revocation: his old session there must not come back to life under the new grant.
    const again = await consent(cluster, client, bob);
    expect(again.grantId).not.toBe(bobTokens.grantId);
    const resurrected = await mcpPost(urlB, again.access_token, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, bobB.id);
    expect(resurrected.status, 'a session of a revoked grant must be gone on the other replica too').toBe(404);
    const ended = await settlesWithin(bobB.streamEnded, 15_000);
    if (!ended) bobB.abort();
    expect(ended, 'the GET SSE stream of the revoked grant on the other replica must end').toBe(true);
    const refusedB = await mcpPost(urlB, bobTokens.access_token, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, bobB.id);
    expect(refusedB.status).toBe(401);
    // The new grant works on both replicas.
    for (const u of cluster.mcpUrls) expect((await rawSession(u, again.access_token)).id).toBeTruthy();

    // The admin's grant to the same client is untouched: sessions alive, refresh works.
    for (const s of adminSdk) expect((await s.client.listTools()).tools.length).toBeGreaterThan(0);
    const bobRefresh = await tokenRequest(cluster.issuer, { grant_type: 'refresh_token', refresh_token: bobTokens.refresh_token, client_id: client.client_id, resource: cluster.resource });
    expect(bobRefresh.body.error).toBe('invalid_grant');
    const adminRefresh = await tokenRequest(cluster.issuer, { grant_type: 'refresh_token', refresh_token: adminTokens.refresh_token, client_id: client.client_id, resource: cluster.resource });
    expect(adminRefresh.status).toBe(200);
    for (const u of cluster.mcpUrls) {
      const ok = await mcpPost(u, String(adminRefresh.body.access_token), { jsonrpc: '2.0', id: 5, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
      expect(ok.status).toBe(200);
    }
    for (const s of adminSdk) await s.client.close().catch(() => {});
  });

  it.skipIf(!!skip)('a client revoking its own access token (RFC 7009): both replicas refuse it on the next request, the grant stands', async () => {
    const client = await newClient(cluster, 'logs out its access token');
    const tokens = await consent(cluster, client, bob);
    // Both replicas know the token as good (and remember it, with Redis) before the revocation.
    for (const u of cluster.mcpUrls) expect((await rawSession(u, tokens.access_token)).id).toBeTruthy();
    const metadata = (await (await fetch(`${cluster.issuer}/.well-known/oauth-authorization-server`)).json()) as { revocation_endpoint: string; introspection_endpoint: string };
    const started = performance.now();
    const revoked = await fetch(metadata.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, token_type_hint: 'access_token', client_id: client.client_id }),
    });
    expect(revoked.status).toBe(200);
    const revokeMs = performance.now() - started;
    for (const [i, u] of cluster.mcpUrls.entries()) {
      const refused = await mcpPost(u, tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
      expect(refused.status, `replica ${i + 1}`).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      record(timings, `${variant}|access token (RFC 7009)|replica ${i + 1}`, performance.now() - started);
    }
    record(revokeCallMs, `${variant}|access token (RFC 7009)`, revokeMs);
    const introspected = await fetch(metadata.introspection_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }) });
    expect(await introspected.json()).toEqual({ active: false });
    // Only that token: the grant stands, so the refresh token gets a new access token that works.
    const refreshed = await tokenRequest(cluster.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id, resource: cluster.resource });
    expect(refreshed.status).toBe(200);
    for (const u of cluster.mcpUrls) expect((await rawSession(u, String(refreshed.body.access_token))).id).toBeTruthy();
  });

  // Replicas share the proofs they have seen through Redis only; without it each remembers its own.
  it.skipIf(!!skip || !redis)('a DPoP proof used at one replica is refused as a replay at the other', async () => {
    const client = await newClient(cluster, 'dpop across replicas');
    const key = await dpopKey();
    const authorization = await authorize({ issuer: cluster.issuer, clientId: client.client_id, redirectUri: REDIRECT, email: bob.email, password: bob.password, jar: bob.jar, scope: 'tickets:read', resource: cluster.resource });
    const metadata = (await (await fetch(`${cluster.issuer}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint: string };
    const exchanged = await fetch(metadata.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await dpopProof(key, { method: 'POST', url: metadata.token_endpoint }) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: authorization.code!, redirect_uri: REDIRECT, code_verifier: authorization.verifier, client_id: client.client_id, resource: cluster.resource }),
    });
    const { access_token: accessToken, token_type: tokenType } = (await exchanged.json()) as { access_token: string; token_type: string };
    expect(tokenType).toBe('DPoP');
    // One proof for the resource URL both replicas serve.
    const proof = await dpopProof(key, { method: 'POST', url: cluster.resource, accessToken });
    const send = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `DPoP ${accessToken}`, dpop: proof, 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': PROTOCOL },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'dpop', version: '1' } } }),
      });
    const [urlA, urlB] = cluster.mcpUrls as [string, string];
    expect((await send(urlA)).status).toBe(200);
    const replayed = await send(urlB);
    expect(replayed.status).toBe(401);
    expect(replayed.headers.get('www-authenticate')).toContain('invalid_dpop_proof');
  });

  it.skipIf(!!skip)('the CLI lists and shows what the servers see (clients list|show, grants list, users list)', async () => {
    const client = await newClient(cluster, 'listed by the CLI');
    const tokens = await consent(cluster, client, bob);
    const list = JSON.parse((await cluster.cli(['clients', 'list', '--json'])).stdout) as { clientId: string; users: string[] }[];
    expect(list.find((c) => c.clientId === client.client_id)?.users).toEqual([bob.email]);
    const show = JSON.parse((await cluster.cli(['clients', 'show', client.client_id])).stdout) as { grants: { grantId: string }[] };
    expect(show.grants.map((g) => g.grantId)).toEqual([tokens.grantId]);
    const grants = JSON.parse((await cluster.cli(['grants', 'list', '--user', bob.email, '--json'])).stdout) as { grantId: string }[];
    expect(grants.map((g) => g.grantId)).toContain(tokens.grantId);
    const { stdout } = await cluster.cli(['grants', 'revoke', tokens.grantId]);
    expect(stdout).toContain(`revoked grant ${tokens.grantId}`);
    for (const u of cluster.mcpUrls) expect((await mcpPost(u, tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(401);
    expect((await cluster.cli(['users', 'list'])).stdout).toContain(bob.email);
  });
});

afterAll(() => {
  if (!timings.size) return;
  const rows: Record<string, string | number>[] = [];
  for (const [key, values] of timings) {
    const [variant, surface, replica] = key.split('|');
    const calls = revokeCallMs.get(`${variant}|${surface}`) ?? [];
    rows.push({
      variant: variant!,
      surface: surface!,
      replica: replica!,
      revocations: values.length,
      'median ms': Number(median(values).toFixed(1)),
      'worst ms': Number(Math.max(...values).toFixed(1)),
      'revoke call median ms': Number(median(calls).toFixed(1)),
    });
  }
  console.log('\nTime from the revoke call returning to each MCP replica refusing the token (first request after revocation):');
  console.table(rows);
});
