// Key rotation across replicas: two authorization servers over one database (as two replicas are).
// A rotation made on one (or by the CLI, on any machine) is published by every replica at its next
// reload, and signs only once it is KEY_PUBLISH_AHEAD_SECONDS old, so no replica ever hands out a
// token signed by a key another replica does not publish. Embedded database by default, PostgreSQL
// with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { AccessTokenVerifier } from '@mcp-gw/shared';
import { createTestDatabase, obtainTokens, type TestDatabase } from '@mcp-gw/testkit';
import { loadAuthServerConfig } from '../src/config.js';
import { startTestAuthServer, type TestAuthServer } from '../src/testing.js';

let database: TestDatabase;
let a: TestAuthServer;
let b: TestAuthServer;

beforeAll(async () => {
  database = await createTestDatabase();
  a = await startTestAuthServer(database.db);
  b = await startTestAuthServer(database.db);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await database?.dispose();
});

const publishedKids = async (server: TestAuthServer) =>
  ((await (await fetch(`${server.issuer}/jwks`)).json()) as { keys: { kid: string; d?: string }[] }).keys;
const tokenFrom = async (server: TestAuthServer, resource = server.config.MCP_RESOURCE_URL, scope = 'tickets:read') =>
  (await obtainTokens({ issuer: server.issuer, email: server.user.email, password: server.user.password, resource, scope })).tokens.access_token;
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('signing key rotation across replicas', () => {
  it('is published by every replica at its next reload, signs only once old enough, and keeps old tokens valid', async () => {
    const oldKid = a.running.keyRing.signingKid!;
    expect(b.running.keyRing.signingKid).toBe(oldKid);
    const before = await tokenFrom(b);
    expect(kidOf(before)).toBe(oldKid);

    // `pnpm admin keys rotate` does exactly this, from any machine.
    const { kid: newKid } = await a.running.keys.rotate();

    // The periodic reload: both replicas publish the new key (public parts only)...
    await a.running.keyRing.reload();
    await b.running.keyRing.reload();
    for (const server of [a, b]) {
      const keys = await publishedKids(server);
      expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
      expect(keys.every((k) => k.d === undefined)).toBe(true);
    }
    // ...but it does not sign yet (KEY_PUBLISH_AHEAD_SECONDS, 60 by default).
    expect(kidOf(await tokenFrom(b))).toBe(oldKid);

    // Once it is old enough, each replica's next reload makes it the signing key.
    const later = Date.now() + (a.config.KEY_PUBLISH_AHEAD_SECONDS + 1) * 1000;
    await a.running.keyRing.reload(later);
    await b.running.keyRing.reload(later);
    const after = await tokenFrom(b);
    expect(kidOf(after)).toBe(newKid);

    // A resource server fetching the keys from the other replica accepts both tokens.
    const resourceServer = new AccessTokenVerifier({ issuer: b.issuer, audience: b.config.MCP_RESOURCE_URL, jwksUri: `${a.issuer}/jwks` });
    expect((await resourceServer.verify(after)).sub).toBe(b.user.id);
    expect((await resourceServer.verify(before)).sub).toBe(b.user.id);
  });

  it("the admin API accepts tokens signed with the new key (its own key set follows the ring's)", async () => {
    const token = await tokenFrom(a, `${a.issuer}/admin/api`, 'admin');
    expect(kidOf(token)).toBe(a.running.keyRing.signingKid);
    const res = await fetch(`${a.issuer}/admin/api/clients`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
  });

  it('refuses a publish-ahead shorter than the reload interval', () => {
    expect(() => loadAuthServerConfig({ KEY_RELOAD_SECONDS: '30', KEY_PUBLISH_AHEAD_SECONDS: '10' })).toThrow(/KEY_PUBLISH_AHEAD_SECONDS/);
    expect(loadAuthServerConfig({ KEY_RELOAD_SECONDS: '30', KEY_PUBLISH_AHEAD_SECONDS: '0' }).KEY_PUBLISH_AHEAD_SECONDS).toBe(0);
  });
});
