/**
 * Scale-out, with real processes: replicas of the built server (`node dist/main.js`) on one PostgreSQL
 * database (a fresh `mcp_test_<random>`, dropped afterwards) and one Redis, behind a "load balancer" that
 * is the SDK client's own fetch rewriting the port per request (round-robin over the live replicas).
 * Tokens come from test/support/issuer.ts, which serves metadata + JWKS on loopback from this process.
 *
 * Needs PostgreSQL (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres) and Redis
 * (TEST_REDIS_URL, default redis://127.0.0.1:6379): skipped with the reason when they are unreachable,
 * a failure when CI is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2Transport } from '@modelcontextprotocol/client';
import { applyMigrations, connectDatabase, type Database } from '@mcp-gw/db';
import { REVOCATION_CHANNEL } from '@mcp-gw/shared';
import { seedDemoTickets } from '../src/domain/seed.js';
import { createPostgresDatabase } from '@mcp-gw/testkit';
import { startTestIssuer, type TestIssuer } from './support/issuer.js';
import { MCP_ACCEPT } from './support/harness.js';

/** Reads per minute per user and client on every replica (one budget across them, in Redis). */
const READ_LIMIT = 120;
const MAIN = path.resolve(import.meta.dirname, '../dist/main.js');
const pgBase = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function unavailable(): Promise<string | undefined> {
  if (!fs.existsSync(MAIN)) return `${MAIN} is not built (pnpm exec turbo run build)`;
  try {
    const db = await connectDatabase(pgBase, { poolSize: 1 });
    try {
      await db.query('SELECT 1');
    } finally {
      await db.close();
    }
  } catch (err) {
    return `PostgreSQL unreachable at ${pgBase}: ${(err as Error).message}`;
  }
  const r = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    return `Redis unreachable at ${redisUrl}: ${(err as Error).message}`;
  } finally {
    r.disconnect();
  }
  return undefined;
}

const reason = await unavailable();
if (reason && process.env.CI) throw new Error(`replicas.test.ts cannot run in CI: ${reason}`);
if (reason) console.warn(`[replicas.test.ts] skipped: ${reason}`);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

interface Replica {
  name: string;
  port: number;
  proc: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface Hop {
  port: number;
  method: string;
  lastEventId: string | null;
  rpc: string | undefined;
}

describe.skipIf(!!reason)('MCP sessions across replicas (real processes, PostgreSQL + Redis)', { timeout: 120_000 }, () => {
  let pg: { url: string; drop(): Promise<void> };
  let db: Database;
  let issuer: TestIssuer;
  let alice: string;
  let bob: string;
  let resourceUrl: string;
  const replicas: Replica[] = [];
  const allPorts: number[] = [];
  /** The live replicas the "load balancer" sends to (a killed one is taken out, as a health check would). */
  const live: Replica[] = [];
  const clients: Client[] = [];

  async function startReplica(name: string): Promise<Replica> {
    const port = allPorts.shift()!;
    const output: string[] = [];
    const proc = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: pg.url,
        REDIS_URL: redisUrl,
        AUTH_ISSUER: issuer.issuer,
        MCP_RESOURCE_URL: resourceUrl,
        ALLOWED_HOSTS: replicaPorts.map((p) => `127.0.0.1:${p}`).join(','),
        RATE_LIMIT_READ_PER_MINUTE: String(READ_LIMIT),
        RATE_LIMIT_WRITE_PER_MINUTE: '1000',
        SHUTDOWN_TIMEOUT_MS: '120000',
        // Server DPoP nonces, made with one secret (this run's) by every replica.
        DPOP_NONCE: 'required',
        DPOP_NONCE_SECRET: nonceSecret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const replica: Replica = { name, port, proc, output, exited };
    replicas.push(replica);
    // (expect.poll is not available in hooks)
    for (let ready = false; !ready; ) {
      if (proc.exitCode !== null) throw new Error(`${name} exited during start:\n${output.join('')}`);
      ready = (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200;
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    live.push(replica);
    return replica;
  }

  let replicaPorts: number[] = [];
  const nonceSecret = randomBytes(32).toString('base64url');

  beforeAll(async () => {
    pg = await createPostgresDatabase(pgBase, 'mcp_test');
    db = await connectDatabase(pg.url);
    await applyMigrations(db);
    alice = (await db.prisma.user.create({ data: { email: 'alice@example.com', name: 'Alice', passwordHash: 'x' } })).id;
    bob = (await db.prisma.user.create({ data: { email: 'bob@example.com', name: 'Bob', passwordHash: 'x' } })).id;
    await seedDemoTickets(db, { userIds: [alice, bob] });
    issuer = await startTestIssuer(db);
    // The address clients are given (the load balancer's); no process listens there: fetch rewrites it.
    resourceUrl = `http://127.0.0.1:${await freePort()}/mcp`;
    issuer.setAudience(resourceUrl);
    replicaPorts = [await freePort(), await freePort(), await freePort()];
    allPorts.push(...replicaPorts);
    await startReplica('A');
    await startReplica('B');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    for (const r of replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.exited));
    await issuer?.close();
    await db?.close();
    await pg?.drop();
  });

  /**
   * An SDK client whose fetch is the load balancer: POST/DELETE round-robin over the live replicas, GET
   * (SSE) round-robin on its own counter, unless `route` picks a port. Every hop is recorded.
   */
  async function connect(
    token: string,
    opts: { elicit?: boolean; route?: (method: string, body: string | undefined) => number | undefined; cut?: (body: string | undefined) => boolean } = {},
  ) {
    const hops: Hop[] = [];
    let posts = 0;
    let gets = 0;
    const balancer = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const method = (init?.method ?? 'GET').toUpperCase();
      const body = typeof init?.body === 'string' ? init.body : undefined;
      const pool = live.map((r) => r.port);
      const port = opts.route?.(method, body) ?? (method === 'GET' ? pool[gets++ % pool.length] : pool[posts++ % pool.length])!;
      url.port = String(port);
      const headers = new Headers(init?.headers);
      hops.push({ port, method, lastEventId: headers.get('last-event-id'), rpc: body && (JSON.parse(body) as { method?: string }).method });
      const res = await fetch(url, init);
      return opts.cut?.(body) ? cutAfterPriming(res) : res;
    };
    const client = new Client({ name: 'replica-test', version: '1.0.0' }, { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} });
    const elicited: string[] = [];
    if (opts.elicit) {
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        elicited.push(request.params.message);
        return { action: 'accept', content: { confirm: true } };
      });
    }
    const transport = new StreamableHTTPClientTransport(new URL(resourceUrl), {
      fetch: balancer,
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1.5, maxRetries: 20 },
    });
    await client.connect(transport);
    clients.push(client);
    const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
    return { client, transport, hops, elicited, call, sessionId: transport.sessionId! };
  }

  /**
   * Simulates the network dropping an SSE response: the client gets the first event (the priming event
   * with its id) and then an error, but only once the server has written the whole stream, so what it
   * sent after the priming event is in the event store before the client resumes.
   */
  function cutAfterPriming(res: Response): Response {
    if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) return res;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let primed = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!primed) {
          while (!buffered.includes('\n\n')) {
            const { value, done } = await reader.read();
            if (done) break;
            buffered += decoder.decode(value, { stream: true });
          }
          primed = true;
          const end = buffered.indexOf('\n\n');
          controller.enqueue(new TextEncoder().encode(buffered.slice(0, end + 2)));
          return;
        }
        while (!(await reader.read()).done) {
          // the rest of the stream is lost on the way
        }
        controller.error(new TypeError('terminated: connection reset (simulated)'));
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  }

  const sc = (r: CallToolResult) => r.structuredContent as Record<string, any>;
  const raw = (port: number, token: string, sessionId: string, message: Record<string, unknown>, method = 'POST') =>
    fetch(`http://127.0.0.1:${port}/mcp`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: MCP_ACCEPT,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: method === 'POST' ? JSON.stringify(message) : undefined,
    });

  it('a session whose requests alternate between the replicas keeps working, elicitation included', async () => {
    const c = await connect(await issuer.mintToken({ sub: alice }), { elicit: true });
    for (let i = 0; i < 4; i++) {
      const r = await c.call('list_projects');
      expect(r.isError).toBeFalsy();
      expect(sc(r).projects.map((p: { key: string }) => p.key)).toEqual(['MOB', 'OPS', 'WEB']);
    }
    const posts = c.hops.filter((h) => h.method === 'POST');
    expect(new Set(posts.map((h) => h.port))).toEqual(new Set(live.map((r) => r.port)));

    // close_ticket asks the person through elicitation; the answer is POSTed to the other replica.
    const created = await c.call('create_ticket', { project: 'WEB', title: 'Closed across replicas', body: 'x' });
    const ticket = sc(created).ticket as { id: string; number: number };
    const closed = await c.call('close_ticket', { ticket_id: ticket.id, resolution: 'done' });
    expect(closed.isError).toBeFalsy();
    expect(sc(closed).outcome).toBe('closed');
    expect(c.elicited).toHaveLength(1);
    expect(c.elicited[0]).toContain(ticket.id);
    const callAt = c.hops.findLastIndex((h) => h.rpc === 'tools/call');
    const callHop = c.hops[callAt]!;
    const answerHop = c.hops.slice(callAt + 1).find((h) => h.method === 'POST')!;
    expect(answerHop.rpc).toBeUndefined(); // the elicitation answer (a JSON-RPC response)
    expect(answerHop.port).not.toBe(callHop.port);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { number: ticket.number } })).status).toBe('closed');
  });

  it('a write retried with the same idempotency key on the other replica returns the first result and writes once', async () => {
    let toolCalls = 0;
    const c = await connect(await issuer.mintToken({ sub: alice }), {
      // The load balancer sends each tools/call to the next replica.
      route: (_method, body) => (body?.includes('"tools/call"') ? live[toolCalls++ % live.length]!.port : undefined),
    });
    const args = { project: 'WEB', title: `Idempotent across replicas ${randomUUID()}`, body: 'x', idempotency_key: `replica-retry-${randomUUID()}` };
    const first = await c.call('create_ticket', args);
    const retry = await c.call('create_ticket', args);
    expect(first.isError).toBeFalsy();
    expect(retry.isError).toBeFalsy();
    expect(sc(retry).ticket.id).toBe(sc(first).ticket.id);
    const ports = c.hops.filter((h) => h.rpc === 'tools/call').map((h) => h.port);
    expect(new Set(ports).size).toBe(2);
    expect(await db.prisma.ticket.count({ where: { title: args.title } })).toBe(1);
  });

  it('2026-07-28 stateless requests need no affinity: every tool, input_required and a revocation across replicas', async () => {
    const gid = await issuer.createGrant();
    const token = await issuer.mintToken({ sub: alice, gid });
    const ports: number[] = [];
    let posts = 0;
    // The load balancer sends each request to the next live replica: no affinity of any kind.
    const balancer = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      url.port = String(live[posts++ % live.length]!.port);
      ports.push(Number(url.port));
      return fetch(url, init);
    };
    const client = new V2Client({ name: 'replica-v2', version: '2.4.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } });
    let asked = 0;
    client.setRequestHandler('elicitation/create', async () => {
      asked += 1;
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(new V2Transport(new URL(resourceUrl), { fetch: balancer, requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
      return r.structuredContent as Record<string, any>;
    };
    expect((await call('whoami')).user_id).toBe(alice);
    await call('list_projects');
    const ticket = (await call('create_ticket', { project: 'WEB', title: `Stateless across replicas ${randomUUID()}`, body: 'x' })).ticket;
    await call('search_tickets', { limit: 5 });
    await call('get_ticket', { ticket_id: ticket.id });
    await call('comment_on_ticket', { ticket_id: ticket.id, body: 'from replica test' });
    await call('update_ticket', { ticket_id: ticket.id, priority: 'high' });
    // input_required is answered by one replica, the retry with its requestState by the other.
    const before = ports.length;
    expect((await call('close_ticket', { ticket_id: ticket.id })).outcome).toBe('closed');
    expect(asked).toBe(1);
    const closeHops = ports.slice(before);
    expect(closeHops.length).toBeGreaterThanOrEqual(2);
    expect(new Set(closeHops).size).toBe(2);
    expect(new Set(ports)).toEqual(new Set(live.map((r) => r.port)));
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { number: ticket.number } })).status).toBe('closed');

    // Revoked as the authorization server does it (database, then the Redis notice): the next
    // stateless request is refused on every replica.
    await issuer.revokeGrant(gid);
    const publisher = new Redis(redisUrl);
    await publisher.publish(REVOCATION_CHANNEL, JSON.stringify({ type: 'grant', grantIds: [gid] }));
    await publisher.quit();
    for (const replica of live) {
      const res = await fetch(`http://127.0.0.1:${replica.port}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'whoami', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } } },
        }),
      });
      expect(res.status, replica.name).toBe(401);
    }
    await client.close();
  });

  it('a DPoP nonce handed out by one replica is taken by the other; a proof used at one is a replay at the other', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const token = await issuer.mintToken({ sub: alice, extraClaims: { cnf: { jkt: await calculateJwkThumbprint(jwk, 'sha256') } } });
    const proofWith = (nonce?: string) =>
      new SignJWT({ htm: 'POST', htu: resourceUrl, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ath: createHash('sha256').update(token).digest('base64url'), ...(nonce ? { nonce } : {}) })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .sign(privateKey);
    const send = (port: number, proof: string) =>
      fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: { authorization: `DPoP ${token}`, dpop: proof, 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'whoami', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } } },
        }),
      });
    // Replica A asks for a nonce; replica B accepts a proof that carries it.
    const asked = await send(live[0]!.port, await proofWith());
    expect(asked.status).toBe(401);
    expect(asked.headers.get('www-authenticate')).toMatch(/error="use_dpop_nonce"/);
    const nonce = asked.headers.get('dpop-nonce')!;
    const proof = await proofWith(nonce);
    const first = await send(live[1]!.port, proof);
    expect(first.status).toBe(200);
    expect(first.headers.get('dpop-nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The same proof at replica A: its jti is shared in Redis.
    const replay = await send(live[0]!.port, proof);
    expect(replay.status).toBe(401);
    expect(replay.headers.get('www-authenticate')).toMatch(/DPoP algs="[^"]+", error="invalid_dpop_proof"/);
    expect(((await replay.json()) as { error_description: string }).error_description).toMatch(/already used/);
  });

  it('the tool rate limit is one budget across the replicas, not one per replica', async () => {
    const c = await connect(await issuer.mintToken({ sub: bob, clientId: `budget-${randomUUID()}` }));
    const results: CallToolResult[] = [];
    for (let i = 0; i <= READ_LIMIT; i++) results.push(await c.call('whoami'));
    expect(new Set(c.hops.filter((h) => h.rpc === 'tools/call').map((h) => h.port)).size).toBe(2);
    expect(results.slice(0, READ_LIMIT).filter((r) => r.isError)).toEqual([]);
    const refused = results[READ_LIMIT]!;
    expect(refused.isError).toBe(true);
    expect((refused.content[0] as { text: string }).text).toMatch(/Rate limit reached/);
  });

  it("another user's or client's token on the session id is answered 404 on the other replica", async () => {
    const [a, b] = live;
    const token = await issuer.mintToken({ sub: alice });
    const c = await connect(token, { route: (method, body) => (body?.includes('"initialize"') ? a!.port : undefined) });
    expect(c.hops[0]).toMatchObject({ port: a!.port, rpc: 'initialize' });
    const list = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'list_projects', arguments: {} } };
    for (const other of [await issuer.mintToken({ sub: bob }), await issuer.mintToken({ sub: alice, clientId: 'another-client' })]) {
      const res = await raw(b!.port, other, c.sessionId, list);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('WEB');
      expect((await raw(b!.port, other, c.sessionId, {}, 'DELETE')).status).toBe(404);
    }
    // The owner is served on that replica, and the session is intact.
    const ok = await raw(b!.port, token, c.sessionId, list);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('WEB');
    expect((await c.call('list_projects')).isError).toBeFalsy();
  });

  it('an SSE response cut off on one replica is resumed with Last-Event-ID on the other', async () => {
    const [a, b] = live;
    let cutDone = false;
    const c = await connect(await issuer.mintToken({ sub: alice }), {
      route: (method, body) => {
        if (method === 'POST' && body?.includes('"search_tickets"')) return a!.port;
        if (method === 'GET' && cutDone) return b!.port;
        return undefined;
      },
      cut: (body) => {
        if (!body?.includes('"search_tickets"')) return false;
        cutDone = true;
        return true;
      },
    });
    const r = await c.call('search_tickets', { limit: 3 });
    expect(r.isError).toBeFalsy();
    expect(sc(r).tickets).toHaveLength(3);
    const post = c.hops.find((h) => h.rpc === 'tools/call')!;
    expect(post.port).toBe(a!.port);
    const resumed = c.hops.filter((h) => h.method === 'GET' && h.lastEventId);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed[0]!.port).toBe(b!.port);
    // The session goes on.
    expect((await c.call('list_projects')).isError).toBeFalsy();
  });

  it('a session survives the death (SIGKILL) of the replica that created it, and continues on a new one', async () => {
    const creator = live[0]!;
    const c = await connect(await issuer.mintToken({ sub: bob }), { route: (_m, body) => (body?.includes('"initialize"') ? creator.port : undefined) });
    expect(c.hops[0]).toMatchObject({ port: creator.port, rpc: 'initialize' });
    expect((await c.call('list_projects')).isError).toBeFalsy();

    creator.proc.kill('SIGKILL');
    expect((await creator.exited).signal).toBe('SIGKILL');
    live.splice(live.indexOf(creator), 1);

    const created = await c.call('create_ticket', { project: 'OPS', title: 'After the crash', body: 'x' });
    expect(created.isError).toBeFalsy();
    const found = await c.call('search_tickets', { query: 'crash' });
    expect(sc(found).tickets.map((t: { title: string }) => t.title)).toContain('After the crash');

    await startReplica('C');
    const before = c.hops.length;
    for (let i = 0; i < 3; i++) expect((await c.call('list_projects')).isError).toBeFalsy();
    expect(new Set(c.hops.slice(before).filter((h) => h.method === 'POST').map((h) => h.port))).toEqual(new Set(live.map((r) => r.port)));
  });

  /** Holds an exclusive lock on the ticket table until released: ticket reads wait in PostgreSQL. */
  async function lockTickets() {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = db.withConnection(async (conn) => {
      await conn.query('BEGIN');
      await conn.query('LOCK TABLE "ticket" IN ACCESS EXCLUSIVE MODE');
      locked();
      await released;
      await conn.query('COMMIT');
    });
    await isLocked;
    const waiting = async () => {
      const rows = await db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return Number(rows[0]?.n ?? 0);
    };
    return {
      waiting,
      async release() {
        release();
        await holder;
      },
    };
  }

  it('SIGTERM drains: /ready turns 503, SSE streams end cleanly, the in-flight tool call completes, then the process exits; the session continues elsewhere', async () => {
    const victim = live[0]!;
    const survivor = live[1]!;
    const token = await issuer.mintToken({ sub: alice });
    // POSTs to the victim; the client's own GET stream to the survivor (one GET stream per session and replica).
    const c = await connect(token, { route: (method) => (method === 'POST' ? victim.port : survivor.port) });
    // An SSE stream held open on the victim.
    const sse = await fetch(`http://127.0.0.1:${victim.port}/mcp`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': c.sessionId, 'mcp-protocol-version': '2025-11-25' },
    });
    expect(sse.status).toBe(200);
    const sseEnd = (async () => {
      const reader = sse.body!.getReader();
      while (!(await reader.read()).done) {
        // keep-alives
      }
      return 'ended cleanly';
    })();

    const lock = await lockTickets();
    let call: Promise<CallToolResult> | undefined;
    try {
      call = c.call('search_tickets', { project: 'OPS' });
      await expect.poll(lock.waiting, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      victim.proc.kill('SIGTERM');
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${victim.port}/ready`)).status, { timeout: 30_000 }).toBe(503);
      await expect(sseEnd).resolves.toBe('ended cleanly');
      expect(victim.proc.exitCode).toBeNull();
    } finally {
      await lock.release();
    }
    const r = await call!;
    expect(r.isError).toBeFalsy();
    expect(sc(r).tickets.length).toBeGreaterThan(0);
    expect(await victim.exited).toEqual({ code: 0, signal: null });
    live.splice(live.indexOf(victim), 1);
    expect(victim.output.join('')).toContain('drained: no request in flight');

    // Same session, on the replica that is left.
    const next = await connect(token, { route: () => survivor.port });
    expect((await next.call('list_projects')).isError).toBeFalsy();
    const again = await raw(survivor.port, token, c.sessionId, { jsonrpc: '2.0', id: 9, method: 'tools/list' });
    expect(again.status).toBe(200);
  });

  it('a second SIGTERM during the drain exits at once', async () => {
    const victim = live[0]!;
    const c = await connect(await issuer.mintToken({ sub: bob }), { route: () => victim.port });
    const lock = await lockTickets();
    let call: Promise<unknown> | undefined;
    try {
      call = c.call('search_tickets', { project: 'OPS' }).catch((err: Error) => err);
      await expect.poll(lock.waiting, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
      victim.proc.kill('SIGTERM');
      await expect.poll(async () => (await fetch(`http://127.0.0.1:${victim.port}/ready`)).status, { timeout: 30_000 }).toBe(503);
      victim.proc.kill('SIGTERM');
      // It exits while the call is still blocked on the lock, i.e. without draining.
      expect(await victim.exited).toEqual({ code: 1, signal: null });
      // The client gives up on the dead replica (it would otherwise retry until its request timeout).
      await c.client.close();
      expect(await call).toBeInstanceOf(Error);
    } finally {
      await lock.release();
    }
    live.splice(live.indexOf(victim), 1);
  });
});
