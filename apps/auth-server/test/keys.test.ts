import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { createLogger } from '@mcp-gw/shared';
import { createTestDatabase, freePort, tokenRequest, type TestDatabase } from '@mcp-gw/testkit';
import { startAuthServer } from '../src/app.js';
import { loadAuthServerConfig } from '../src/config.js';
import { startTestAuthServer, type TestAuthServer } from '../src/testing.js';
import { publicClient, tokensFor } from './helpers.js';

// Signing keys live in the database: a restart (or another replica) keeps signing with them and keeps
// publishing them, and a rotation keeps the retired key published for the tokens it signed.
describe('signing keys across restarts and rotation', () => {
  let database: TestDatabase;
  let port: number;
  let first: TestAuthServer;
  const running: { close(): Promise<void> }[] = [];

  /** The same server again (same issuer, port and database) — the user already exists. */
  async function restart(): Promise<TestAuthServer> {
    const config = loadAuthServerConfig({
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: first.issuer,
      MCP_RESOURCE_URL: first.config.MCP_RESOURCE_URL,
      LOG_LEVEL: 'silent',
      KEY_ENCRYPTION_KEY: first.config.KEY_ENCRYPTION_KEY,
      REGISTRATION_RATE_LIMIT: '1000',
    });
    await freshConnections();
    const server = await startAuthServer({ config, db: database.db, logger: createLogger('auth-server', 'silent') });
    running.push(server);
    return { ...first, running: server, config, close: () => server.close(), createUser: first.createUser };
  }

  /**
   * fetch keeps idle keep-alive sockets to the old server; closing it destroys them on its side, and
   * the next request may pick one before the close is seen ("other side closed"). A client after a
   * real restart would retry; here the pool is replaced so that no request meets a dead socket.
   */
  async function freshConnections(): Promise<void> {
    const key = Symbol.for('undici.globalDispatcher.1');
    const holder = globalThis as unknown as Record<symbol, { close(): Promise<void>; constructor: new () => unknown } | undefined>;
    const previous = holder[key];
    if (!previous) return;
    holder[key] = new previous.constructor() as never;
    await previous.close();
  }

  const jwksOf = async (as: TestAuthServer) => (await (await fetch(`${as.issuer}/jwks`)).json()) as JSONWebKeySet;

  beforeAll(async () => {
    database = await createTestDatabase();
    port = await freePort();
    first = await startTestAuthServer(database.db, { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, REGISTRATION_RATE_LIMIT: '1000' });
    running.push(first);
  });
  afterAll(async () => {
    for (const server of running.reverse()) await server.close().catch(() => {});
    await database?.dispose();
  });

  it('keeps keys, tokens and grants across a restart, then rotates without breaking old tokens', async () => {
    const client = await publicClient(first);
    const before = await tokensFor(first, client);
    const beforeKid = decodeProtectedHeader(before.access_token as string).kid;
    const firstJwks = await jwksOf(first);
    await first.close();

    // Private keys are sealed at rest (KEY_ENCRYPTION_KEY is set by the test server).
    const rows = await database.db.prisma.signingKey.findMany();
    expect(rows.length).toBe(1);
    for (const row of rows) expect(row.privateJwk.startsWith('v1:')).toBe(true);

    const second = await restart();
    const secondJwks = await jwksOf(second);
    expect(secondJwks.keys.map((k) => k.kid)).toEqual(firstJwks.keys.map((k) => k.kid));
    const { payload } = await jwtVerify(before.access_token as string, createLocalJWKSet(secondJwks), {
      issuer: second.issuer,
      audience: second.config.MCP_RESOURCE_URL,
      typ: 'at+jwt',
    });
    expect(payload.client_id).toBe(client.client_id);
    // The client registration and the grant survived too: the refresh token still works.
    const refreshed = await tokenRequest(second.issuer, { grant_type: 'refresh_token', refresh_token: before.refresh_token as string, client_id: client.client_id });
    expect(refreshed.status).toBe(200);
    expect(decodeProtectedHeader(refreshed.body.access_token as string).kid).toBe(beforeKid);

    const { kid: newKid, retired } = await second.running.keys.rotate();
    expect(retired).toEqual([beforeKid]);
    await second.close();

    const third = await restart();
    const thirdJwks = await jwksOf(third);
    expect(thirdJwks.keys.map((k) => k.kid).sort()).toEqual([newKid, beforeKid].sort());
    for (const key of thirdJwks.keys) expect(key).not.toHaveProperty('d');
    // Old tokens still verify: the retired key is still published.
    await expect(
      jwtVerify(before.access_token as string, createLocalJWKSet(thirdJwks), { issuer: third.issuer, audience: third.config.MCP_RESOURCE_URL }),
    ).resolves.toBeTruthy();
    // The new key is published at once but signs only once KEY_PUBLISH_AHEAD_SECONDS old (so every
    // replica publishes it first); then new tokens are signed with it.
    expect(decodeProtectedHeader((await tokensFor(third, client)).access_token as string).kid).toBe(beforeKid);
    await third.running.keyRing.reload(Date.now() + (third.config.KEY_PUBLISH_AHEAD_SECONDS + 1) * 1000);
    const after = await tokensFor(third, client);
    expect(decodeProtectedHeader(after.access_token as string).kid).toBe(newKid);
    await expect(
      jwtVerify(after.access_token as string, createLocalJWKSet(thirdJwks), { issuer: third.issuer, audience: third.config.MCP_RESOURCE_URL }),
    ).resolves.toBeTruthy();
  });
});
