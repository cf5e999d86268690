import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import argon2 from 'argon2';
import { decodeJwt } from 'jose';
import { AccessTokenVerifier, InvalidTokenError } from '@mcp-gw/shared';
import { createTestDatabase, registerClient, tokenRequest, type RegisteredClient, type TestDatabase } from '@mcp-gw/testkit';
import { isGrantActive } from '@mcp-gw/db';
import { AccountService } from '../src/accounts.js';
import {
  authorizeAndApprove,
  Browser,
  csrfOf,
  decide,
  formActionOf,
  isConsentPage,
  isLoginPage,
  LOOPBACK_REDIRECT,
  publicClient,
  startAuthorization,
  startSuite,
  submitLogin,
  tokensFor,
  type Step,
  type Suite,
} from './helpers.js';

// What an attacker tries against the authorization server, and the exact protocol answer to each.
// Covered elsewhere, not repeated here: PKCE verifier mismatch and plain/absent challenges
// (authorization.test.ts), redirect URI path/query/host/scheme mismatches on loopback
// (authorization.test.ts), `iss` in success and error authorization responses (authorization.test.ts,
// pages.test.ts), CSRF on the login and consent forms (pages.test.ts), the registration rate limit
// (registration.test.ts), oversized /reg bodies and wrong content types on /token, /reg,
// /token/introspection and /token/revocation, duplicate /token parameters (api-errors.test.ts),
// refresh token reuse (full-flow.test.ts, refresh-grace.test.ts).

const CLAUDE_CALLBACK = 'https://claude.ai/api/mcp/auth_callback';
const RESOURCE_B = 'http://127.0.0.1:3997/second-mcp';

function expectNoRedirect(step: Step, label: string): Extract<Step, { kind: 'page' }> {
  expect(step.kind, `${label}: redirected to ${step.kind === 'redirect' ? step.location : ''}`).toBe('page');
  if (step.kind !== 'page') throw new Error('unreachable');
  expect(step.headers.get('location'), label).toBeNull();
  return step;
}

describe('attacks on the authorization server', () => {
  let suite: Suite;
  let client: RegisteredClient;
  let web: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite({ EXTRA_RESOURCE_URLS: RESOURCE_B });
    client = await publicClient(suite.as, { client_name: 'Attack target' });
    web = await registerClient(suite.as.issuer, { client_name: 'Claude', redirect_uris: [CLAUDE_CALLBACK], token_endpoint_auth_method: 'none' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('code replay: the second redemption is invalid_grant and revokes what the first one issued', async () => {
    const { code, verifier } = await authorizeAndApprove(suite.as, client.client_id);
    const params = { grant_type: 'authorization_code', code, redirect_uri: LOOPBACK_REDIRECT, client_id: client.client_id, code_verifier: verifier };
    const first = await tokenRequest(suite.as.issuer, params);
    expect(first.status).toBe(200);
    const grantId = decodeJwt(first.body.access_token as string).gid as string;
    const replay = await tokenRequest(suite.as.issuer, params);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(replay.body.access_token).toBeUndefined();
    // The tokens of the first redemption are dead: the grant is gone, its refresh token refused.
    expect(await isGrantActive(suite.database.db.prisma, grantId)).toBe(false);
    const refreshed = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string, client_id: client.client_id });
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error).toBe('invalid_grant');
  });

  describe('open redirect through redirect_uri', () => {
    const attempts: [string, string][] = [
      ['an extra path segment', `${CLAUDE_CALLBACK}/extra`],
      ['a dot-segment escape', `${CLAUDE_CALLBACK}/../../../evil`],
      ['an extra query', `${CLAUDE_CALLBACK}?next=https://evil.example/`],
      ['a port on a non-loopback host', 'https://claude.ai:8443/api/mcp/auth_callback'],
      ['the default port spelled out', 'https://claude.ai:443/api/mcp/auth_callback'],
      ['http instead of https', 'http://claude.ai/api/mcp/auth_callback'],
      ['a private-use scheme', 'claude://claude.ai/api/mcp/auth_callback'],
      ['javascript:', 'javascript:alert(document.domain)//https://claude.ai/api/mcp/auth_callback'],
      ['data:', 'data:text/html,<script>alert(1)</script>'],
      ['an IDN lookalike host (Cyrillic а)', 'https://cl\u0430ude.ai/api/mcp/auth_callback'],
      ['the punycode of that lookalike', `https://${new URL('https://cl\u0430ude.ai').hostname}/api/mcp/auth_callback`],
      ['userinfo before another host', 'https://claude.ai@evil.example/api/mcp/auth_callback'],
      ['userinfo with a password', 'https://claude.ai:x@evil.example/api/mcp/auth_callback'],
      ['a backslash authority trick', 'https://evil.example\\@claude.ai/api/mcp/auth_callback'],
      ['a fragment trick', 'https://evil.example#@claude.ai/api/mcp/auth_callback'],
      ['a subdomain of the attacker', 'https://claude.ai.evil.example/api/mcp/auth_callback'],
      ['a trailing dot host', 'https://claude.ai./api/mcp/auth_callback'],
      ['an upper-case host', 'https://CLAUDE.AI/api/mcp/auth_callback'],
      ['a percent-encoded path', 'https://claude.ai/api/mcp/auth%5Fcallback'],
      ['a protocol-relative URI', '//evil.example/api/mcp/auth_callback'],
    ];
    it.each(attempts)('refuses %s with an error page (invalid_redirect_uri), never a redirect', async (label, redirectUri) => {
      const { step } = await startAuthorization(suite.as, web.client_id, { redirect_uri: redirectUri, resource: undefined });
      const page = expectNoRedirect(step, label);
      expect(page.status).toBe(400);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.html).toContain('invalid_redirect_uri');
      expect(page.html).not.toContain('evil.example/api');
    });

    it.each([
      ['userinfo on the loopback client', 'http://127.0.0.1:49152@evil.example/callback'],
      ['a loopback-looking host name', 'http://127.0.0.1.evil.example:49152/callback'],
      ['localhost as a subdomain', 'http://localhost.evil.example/callback'],
    ])('refuses %s for a native client too', async (label, redirectUri) => {
      const { step } = await startAuthorization(suite.as, client.client_id, { redirect_uri: redirectUri });
      const page = expectNoRedirect(step, label);
      expect(page.status).toBe(400);
      expect(page.html).toContain('invalid_redirect_uri');
    });

    it('still sends the browser to the registered URI, exactly', async () => {
      const { location } = await authorizeAndApprove(suite.as, web.client_id, { redirect_uri: CLAUDE_CALLBACK });
      expect(`${location.origin}${location.pathname}`).toBe(CLAUDE_CALLBACK);
      expect(location.searchParams.get('iss')).toBe(suite.as.issuer);
    });
  });

  it('scope escalation at refresh: asking for a scope that was not granted is invalid_scope', async () => {
    const tokens = await tokensFor(suite.as, client, { scope: 'tickets:read' });
    for (const scope of ['tickets:read tickets:write', 'tickets:write', 'admin', 'tickets:read openid offline_access']) {
      const escalated = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id, scope });
      expect({ scope, status: escalated.status, error: escalated.body.error }).toEqual({ scope, status: 400, error: 'invalid_scope' });
      expect(escalated.body.access_token).toBeUndefined();
    }
    // Narrowing to what was granted is fine.
    const same = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id, scope: 'tickets:read' });
    expect(same.status).toBe(200);
    expect(decodeJwt(same.body.access_token as string).scope).toBe('tickets:read');
  });

  it('a token for resource A is refused by resource B (and the other way round)', async () => {
    const resourceA = suite.as.config.MCP_RESOURCE_URL;
    const forA = await tokensFor(suite.as, client, { scope: 'tickets:read', resource: resourceA });
    const forB = await tokensFor(suite.as, client, { scope: 'tickets:read', resource: RESOURCE_B });
    const verifierA = new AccessTokenVerifier({ issuer: suite.as.issuer, audience: resourceA });
    const verifierB = new AccessTokenVerifier({ issuer: suite.as.issuer, audience: RESOURCE_B });
    expect((await verifierA.verify(forA.access_token as string)).clientId).toBe(client.client_id);
    expect((await verifierB.verify(forB.access_token as string)).clientId).toBe(client.client_id);
    await expect(verifierB.verify(forA.access_token as string)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(verifierA.verify(forB.access_token as string)).rejects.toBeInstanceOf(InvalidTokenError);
    // Nor can a's refresh token be turned into a token for B.
    const crossed = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: forA.refresh_token as string, client_id: client.client_id, resource: RESOURCE_B });
    expect(crossed.status).toBe(400);
    expect(crossed.body.error).toBe('invalid_target');
  });

  describe('hostile bodies and parameters', () => {
    const reg = () => `${suite.as.issuer}/reg`;
    const postRaw = (url: string, contentType: string, body: string | Buffer) =>
      fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: body as BodyInit });
    const jsonOf = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> });

    it('refuses deeply nested JSON at /reg with invalid_client_metadata, never a 500', async () => {
      const deep = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
      const bodies = [
        `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none","x":${deep(5000)}}`,
        `{"redirect_uris":${deep(3000, '"https://app.example/cb"')}}`,
        `{"redirect_uris":["https://app.example/cb"],"client_name":${deep(3000, '"n"')}}`,
        `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none","contacts":[${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}]}`,
      ];
      for (const body of bodies) {
        const { status, body: answer } = await jsonOf(await postRaw(reg(), 'application/json', body));
        expect({ status, error: answer.error }).toEqual({ status: 400, error: expect.stringMatching(/^invalid_(client_metadata|redirect_uri)$/) });
      }
      // Too deep and too large together: the size limit answers first.
      const { status, body: answer } = await jsonOf(await postRaw(reg(), 'application/json', `{"x":${deep(40_000)}}`));
      expect({ status, error: answer.error }).toEqual({ status: 413, error: 'invalid_client_metadata' });
    });

    it('refuses invalid UTF-8 in a /reg body with invalid_client_metadata', async () => {
      const body = Buffer.concat([Buffer.from('{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none","client_name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
      const { status, body: answer } = await jsonOf(await postRaw(reg(), 'application/json', body));
      expect({ status, error: answer.error }).toEqual({ status: 400, error: 'invalid_client_metadata' });
    });

    it('answers invalid UTF-8 in a /token body as an unknown token (invalid_grant), not a 500', async () => {
      const body = Buffer.concat([Buffer.from(`grant_type=refresh_token&client_id=${client.client_id}&refresh_token=`), Buffer.from([0xff, 0xfe, 0xc3, 0x28])]);
      const { status, body: answer } = await jsonOf(await postRaw(`${suite.as.issuer}/token`, 'application/x-www-form-urlencoded', body));
      expect({ status, error: answer.error }).toEqual({ status: 400, error: 'invalid_grant' });
    });

    it('reads a /token body declared in an unknown charset as UTF-8: an unknown token is invalid_grant, not a 500', async () => {
      const { status, body: answer } = await jsonOf(
        await postRaw(`${suite.as.issuer}/token`, 'application/x-www-form-urlencoded; charset=no-such-charset', `grant_type=refresh_token&refresh_token=x&client_id=${client.client_id}`),
      );
      expect({ status, error: answer.error }).toEqual({ status: 400, error: 'invalid_grant' });
    });

    it('answers invalid UTF-8 in the /auth query with an error page, never a redirect', async () => {
      for (const query of [`client_id=%FF%FE&response_type=code&redirect_uri=${encodeURIComponent(LOOPBACK_REDIRECT)}`, `client_id=${client.client_id}&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback%FF`]) {
        const step = await new Browser(suite.as.issuer).go(`/auth?${query}`);
        const page = expectNoRedirect(step, query);
        expect(page.status).toBe(400);
        expect(page.html).toMatch(/invalid_client|invalid_redirect_uri/);
      }
      const interaction = await fetch(`${suite.as.issuer}/interaction/%FF%FE`, { redirect: 'manual' });
      expect(interaction.status).toBe(400);
      expect(interaction.headers.get('location')).toBeNull();
    });

    it.each([
      ['client_id', 'an error page', 400],
      ['response_type', 'an error sent to the client', 303],
      ['code_challenge', 'an error sent to the client', 303],
      ['state', 'an error sent to the client', 303],
      ['scope', 'an error sent to the client', 303],
    ] as const)('refuses a duplicate %s at /auth with invalid_request (%s)', async (param, _how, status) => {
      const base = new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: LOOPBACK_REDIRECT,
        state: 'st',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        scope: 'tickets:read',
      });
      base.append(param, param === 'client_id' ? 'other-client' : base.get(param)!);
      const response = await fetch(`${suite.as.issuer}/auth?${base}`, { redirect: 'manual' });
      expect(response.status).toBe(status);
      if (status === 400) {
        expect(response.headers.get('location')).toBeNull();
        expect(await response.text()).toContain('invalid_request');
      } else {
        const location = new URL(response.headers.get('location')!);
        expect(`${location.origin}${location.pathname}`).toBe(LOOPBACK_REDIRECT);
        expect(location.searchParams.get('error')).toBe('invalid_request');
        expect(location.searchParams.get('iss')).toBe(suite.as.issuer);
        expect(location.searchParams.get('code')).toBeNull();
      }
    });

    it.each([
      ['after', [LOOPBACK_REDIRECT, 'https://evil.example/cb']],
      ['before', ['https://evil.example/cb', LOOPBACK_REDIRECT]],
    ])('refuses a duplicate redirect_uri (attacker URI %s the registered one) with invalid_request, at the registered URI only', async (_order, uris) => {
      const query = new URLSearchParams({ response_type: 'code', client_id: client.client_id, state: 'st', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
      for (const uri of uris) query.append('redirect_uri', uri);
      const response = await fetch(`${suite.as.issuer}/auth?${query}`, { redirect: 'manual' });
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(LOOPBACK_REDIRECT);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('iss')).toBe(suite.as.issuer);
      expect(location.searchParams.get('code')).toBeNull();
    });
  });

  describe('clickjacking', () => {
    it('forbids framing on every page and API answer', async () => {
      const loginPage = await startAuthorization(suite.as, client.client_id);
      expect(isLoginPage(loginPage.step)).toBe(true);
      const paths = ['/', '/account', '/admin', '/auth?client_id=nope', '/interaction/nope', '/no-such-page', '/assets/app.css', '/.well-known/openid-configuration', '/jwks', '/token'];
      const answers = await Promise.all(paths.map(async (path) => ({ path, response: await fetch(`${suite.as.issuer}${path}`, { redirect: 'manual' }) })));
      const pageHeaders = loginPage.step.kind === 'page' ? loginPage.step.headers : new Headers();
      for (const { path, headers } of [{ path: 'login page', headers: pageHeaders }, ...answers.map((a) => ({ path: a.path, headers: a.response.headers }))]) {
        expect(headers.get('content-security-policy') ?? '', path).toMatch(/(^|;)\s*frame-ancestors 'none'/);
        expect(headers.get('x-frame-options'), path).toBe('DENY');
      }
    });
  });

  describe('login', () => {
    it('gives the browser a new session id at sign-in (no session fixation); the old id signs nobody in', async () => {
      const browser = new Browser(suite.as.issuer);
      await authorizeAndApprove(suite.as, client.client_id, {}, browser);
      const before = browser.jar.get('_session');
      const beforeSig = browser.jar.get('_session.sig');
      expect(before).toBeTruthy();
      expect(beforeSig).toBeTruthy();
      // Signing in again (prompt=login) over the existing session cookie.
      const { step } = await startAuthorization(suite.as, client.client_id, { prompt: 'login' }, browser);
      expect(isLoginPage(step)).toBe(true);
      const after = await submitLogin(browser, step, suite.as.user.email, suite.as.user.password);
      // The consent page follows the sign-in in the same interaction: nobody is signed in to any session
      // until it is answered; the old session id is still the browser's, and signs in nobody new.
      expect(isConsentPage(after)).toBe(true);
      expect(browser.jar.get('_session')).toBe(before);
      const done = await decide(browser, after, 'approve');
      expect(done.kind).toBe('redirect');
      const renewed = browser.jar.get('_session');
      expect(renewed).toBeTruthy();
      expect(renewed).not.toBe(before);
      // A browser that kept the old (validly signed) cookie, planted or copied, is signed in as nobody.
      const stale = new Browser(suite.as.issuer);
      stale.jar.store(new Response(null, { headers: [['set-cookie', `_session=${before}; path=/`], ['set-cookie', `_session.sig=${beforeSig}; path=/`]] }));
      const { step: staleStep } = await startAuthorization(suite.as, client.client_id, {}, stale);
      expect(isLoginPage(staleStep)).toBe(true);
      expect(await suite.database.db.prisma.oidcArtifact.count({ where: { model: 'Session', accountId: suite.as.user.id } })).toBeGreaterThan(0);
    });

    it('runs argon2 for an unknown email as for a wrong password (same work, same answer)', async () => {
      const spy = vi.spyOn(argon2, 'verify');
      try {
        const attempt = async (email: string, password: string) => {
          const browser = new Browser(suite.as.issuer);
          const { step } = await startAuthorization(suite.as, client.client_id, {}, browser);
          const page = await submitLogin(browser, step, email, password);
          return page.kind === 'page' ? page.status : 0;
        };
        spy.mockClear();
        expect(await attempt('nobody-at-all@example.com', 'some-password-1')).toBe(401);
        expect(spy).toHaveBeenCalledTimes(1);
        expect(spy.mock.calls[0]![1]).toBe('some-password-1');
        const unknownHash = String(spy.mock.calls[0]![0]);
        spy.mockClear();
        const bob = await suite.as.createUser('bob-attack@example.com');
        expect(await attempt(bob.email, 'some-password-2')).toBe(401);
        expect(spy).toHaveBeenCalledTimes(1);
        const wrongHash = String(spy.mock.calls[0]![0]);
        // The same algorithm and cost parameters: both failures pay for one full argon2id verification.
        expect(unknownHash).toMatch(/^\$argon2id\$v=19\$/);
        expect(unknownHash.split('$').slice(0, 4)).toEqual(wrongHash.split('$').slice(0, 4));
      } finally {
        spy.mockRestore();
      }
    });
  });
});

describe('login backoff per address', () => {
  let suite: Suite;
  let client: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite({ LOGIN_FAILURES_BEFORE_BACKOFF: '1' });
    client = await publicClient(suite.as, { client_name: 'Backoff target' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('throttles an address that fails on many accounts, even for a right password', async () => {
    const attempt = async (email: string, password: string) => {
      const browser = new Browser(suite.as.issuer);
      const { step } = await startAuthorization(suite.as, client.client_id, {}, browser);
      if (step.kind !== 'page') throw new Error('expected the login page');
      const response = await browser.request(formActionOf(step.html), { form: { csrf: csrfOf(step.html), email, password } });
      return { status: response.status, retryAfter: response.headers.get('retry-after') };
    };
    // Per address: LOGIN_FAILURES_BEFORE_BACKOFF × 5 failures, each on a different account.
    for (let i = 0; i < 5; i++) expect((await attempt(`spray-${i}@example.com`, 'guess-123')).status).toBe(401);
    const blocked = await attempt(suite.as.user.email, suite.as.user.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
  });
});

describe('account service', () => {
  let database: TestDatabase;
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await database?.dispose();
  });

  it('verifies against a dummy argon2id hash when the email is unknown', async () => {
    database = await createTestDatabase();
    const accounts = new AccountService(database.db);
    await accounts.create({ email: 'carol@example.com', password: 'carol-password', name: 'Carol' });
    const spy = vi.spyOn(argon2, 'verify');
    expect(await accounts.authenticate('unknown@example.com', 'carol-password')).toBeUndefined();
    expect(await accounts.authenticate('carol@example.com', 'not-carols')).toBeUndefined();
    expect(await accounts.authenticate('CAROL@example.com ', 'carol-password')).toMatchObject({ email: 'carol@example.com' });
    expect(spy).toHaveBeenCalledTimes(3);
    const [unknownHash, wrongHash] = spy.mock.calls.map((c) => String(c[0]));
    // Same algorithm and cost for both, so both failures take argon2 time.
    expect(unknownHash!.split('$').slice(0, 4)).toEqual(wrongHash!.split('$').slice(0, 4));
  });
});
