import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pkcePair, tokenRequest, type TestDatabase } from '@mcp-gw/testkit';
import { artifactKey } from '@mcp-gw/db';
import { CONSOLE_CALLBACK_PATH, CONSOLE_CLIENT_ID } from '../src/admin/session.js';
import { oidcAdapterFactory, scrubStoredCredentials } from '../src/adapter.js';
import { hashClientSecret, isHashedClientSecret, verifyClientSecret } from '../src/secrets-at-rest.js';
import { authorizeAndApprove, basic, Browser, confidentialClient, LOOPBACK_REDIRECT, publicClient, startSuite, type Suite } from './helpers.js';

// A database dump alone must open nothing: no token, code, secret, session or password handed out
// may appear in any table, in any form the server gave it out.
describe('secrets at rest', () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await startSuite();
  });
  afterAll(async () => {
    await suite?.close();
  });

  /** Every row of every table of the application, as one string. */
  async function dumpDatabase(): Promise<{ dump: string; tables: string[] }> {
    const db = suite.database.db;
    const tables = (
      await db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
      )
    ).map((r) => r.table_name);
    const parts: string[] = [];
    for (const table of tables) {
      const rows = await db.query(`SELECT * FROM "${table}"`);
      parts.push(`${table}: ${JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    }
    return { dump: parts.join('\n'), tables };
  }

  it('keeps no usable credential in the database after a full flow', async () => {
    const { as } = suite;
    const handedOut: Record<string, string> = { password: as.user.password };
    const browser = new Browser(as.issuer);

    // Registration: a public and a confidential client.
    const pub = await publicClient(as, { client_name: 'Dump public' });
    const conf = await confidentialClient(as, { client_name: 'Dump confidential' });
    handedOut['public registration_access_token'] = pub.registration_access_token!;
    handedOut['confidential registration_access_token'] = conf.registration_access_token!;
    handedOut.client_secret = conf.client_secret!;

    // Public client: authorize, token, refresh.
    const first = await authorizeAndApprove(as, pub.client_id, {}, browser);
    handedOut['public code'] = first.code;
    const interactionUids = browser.trail.map((t) => /\/interaction\/([^/ ]+)/.exec(t)?.[1]).filter((v): v is string => !!v);
    expect(interactionUids.length).toBeGreaterThan(0);
    for (const [i, uid] of [...new Set(interactionUids)].entries()) handedOut[`interaction id ${i}`] = uid;
    const session = browser.jar.get('_session');
    expect(session).toBeTruthy();
    handedOut['session cookie'] = session!;
    const pubTokens = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: first.code,
      redirect_uri: LOOPBACK_REDIRECT,
      code_verifier: first.verifier,
      client_id: pub.client_id,
      resource: as.config.MCP_RESOURCE_URL,
    });
    expect(pubTokens.status).toBe(200);
    handedOut['public access token'] = pubTokens.body.access_token as string;
    handedOut['public refresh token'] = pubTokens.body.refresh_token as string;
    const pubRefreshed = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: pubTokens.body.refresh_token as string, client_id: pub.client_id });
    expect(pubRefreshed.status).toBe(200);
    handedOut['public refreshed access token'] = pubRefreshed.body.access_token as string;
    handedOut['public rotated refresh token'] = pubRefreshed.body.refresh_token as string;

    // Confidential client (same browser session: no second login), with its secret.
    const second = await authorizeAndApprove(as, conf.client_id, {}, browser);
    handedOut['confidential code'] = second.code;
    const auth = { clientId: conf.client_id, clientSecret: conf.client_secret! };
    const confTokens = await tokenRequest(
      as.issuer,
      { grant_type: 'authorization_code', code: second.code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: second.verifier, resource: as.config.MCP_RESOURCE_URL },
      auth,
    );
    expect(confTokens.status).toBe(200);
    handedOut['confidential access token'] = confTokens.body.access_token as string;
    handedOut['confidential refresh token'] = confTokens.body.refresh_token as string;
    const confRefreshed = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: confTokens.body.refresh_token as string }, auth);
    expect(confRefreshed.status).toBe(200);
    handedOut['confidential rotated refresh token'] = confRefreshed.body.refresh_token as string;

    // The console client gets an opaque access token (no resource): stored by oidc-provider.
    const { verifier, challenge } = pkcePair();
    const redirectUri = `${as.issuer}${CONSOLE_CALLBACK_PATH}`;
    let url = new URL(
      `/auth?${new URLSearchParams({ client_id: CONSOLE_CLIENT_ID, response_type: 'code', redirect_uri: redirectUri, scope: 'openid', state: 'x', code_challenge: challenge, code_challenge_method: 'S256' })}`,
      as.issuer,
    );
    let consoleCode: string | null = null;
    for (let hop = 0; hop < 10 && !consoleCode; hop++) {
      const response = await browser.request(url);
      expect(response.status, `${url.pathname}`).toBeGreaterThanOrEqual(300);
      expect(response.status).toBeLessThan(400);
      url = new URL(response.headers.get('location')!, url);
      if (url.pathname === CONSOLE_CALLBACK_PATH) consoleCode = url.searchParams.get('code');
    }
    expect(consoleCode).toBeTruthy();
    handedOut['console code'] = consoleCode!;
    const consoleTokens = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: consoleCode!,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: CONSOLE_CLIENT_ID,
    });
    expect(consoleTokens.status).toBe(200);
    const opaque = consoleTokens.body.access_token as string;
    expect(opaque.split('.')).toHaveLength(1); // opaque, not a JWT
    handedOut['opaque access token'] = opaque;
    expect(await suite.database.db.prisma.oidcArtifact.count({ where: { model: 'AccessToken', key: artifactKey(opaque) } })).toBe(1);

    // RFC 7592 read with the registration access token: works, and never shows the stored hash.
    const read = await fetch(conf.registration_client_uri!, { headers: { authorization: `Bearer ${conf.registration_access_token}` } });
    expect(read.status).toBe(200);
    const readBody = (await read.json()) as Record<string, unknown>;
    expect(readBody.client_id).toBe(conf.client_id);
    expect(readBody.registration_access_token).toBe(conf.registration_access_token);
    expect(readBody).not.toHaveProperty('client_secret');

    const { dump, tables } = await dumpDatabase();
    for (const table of ['oidc_artifact', 'signing_key', 'server_secret', 'client_registration', 'app_user', 'audit_event']) expect(tables).toContain(table);
    for (const [name, value] of Object.entries(handedOut)) {
      expect(value.length, name).toBeGreaterThanOrEqual(8);
      expect(dump.includes(value), `${name} found in the database dump`).toBe(false);
    }
    // What is stored still works: ids come back from the lookup, the secret verifies against its hash.
    const stored = await suite.database.db.prisma.oidcArtifact.findUniqueOrThrow({ where: { model_key: { model: 'Client', key: artifactKey(conf.client_id) } } });
    expect(isHashedClientSecret((stored.payload as { client_secret?: string }).client_secret)).toBe(true);
    expect((await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: confRefreshed.body.refresh_token as string }, auth)).status).toBe(200);
    // The stored hash is not a secret that authenticates.
    const storedHash = (stored.payload as { client_secret: string }).client_secret;
    const wrongSecret = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }, { clientId: conf.client_id, clientSecret: storedHash });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
    const userinfo = await fetch(`${as.issuer}/me`, { headers: { authorization: `Bearer ${opaque}` } });
    expect(userinfo.status).toBe(200);
    expect(((await userinfo.json()) as { sub?: string }).sub).toBe(as.user.id);
    // The session cookie still signs the browser in (the Session is found by its id).
    const again = await authorizeAndApprove(as, pub.client_id, {}, browser);
    expect(again.code).toBeTruthy();
    expect(browser.trail.slice(-6).join(' ')).not.toContain('/login');
  });

  it('lets a client update its registration repeating its secret, and refuses a wrong one', async () => {
    const { as } = suite;
    const conf = await confidentialClient(as, { client_name: 'Updatable' });
    const update = (clientSecret: string) =>
      fetch(conf.registration_client_uri!, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${conf.registration_access_token}` },
        body: JSON.stringify({
          client_id: conf.client_id,
          client_secret: clientSecret,
          client_name: 'Updated',
          redirect_uris: [LOOPBACK_REDIRECT],
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        }),
      });
    const wrong = await update('not-the-secret');
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error?: string }).error).toBe('invalid_request');
    const right = await update(conf.client_secret!);
    expect(right.status).toBe(200);
    const body = (await right.json()) as Record<string, unknown>;
    expect(body.client_name).toBe('Updated');
    expect(body).not.toHaveProperty('client_secret');
    // The secret is unchanged and still works.
    const introspection = await fetch(`${as.issuer}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(conf.client_id, conf.client_secret!) },
      body: new URLSearchParams({ token: 'x' }),
    });
    expect(introspection.status).toBe(200);
  });
});

describe('rows stored by an older version', () => {
  let database: TestDatabase;
  afterAll(async () => {
    await database?.dispose();
  });

  it('are scrubbed: ids out of payloads, client secrets hashed, old interactions gone; lookups still work', async () => {
    database = await createTestDatabase();
    const { prisma } = database.db;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const rows = [
      { model: 'RefreshToken', id: 'legacy-refresh-token-value-0123456789abcdef', payload: { kind: 'RefreshToken', grantId: 'g1', clientId: 'c1', exp } },
      { model: 'Session', id: 'legacy-session-id-0123456789', payload: { kind: 'Session', uid: 'session-uid-1', accountId: 'a1', exp } },
      { model: 'Interaction', id: 'legacy-interaction-id-0123', payload: { kind: 'Interaction', returnTo: 'http://x/auth/legacy-interaction-id-0123', exp } },
      { model: 'Grant', id: 'legacy-grant-id', payload: { kind: 'Grant', accountId: 'a1', clientId: 'c1', exp } },
    ];
    for (const row of rows) {
      await prisma.oidcArtifact.create({ data: { model: row.model, key: artifactKey(row.id), payload: { ...row.payload, jti: row.id }, grantId: null, uid: (row.payload as { uid?: string }).uid ?? null } });
    }
    const secret = crypto.randomBytes(64).toString('base64url');
    await prisma.oidcArtifact.create({ data: { model: 'Client', key: artifactKey('legacy-client'), clientId: 'legacy-client', payload: { client_id: 'legacy-client', client_secret: secret, redirect_uris: ['https://a.example/cb'] } } });

    expect(await scrubStoredCredentials(prisma)).toBe(4);
    expect(await scrubStoredCredentials(prisma)).toBe(0);
    const dump = JSON.stringify(await prisma.oidcArtifact.findMany());
    for (const row of rows.filter((r) => r.model !== 'Grant')) expect(dump).not.toContain(row.id);
    expect(dump).not.toContain(secret);
    expect(dump).toContain('legacy-grant-id');

    const Adapter = oidcAdapterFactory(database.db);
    expect((await new Adapter('RefreshToken').find(rows[0]!.id))?.jti).toBe(rows[0]!.id);
    expect((await new Adapter('Session').find(rows[1]!.id))?.accountId).toBe('a1');
    expect((await new Adapter('Session').findByUid('session-uid-1'))?.accountId).toBe('a1');
    expect(await new Adapter('Interaction').find(rows[2]!.id)).toBeUndefined();
    expect((await new Adapter('Grant').find('legacy-grant-id'))?.jti).toBe('legacy-grant-id');
    const client = await new Adapter('Client').find('legacy-client');
    expect(client).not.toHaveProperty('jti');
    expect(verifyClientSecret(client?.client_secret as string, secret)).toBe(true);
  });
});

describe('client secret hashing', () => {
  it('hashes with a salt, verifies, and refuses anything else', () => {
    const secret = crypto.randomBytes(64).toString('base64url');
    const a = hashClientSecret(secret);
    const b = hashClientSecret(secret);
    expect(isHashedClientSecret(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(hashClientSecret(a)).toBe(a);
    expect(verifyClientSecret(a, secret)).toBe(true);
    expect(verifyClientSecret(b, secret)).toBe(true);
    expect(verifyClientSecret(a, `${secret}x`)).toBe(false);
    expect(verifyClientSecret(a, a)).toBe(false);
    expect(verifyClientSecret(a, '')).toBe(false);
    expect(verifyClientSecret(undefined, secret)).toBe(false);
    expect(verifyClientSecret('plain-static-secret', 'plain-static-secret')).toBe(true);
    expect(verifyClientSecret('plain-static-secret', 'plain-static-secreT')).toBe(false);
  });
});
