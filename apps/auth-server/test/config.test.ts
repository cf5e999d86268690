import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createLogger } from '@mcp-gw/shared';
import { createTestDatabase, freePort, type TestDatabase } from '@mcp-gw/testkit';
import { startAuthServer, type RunningAuthServer } from '../src/app.js';
import { loadAuthServerConfig } from '../src/config.js';
import type { TestAuthServer } from '../src/testing.js';
import { authorizeAndApprove, Browser, publicClient, startSuite, type Suite } from './helpers.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

function configError(env: Record<string, string>): ConfigError {
  try {
    loadAuthServerConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe('configuration', () => {
  it('loads with defaults from an empty environment', () => {
    const config = loadAuthServerConfig({});
    expect(config.PORT).toBe(4000);
    expect(config.ISSUER).toBe('http://localhost:4000');
    expect(config.TRUST_PROXY).toBe(false);
  });

  it('takes an issuer with a path, and refuses one whose path begins with a route of its own', () => {
    expect(loadAuthServerConfig({ ISSUER: 'https://example.com/oauth/' }).ISSUER).toBe('https://example.com/oauth');
    expect(loadAuthServerConfig({ ISSUER: 'https://example.com/realms/company' }).ISSUER).toBe('https://example.com/realms/company');
    for (const issuer of ['https://example.com/admin', 'https://example.com/token/x', 'https://example.com/interaction', 'https://example.com/.well-known']) {
      expect(configError({ ISSUER: issuer }).message, issuer).toMatch(/ISSUER.*route of the authorization server/);
    }
  });

  it('names PORT when it is not a number', () => {
    expect(configError({ PORT: 'abc' }).message).toMatch(/\bPORT\b/);
    expect(configError({ PORT: '70000' }).message).toMatch(/\bPORT\b/);
  });

  it('names KEY_ENCRYPTION_KEY when production runs without it', () => {
    const message = configError({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com' }).message;
    expect(message).toMatch(/\bKEY_ENCRYPTION_KEY\b/);
    expect(message).not.toMatch(/\bISSUER\b/);
    expect(() => loadAuthServerConfig({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com', KEY_ENCRYPTION_KEY: KEY })).not.toThrow();
    expect(configError({ KEY_ENCRYPTION_KEY: 'c2hvcnQ=' }).message).toMatch(/\bKEY_ENCRYPTION_KEY\b/);
  });

  it.each(['not a url', 'ftp://auth.example.com', 'https://auth.example.com/?x=1', 'https://auth.example.com/#frag'])('names ISSUER for %s', (issuer) => {
    expect(configError({ ISSUER: issuer }).message).toMatch(/\bISSUER\b/);
  });

  it('names ISSUER when production uses http', () => {
    expect(configError({ NODE_ENV: 'production', ISSUER: 'http://auth.example.com', KEY_ENCRYPTION_KEY: KEY }).message).toMatch(/\bISSUER\b/);
  });

  it('names DPOP_NONCE_SECRET when replicas (Redis) would each make their own DPoP nonces, or it is short', () => {
    expect(configError({ DPOP_NONCE: 'required', REDIS_URL: 'redis://127.0.0.1:6379' }).message).toMatch(/\bDPOP_NONCE_SECRET\b/);
    expect(configError({ DPOP_NONCE: 'required', DPOP_NONCE_SECRET: 'short' }).message).toMatch(/\bDPOP_NONCE_SECRET\b/);
    expect(configError({ DPOP_NONCE: 'yes' }).message).toMatch(/\bDPOP_NONCE\b/);
    expect(loadAuthServerConfig({ DPOP_NONCE: 'required', REDIS_URL: 'redis://127.0.0.1:6379', DPOP_NONCE_SECRET: 'x'.repeat(32) }).DPOP_NONCE).toBe('required');
  });

  it('drops a trailing slash from ISSUER (clients compare it exactly)', () => {
    expect(loadAuthServerConfig({ ISSUER: 'https://auth.example.com/' }).ISSUER).toBe('https://auth.example.com');
  });
});

describe('demo user', () => {
  let database: TestDatabase;
  let running: RunningAuthServer;
  let issuer: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    const config = loadAuthServerConfig({
      NODE_ENV: 'test',
      PORT: String(port),
      ISSUER: issuer,
      MCP_RESOURCE_URL: 'http://127.0.0.1:3999/mcp',
      KEY_ENCRYPTION_KEY: KEY,
      LOG_LEVEL: 'silent',
    });
    running = await startAuthServer({ config, db: database.db, logger: createLogger('auth-server', 'silent') });
  });
  afterAll(async () => {
    await running?.close();
    await database?.dispose();
  });

  it('uses the given password, creates only when there is no user, and returns a generated password once', async () => {
    const users = database.db.prisma.user;
    expect(await users.count()).toBe(0);

    const given = await running.accounts.ensureDemoUser('demo@example.com', 'given-password-1');
    expect(given?.user.email).toBe('demo@example.com');
    expect(given?.generatedPassword).toBeUndefined();
    expect((await running.accounts.authenticate('demo@example.com', 'given-password-1'))?.id).toBe(given!.user.id);
    const stored = await users.findUniqueOrThrow({ where: { email: 'demo@example.com' } });
    expect(stored.passwordHash).not.toContain('given-password-1');

    // There is a user now: nothing is created, nothing is returned.
    expect(await running.accounts.ensureDemoUser('other@example.com')).toBeUndefined();
    expect(await users.count()).toBe(1);

    await users.deleteMany();
    const generated = await running.accounts.ensureDemoUser();
    expect(generated?.user.email).toBe('demo@example.com');
    expect(generated?.generatedPassword).toEqual(expect.any(String));
    expect(generated!.generatedPassword!.length).toBeGreaterThanOrEqual(12);
    expect(await running.accounts.ensureDemoUser()).toBeUndefined();

    // The generated password signs in through the real login page.
    const as = {
      running,
      config: loadAuthServerConfig({ ISSUER: issuer, MCP_RESOURCE_URL: 'http://127.0.0.1:3999/mcp' }),
      issuer,
      user: { id: generated!.user.id, email: 'demo@example.com', password: generated!.generatedPassword! },
    } as unknown as TestAuthServer;
    const client = await publicClient(as);
    const { location } = await authorizeAndApprove(as, client.client_id);
    expect(location.searchParams.get('code')).toBeTruthy();
  });
});

describe('behind a TLS-terminating proxy', () => {
  let suite: Suite;
  const publicIssuer = 'https://auth.example.test';
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'auth.example.test' };

  beforeAll(async () => {
    suite = await startSuite({ TRUST_PROXY: 'true', ISSUER: publicIssuer });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('publishes https URLs in the metadata', async () => {
    const response = await fetch(`${suite.as.running.url}/.well-known/oauth-authorization-server`, { headers: forwarded });
    expect(response.status).toBe(200);
    const metadata = (await response.json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe(publicIssuer);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint']) {
      expect(metadata[key]).toEqual(expect.stringMatching(/^https:\/\/auth\.example\.test\//));
    }
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('sets Secure cookies on the authorization and interaction steps', async () => {
    const client = await publicClient({ ...suite.as, issuer: suite.as.running.url } as TestAuthServer);
    const browser = new Browser(suite.as.running.url);
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: client.redirect_uris[0]!,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'st',
      scope: 'tickets:read',
    });
    const auth = await browser.request(`/auth?${params}`, { headers: forwarded });
    expect(auth.status).toBe(303);
    const authCookies = auth.headers.getSetCookie();
    expect(authCookies.length).toBeGreaterThan(0);
    for (const cookie of authCookies) expect(cookie).toMatch(/;\s*secure/i);
    expect(auth.headers.get('location')).toMatch(/\/interaction\//);

    const page = await browser.request(new URL(auth.headers.get('location')!, suite.as.running.url), { headers: forwarded });
    expect(page.status).toBe(200);
    const pageCookies = page.headers.getSetCookie();
    expect(pageCookies.some((c) => c.startsWith('mcpgw_csrf='))).toBe(true);
    for (const cookie of pageCookies) expect(cookie).toMatch(/;\s*secure/i);
  });
});
