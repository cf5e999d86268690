import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@mcp-gw/shared';
import { createTestDatabase, freePort, tokenRequest, type TestDatabase } from '@mcp-gw/testkit';
import { startAuthServer, type RunningAuthServer } from '../src/app.js';
import { loadAuthServerConfig } from '../src/config.js';
import type { TestAuthServer } from '../src/testing.js';
import { authorizeAndApprove, basic, Browser, confidentialClient, LOOPBACK_REDIRECT, postForm, startAuthorization, submitLogin } from './helpers.js';

// The server's own logger (createLogger, with its redaction), its output captured in memory.
describe('structured logs', () => {
  let database: TestDatabase;
  let running: RunningAuthServer;
  let as: TestAuthServer;
  const lines: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    const config = loadAuthServerConfig({
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: `http://127.0.0.1:${port}`,
      MCP_RESOURCE_URL: 'http://127.0.0.1:3999/mcp',
      KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
      LOG_LEVEL: 'trace',
    });
    // Every line exactly as it would be written, kept here instead of going to stdout.
    const logger = createLogger('auth-server', 'trace', {
      hooks: {
        streamWrite: (line: string) => {
          lines.push(line);
          return '';
        },
      },
    });
    running = await startAuthServer({ config, db: database.db, logger });
    const password = 'Correct-Horse-Battery-9';
    const user = await running.accounts.create({ email: 'logged@example.com', password, name: 'Logged' });
    as = { running, config, issuer: config.ISSUER, user: { id: user.id, email: user.email, password } } as unknown as TestAuthServer;
  });
  afterAll(async () => {
    await running?.close();
    await database?.dispose();
  });

  it('never contains a token, a code, a secret or a password', async () => {
    const secrets: string[] = [as.user.password];
    const client = await confidentialClient(as, { client_name: 'Logged client' });
    secrets.push(client.client_secret!, client.registration_access_token!);
    const auth = { clientId: client.client_id, clientSecret: client.client_secret! };

    // A failed login first: the wrong password must not show up either.
    const browser = new Browser(as.issuer);
    const { step } = await startAuthorization(as, client.client_id, {}, browser);
    await submitLogin(browser, step, as.user.email, 'Wrong-Password-For-Logs');
    secrets.push('Wrong-Password-For-Logs');

    const { code, verifier } = await authorizeAndApprove(as, client.client_id, {}, browser);
    secrets.push(code, verifier);
    const exchange = await tokenRequest(as.issuer, { grant_type: 'authorization_code', code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: verifier }, auth);
    expect(exchange.status).toBe(200);
    secrets.push(exchange.body.access_token as string, exchange.body.refresh_token as string);

    const refreshed = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: exchange.body.refresh_token as string }, auth);
    expect(refreshed.status).toBe(200);
    secrets.push(refreshed.body.access_token as string, refreshed.body.refresh_token as string);

    const introspected = await postForm(`${as.issuer}/token/introspection`, { token: refreshed.body.access_token as string }, {
      authorization: basic(auth.clientId, auth.clientSecret),
    });
    expect(introspected.status).toBe(200);
    const revoked = await postForm(`${as.issuer}/token/revocation`, { token: refreshed.body.refresh_token as string }, {
      authorization: basic(auth.clientId, auth.clientSecret),
    });
    expect(revoked.status).toBe(200);
    // Replaying the code is an error (and revokes the grant): error paths log too.
    const replay = await tokenRequest(as.issuer, { grant_type: 'authorization_code', code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: verifier }, auth);
    expect(replay.body.error).toBe('invalid_grant');
    // A token in a query string, where it must never be: the path is logged, not the query.
    await fetch(`${as.issuer}/me?access_token=${encodeURIComponent(refreshed.body.access_token as string)}`);

    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    expect(text).toContain('"path":"/token"');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(text.includes(secret), `a secret (${secret.slice(0, 6)}…) appears in the logs`).toBe(false);
    }
    // Nor pieces of the JWTs (their payload part alone identifies the token).
    for (const jwt of [exchange.body.access_token, refreshed.body.access_token] as string[]) {
      expect(text).not.toContain(jwt.split('.')[1]!);
      expect(text).not.toContain(jwt.split('.')[2]!);
    }
  });
});
