import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { describeScope, parseScope } from '@mcp-gw/shared';
import { tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import { escapeHtml } from '../src/views/html.js';
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
  type Step,
  type Suite,
} from './helpers.js';

type Page = Extract<Step, { kind: 'page' }>;

function asPage(step: Step): Page {
  if (step.kind !== 'page') throw new Error(`expected a page, got a redirect to ${step.location}`);
  return step;
}

/** Every URL the page makes the browser load or link to: src, href, action, formaction. */
function referencedUrls(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href|action|formaction)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1]!);
}

function expectHardenedPage(page: Page, issuer: string): void {
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toMatch(/(^|;)\s*default-src 'none'/);
  expect(csp).toMatch(/(^|;)\s*frame-ancestors 'none'/);
  expect(csp).not.toContain("'unsafe-inline'");
  expect(csp).not.toContain("'unsafe-eval'");
  expect(page.headers.get('x-frame-options') ?? csp).toBeTruthy();
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('access-control-allow-origin')).toBeNull();
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.html).toMatch(/<meta name="viewport" content="width=device-width, initial-scale=1">/);
  // No external assets: every reference is relative to, or on, the page's own origin.
  for (const url of referencedUrls(page.html)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('//')) expect(new URL(url).origin).toBe(new URL(issuer).origin);
  }
  expect(page.html).not.toMatch(/<script/i);
  expect(page.html).not.toMatch(/\sstyle=/i);
}

describe('login and consent pages', () => {
  let suite: Suite;
  let client: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite();
    client = await publicClient(suite.as, { client_name: 'Ticket Assistant' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  const grantsOf = (clientId: string) => suite.database.db.prisma.oidcArtifact.count({ where: { model: 'Grant', clientId } });

  it('serves a hardened, self-contained login page', async () => {
    const origin = 'https://elsewhere.example';
    const { step } = await startAuthorization(suite.as, client.client_id, {}, new Browser(suite.as.issuer));
    expect(isLoginPage(step)).toBe(true);
    const page = asPage(step);
    expect(page.status).toBe(200);
    expect(page.url.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    expectHardenedPage(page, suite.as.issuer);
    expect(page.headers.get('cache-control')).toContain('no-store');
    expect(page.html).toContain('Ticket Assistant');

    // A cross-origin request to the same page gets no CORS grant either.
    const browser = new Browser(suite.as.issuer);
    const again = await startAuthorization(suite.as, client.client_id, {}, browser);
    const cross = await browser.request(asPage(again.step).url, { headers: { origin } });
    expect(cross.status).toBe(200);
    expect(cross.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await browser.request(asPage(again.step).url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves a consent page naming the client, the redirect host, the resource and each scope', async () => {
    const browser = new Browser(suite.as.issuer);
    const { step } = await startAuthorization(suite.as, client.client_id, { scope: 'tickets:read tickets:write' }, browser);
    const consent = asPage(await submitLogin(browser, step, suite.as.user.email, suite.as.user.password));
    expect(isConsentPage(consent)).toBe(true);
    expect(consent.status).toBe(200);
    expectHardenedPage(consent, suite.as.issuer);
    expect(consent.html).toContain('Ticket Assistant');
    expect(consent.html).toContain(new URL(LOOPBACK_REDIRECT).host);
    expect(consent.html).toContain(suite.as.config.MCP_RESOURCE_URL);
    expect(consent.html).toContain(suite.as.user.email);
    for (const scope of ['tickets:read', 'tickets:write']) {
      expect(describeScope(scope)).not.toBe(scope);
      expect(consent.html).toContain(escapeHtml(describeScope(scope)));
    }
  });

  it('escapes a hostile client name', async () => {
    const hostile = await publicClient(suite.as, { client_name: '<img src=x onerror=alert(1)>"Evil' });
    const browser = new Browser(suite.as.issuer);
    const { step } = await startAuthorization(suite.as, hostile.client_id, {}, browser);
    expect(asPage(step).html).not.toContain('<img src=x');
    const consent = asPage(await submitLogin(browser, step, suite.as.user.email, suite.as.user.password));
    expect(consent.html).not.toContain('<img src=x');
    expect(consent.html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;Evil');
  });

  it('sends Deny back to the client as access_denied, with state and iss', async () => {
    const browser = new Browser(suite.as.issuer);
    const { step, state } = await startAuthorization(suite.as, client.client_id, {}, browser);
    const consent = await submitLogin(browser, step, suite.as.user.email, suite.as.user.password);
    const denied = await decide(browser, consent, 'deny');
    expect(denied.kind).toBe('redirect');
    if (denied.kind !== 'redirect') return;
    expect(denied.location.origin + denied.location.pathname).toBe(LOOPBACK_REDIRECT);
    expect(denied.location.searchParams.get('error')).toBe('access_denied');
    expect(denied.location.searchParams.get('state')).toBe(state);
    expect(denied.location.searchParams.get('iss')).toBe(suite.as.issuer);
    expect(denied.location.searchParams.get('code')).toBeNull();
  });

  describe('CSRF', () => {
    it.each([
      ['without the csrf field', undefined],
      ['with a wrong csrf value', 'A'.repeat(32)],
    ])('refuses a login POST %s with 403 and signs nobody in', async (_label, csrf) => {
      const browser = new Browser(suite.as.issuer);
      const { step } = await startAuthorization(suite.as, client.client_id, {}, browser);
      const page = asPage(step);
      const form: Record<string, string> = { email: suite.as.user.email, password: suite.as.user.password };
      if (csrf) form.csrf = csrf;
      const refused = await browser.request(formActionOf(page.html), { form });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('location')).toBeNull();
      // The interaction is still at the login step.
      expect(isLoginPage(await browser.go(page.url))).toBe(true);
    });

    it.each([
      ['without the csrf field', undefined],
      ['with a wrong csrf value', 'B'.repeat(32)],
    ])('refuses a consent POST %s with 403 and grants nothing', async (_label, csrf) => {
      const own = await publicClient(suite.as, { client_name: 'CSRF target' });
      const browser = new Browser(suite.as.issuer);
      const { step } = await startAuthorization(suite.as, own.client_id, {}, browser);
      const consent = asPage(await submitLogin(browser, step, suite.as.user.email, suite.as.user.password));
      expect(isConsentPage(consent)).toBe(true);
      const form: Record<string, string> = { decision: 'approve' };
      if (csrf) form.csrf = csrf;
      const refused = await browser.request(formActionOf(consent.html), { form });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('location')).toBeNull();
      expect(await grantsOf(own.client_id)).toBe(0);
      expect(isConsentPage(await browser.go(consent.url))).toBe(true);
    });

    it.each([
      ['decision=deny', { decision: 'deny' }],
      ['no decision at all', {}],
      ['an unknown decision', { decision: 'yes' }],
    ])('treats a POST to the approve action with %s as a denial: access_denied, no grant, audited', async (_label, extra: Record<string, string>) => {
      const own = await publicClient(suite.as, { client_name: 'Deny at confirm' });
      const browser = new Browser(suite.as.issuer);
      const { step, state } = await startAuthorization(suite.as, own.client_id, {}, browser);
      const consent = asPage(await submitLogin(browser, step, suite.as.user.email, suite.as.user.password));
      expect(formActionOf(consent.html)).toMatch(/\/confirm$/);
      const answer = await browser.go(formActionOf(consent.html), { form: { csrf: csrfOf(consent.html), ...extra } });
      expect(answer.kind).toBe('redirect');
      if (answer.kind !== 'redirect') return;
      expect(answer.location.searchParams.get('error')).toBe('access_denied');
      expect(answer.location.searchParams.get('code')).toBeNull();
      expect(answer.location.searchParams.get('state')).toBe(state);
      expect(await grantsOf(own.client_id)).toBe(0);
      const audited = await suite.database.db.prisma.auditEvent.findMany({ where: { clientId: own.client_id } });
      expect(audited.map((e) => e.action)).toContain('consent.denied');
      expect(audited.map((e) => e.action)).not.toContain('consent.granted');
    });

    it('refuses a csrf value taken from another browser', async () => {
      const attacker = new Browser(suite.as.issuer);
      const attackerPage = asPage((await startAuthorization(suite.as, client.client_id, {}, attacker)).step);
      const victim = new Browser(suite.as.issuer);
      const victimPage = asPage((await startAuthorization(suite.as, client.client_id, {}, victim)).step);
      expect(csrfOf(attackerPage.html)).not.toBe(csrfOf(victimPage.html));
      const refused = await victim.request(formActionOf(victimPage.html), {
        form: { csrf: csrfOf(attackerPage.html), email: suite.as.user.email, password: suite.as.user.password },
      });
      expect(refused.status).toBe(403);
    });
  });

  it('remembers a consent for the same client, user, resource and scopes in the same browser', async () => {
    const redirect = 'https://remembered.example/callback';
    const own = await publicClient(suite.as, { client_name: 'Remembered', redirect_uris: [redirect] });
    expect(own.application_type).toBe('web');
    const first = await authorizeAndApprove(suite.as, own.client_id, { scope: 'tickets:read', redirect_uri: redirect });
    expect(first.browser.trail.some((t) => t.includes('/confirm'))).toBe(true);

    const second = await startAuthorization(suite.as, own.client_id, { scope: 'tickets:read', redirect_uri: redirect }, first.browser);
    expect(second.step.kind).toBe('redirect');
    if (second.step.kind !== 'redirect') return;
    expect(second.step.location.origin + second.step.location.pathname).toBe(redirect);
    expect(second.step.location.searchParams.get('code')).toBeTruthy();
    expect(second.step.location.searchParams.get('state')).toBe(second.state);
    expect(second.step.location.searchParams.get('iss')).toBe(suite.as.issuer);

    // Asking for more than was approved shows the consent page again.
    const broader = await startAuthorization(suite.as, own.client_id, { scope: 'tickets:read tickets:write', redirect_uri: redirect }, first.browser);
    expect(isConsentPage(broader.step)).toBe(true);
    // As does another client in the same browser.
    const stranger = await publicClient(suite.as, { client_name: 'Stranger', redirect_uris: [redirect] });
    const other = await startAuthorization(suite.as, stranger.client_id, { scope: 'tickets:read', redirect_uri: redirect }, first.browser);
    expect(isConsentPage(other.step)).toBe(true);
  });

  it('asks again every time for a native client (loopback redirect: RFC 8252 §8.6, anyone on the machine can claim it)', async () => {
    const native = await publicClient(suite.as, { client_name: 'Native' });
    expect(native.application_type).toBe('native');
    const first = await authorizeAndApprove(suite.as, native.client_id, { scope: 'tickets:read' });
    const second = await startAuthorization(suite.as, native.client_id, { scope: 'tickets:read' }, first.browser);
    expect(isConsentPage(second.step)).toBe(true);
  });

  describe('sign-in and consent in one interaction', () => {
    const redirect = 'https://one-interaction.example/callback';

    async function redeem(clientId: string, location: URL, verifier: string) {
      return tokenRequest(suite.as.issuer, {
        grant_type: 'authorization_code',
        code: location.searchParams.get('code')!,
        redirect_uri: redirect,
        code_verifier: verifier,
        client_id: clientId,
        resource: suite.as.config.MCP_RESOURCE_URL,
      });
    }

    it('shows the consent page on the sign-in interaction itself, then signs the browser in and issues a code for what was approved', async () => {
      const web = await publicClient(suite.as, { client_name: 'One interaction', redirect_uris: [redirect] });
      const start = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read tickets:write', redirect_uri: redirect });
      const login = asPage(start.step);
      const uid = /\/interaction\/([^/]+)$/.exec(login.url.pathname)![1];
      const consent = asPage(await submitLogin(start.browser, login, suite.as.user.email, suite.as.user.password));
      expect(isConsentPage(consent)).toBe(true);
      expect(consent.url.pathname).toBe(`/interaction/${uid}`);
      expect(consent.html).toContain(escapeHtml(suite.as.user.email));
      expect(consent.html).toContain('tickets:write');
      // Nobody is signed in until the consent is answered: /auth was not resumed in between.
      expect(start.browser.trail.slice(-2)).toEqual([`POST /interaction/${uid}/login 303`, `GET /interaction/${uid} 200`]);
      const done = await decide(start.browser, consent, 'approve');
      expect(done.kind).toBe('redirect');
      if (done.kind !== 'redirect') return;
      expect(start.browser.trail.slice(-2)).toEqual([`POST /interaction/${uid}/confirm 303`, `GET /auth/${uid} 303`]);
      expect(done.location.searchParams.get('state')).toBe(start.state);
      const { status, body } = await redeem(web.client_id, done.location, start.verifier);
      expect(status).toBe(200);
      expect(parseScope(String(body.scope)).sort()).toEqual(['tickets:read', 'tickets:write']);
      const claims = decodeJwt(String(body.access_token));
      expect(claims.sub).toBe(suite.as.user.id);
      // The browser is signed in now: the next request for the same access asks nothing.
      const again = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read tickets:write', redirect_uri: redirect }, start.browser);
      expect(again.step.kind).toBe('redirect');
    });

    it('a returning user signing in from a new browser is not asked again for what they approved; asking for more shows only what is new', async () => {
      const web = await publicClient(suite.as, { client_name: 'Returning', redirect_uris: [redirect] });
      await authorizeAndApprove(suite.as, web.client_id, { scope: 'tickets:read', redirect_uri: redirect });

      const fresh = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read', redirect_uri: redirect });
      const signedIn = await submitLogin(fresh.browser, fresh.step, suite.as.user.email, suite.as.user.password);
      expect(signedIn.kind).toBe('redirect');
      if (signedIn.kind !== 'redirect') return;
      expect((await redeem(web.client_id, signedIn.location, fresh.verifier)).status).toBe(200);

      const broader = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read tickets:write', redirect_uri: redirect });
      const consent = asPage(await submitLogin(broader.browser, broader.step, suite.as.user.email, suite.as.user.password));
      expect(isConsentPage(consent)).toBe(true);
      expect(consent.html).toContain('tickets:write');
      expect(consent.html).not.toContain(escapeHtml(describeScope('tickets:read')));
      const done = await decide(broader.browser, consent, 'approve');
      if (done.kind !== 'redirect') throw new Error('expected a redirect');
      const { body } = await redeem(web.client_id, done.location, broader.verifier);
      // The remembered grant was extended, not replaced.
      expect(parseScope(String(body.scope)).sort()).toEqual(['tickets:read', 'tickets:write']);
    });

    it('asks a native client again after every sign-in (RFC 8252 §8.6) and honours prompt=consent', async () => {
      const native = await publicClient(suite.as, { client_name: 'Native again' });
      await authorizeAndApprove(suite.as, native.client_id, { scope: 'tickets:read' });
      const fresh = await startAuthorization(suite.as, native.client_id, { scope: 'tickets:read' });
      expect(isConsentPage(await submitLogin(fresh.browser, fresh.step, suite.as.user.email, suite.as.user.password))).toBe(true);

      const web = await publicClient(suite.as, { client_name: 'Prompted', redirect_uris: [redirect] });
      await authorizeAndApprove(suite.as, web.client_id, { scope: 'tickets:read', redirect_uri: redirect });
      const prompted = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read', redirect_uri: redirect, prompt: 'consent' });
      expect(isConsentPage(await submitLogin(prompted.browser, prompted.step, suite.as.user.email, suite.as.user.password))).toBe(true);
    });

    it('reloading the consent page shows it again; the sign-in form cannot be sent twice; denying signs nobody in', async () => {
      const web = await publicClient(suite.as, { client_name: 'Reloaded', redirect_uris: [redirect] });
      const start = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read', redirect_uri: redirect });
      const login = asPage(start.step);
      const consent = asPage(await submitLogin(start.browser, login, suite.as.user.email, suite.as.user.password));
      const reloaded = asPage(await start.browser.go(consent.url));
      expect(isConsentPage(reloaded)).toBe(true);
      const resent = await start.browser.request(formActionOf(login.html), {
        form: { csrf: csrfOf(reloaded.html), email: suite.as.user.email, password: suite.as.user.password },
      });
      expect(resent.status).toBe(400);
      const denied = await decide(start.browser, reloaded, 'deny');
      if (denied.kind !== 'redirect') throw new Error('expected a redirect');
      expect(denied.location.searchParams.get('error')).toBe('access_denied');
      // The browser was never signed in: the next authorization starts at the login page.
      const next = await startAuthorization(suite.as, web.client_id, { scope: 'tickets:read', redirect_uri: redirect }, start.browser);
      expect(isLoginPage(next.step)).toBe(true);
    });
  });

  it('answers a failed login the same way for an unknown email and a wrong password', async () => {
    const extra = await suite.as.createUser('bob@example.com');
    const attempt = async (email: string, password: string) => {
      const browser = new Browser(suite.as.issuer);
      const { step } = await startAuthorization(suite.as, client.client_id, {}, browser);
      return asPage(await submitLogin(browser, step, email, password));
    };
    const unknown = await attempt('nobody@example.com', 'whatever-password');
    const wrong = await attempt(extra.email, 'wrong-password');
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const message = (page: Page) => /role="alert">([^<]*)</.exec(page.html)?.[1];
    expect(message(unknown)).toBeTruthy();
    expect(message(unknown)).toBe(message(wrong));
    expect(isLoginPage(unknown)).toBe(true);
    expect(unknown.html).not.toContain('wrong-password');
    expect(unknown.html).not.toContain('whatever-password');
  });
});

describe('login backoff', () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await startSuite({ LOGIN_FAILURES_BEFORE_BACKOFF: '3' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('answers 429 with Retry-After after LOGIN_FAILURES_BEFORE_BACKOFF failures, even with the right password', async () => {
    const client = await publicClient(suite.as);
    const browser = new Browser(suite.as.issuer);
    const { step } = await startAuthorization(suite.as, client.client_id, {}, browser);
    let page = asPage(step);
    for (let i = 0; i < 3; i++) {
      page = asPage(await submitLogin(browser, page, suite.as.user.email, `wrong-${i}-password`));
      expect(page.status).toBe(401);
    }
    const blocked = asPage(await submitLogin(browser, page, suite.as.user.email, suite.as.user.password));
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(isLoginPage(blocked)).toBe(true);
    expect(isConsentPage(blocked)).toBe(false);
  });
});
