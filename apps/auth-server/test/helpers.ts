// Shared helpers for the HTTP integration tests: a server per file, and a scripted browser that
// walks the authorization endpoint step by step so each page can be inspected and each form tampered.
import crypto from 'node:crypto';
import { createTestDatabase, CookieJar, pkcePair, registerClient, tokenRequest, type RegisteredClient, type TestDatabase } from '@mcp-gw/testkit';
import { startTestAuthServer, type TestAuthServer } from '../src/testing.js';

export interface Suite {
  database: TestDatabase;
  as: TestAuthServer;
  close(): Promise<void>;
}

/** A fresh database and a server over it. Registration is not the subject of most files: a generous limit. */
export async function startSuite(env: Record<string, string> = {}): Promise<Suite> {
  const database = await createTestDatabase();
  const as = await startTestAuthServer(database.db, { REGISTRATION_RATE_LIMIT: '10000', ...env });
  return {
    database,
    as,
    async close() {
      await as.close();
      await database.dispose();
    },
  };
}

export const LOOPBACK_REDIRECT = 'http://127.0.0.1:49152/callback';

export function publicClient(as: TestAuthServer, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  return registerClient(as.issuer, {
    client_name: 'Test client',
    redirect_uris: [LOOPBACK_REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...metadata,
  });
}

export function confidentialClient(as: TestAuthServer, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  return publicClient(as, { client_name: 'Confidential client', token_endpoint_auth_method: 'client_secret_basic', ...metadata });
}

export type Step =
  | { kind: 'page'; url: URL; status: number; html: string; headers: Headers }
  | { kind: 'redirect'; location: URL; headers: Headers };

/** A browser for one origin: keeps cookies, follows redirects while they stay on the server. */
export class Browser {
  readonly jar: CookieJar;
  readonly trail: string[] = [];

  constructor(
    readonly issuer: string,
    jar?: CookieJar,
  ) {
    this.jar = jar ?? new CookieJar();
  }

  async request(url: string | URL, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url, this.issuer);
    const response = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        cookie: this.jar.header(),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: this.issuer } : {}),
        ...init.headers,
      },
      body: init.form ? new URLSearchParams(init.form) : undefined,
    });
    this.jar.store(response);
    this.trail.push(`${init.form ? 'POST' : 'GET'} ${target.pathname} ${response.status}`);
    return response;
  }

  /** Requests `url` and follows redirects on the server's origin; stops at a page or at a redirect elsewhere. */
  async go(url: string | URL, init: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Step> {
    let response = await this.request(url, init);
    let current = new URL(url, this.issuer);
    for (let hop = 0; hop < 20; hop++) {
      if (response.status < 300 || response.status >= 400) {
        return { kind: 'page', url: current, status: response.status, html: await response.text(), headers: response.headers };
      }
      const location = new URL(response.headers.get('location')!, current);
      if (location.origin !== new URL(this.issuer).origin) return { kind: 'redirect', location, headers: response.headers };
      current = location;
      response = await this.request(current);
    }
    throw new Error('too many redirects');
  }
}

export function csrfOf(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!csrf) throw new Error(`no csrf field in page: ${html.slice(0, 300)}`);
  return csrf;
}

export function formActionOf(html: string): string {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form in page: ${html.slice(0, 300)}`);
  return action;
}

export function isLoginPage(step: Step): step is Extract<Step, { kind: 'page' }> {
  return step.kind === 'page' && step.html.includes('name="password"');
}

export function isConsentPage(step: Step): step is Extract<Step, { kind: 'page' }> {
  return step.kind === 'page' && step.html.includes('name="decision"');
}

export interface AuthorizationStart {
  browser: Browser;
  state: string;
  verifier: string;
  challenge: string;
  step: Step;
}

/** Sends the browser to /auth with the usual parameters (PKCE S256, state) plus `params` (undefined removes one). */
export async function startAuthorization(
  as: TestAuthServer,
  clientId: string,
  params: Record<string, string | undefined> = {},
  browser: Browser = new Browser(as.issuer),
): Promise<AuthorizationStart> {
  const { verifier, challenge } = pkcePair();
  const state = crypto.randomBytes(12).toString('base64url');
  const merged: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: LOOPBACK_REDIRECT,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'tickets:read',
    resource: as.config.MCP_RESOURCE_URL,
    ...params,
  };
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) query.set(k, v);
  const step = await browser.go(`/auth?${query}`);
  return { browser, state, verifier, challenge, step };
}

export async function submitLogin(browser: Browser, loginPage: Step, email: string, password: string, csrf?: string): Promise<Step> {
  if (loginPage.kind !== 'page') throw new Error('not a page');
  // The password form, not a "Continue with <IdP>" form above it.
  const action = /<form method="post" action="([^"]+\/login)"/.exec(loginPage.html)?.[1] ?? formActionOf(loginPage.html);
  return browser.go(action, { form: { csrf: csrf ?? csrfOf(loginPage.html), email, password } });
}

export async function decide(browser: Browser, consentPage: Step, decision: 'approve' | 'deny'): Promise<Step> {
  if (consentPage.kind !== 'page') throw new Error('not a page');
  const action = formActionOf(consentPage.html);
  const target = decision === 'approve' ? action : action.replace(/\/confirm$/, '/abort');
  return browser.go(target, { form: { csrf: csrfOf(consentPage.html), decision } });
}

/** Authorize → login → consent → approve; returns the code and what is needed to redeem it. */
export async function authorizeAndApprove(
  as: TestAuthServer,
  clientId: string,
  params: Record<string, string | undefined> = {},
  browser?: Browser,
): Promise<{ code: string; verifier: string; state: string; location: URL; browser: Browser }> {
  const start = await startAuthorization(as, clientId, params, browser);
  let step = start.step;
  if (isLoginPage(step)) step = await submitLogin(start.browser, step, as.user.email, as.user.password);
  if (isConsentPage(step)) step = await decide(start.browser, step, 'approve');
  if (step.kind !== 'redirect') throw new Error(`expected a redirect to the client, got ${step.status}: ${step.html.slice(0, 400)}`);
  const code = step.location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${step.location}`);
  return { code, verifier: start.verifier, state: start.state, location: step.location, browser: start.browser };
}

/** A public client with tokens for the MCP resource. */
export async function tokensFor(
  as: TestAuthServer,
  client: RegisteredClient,
  params: Record<string, string | undefined> = {},
  auth?: { clientId: string; clientSecret: string },
): Promise<Record<string, unknown>> {
  const { code, verifier } = await authorizeAndApprove(as, client.client_id, params);
  const resource = params.resource === undefined && 'resource' in params ? undefined : (params.resource ?? as.config.MCP_RESOURCE_URL);
  const { status, body } = await tokenRequest(
    as.issuer,
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: params.redirect_uri ?? LOOPBACK_REDIRECT,
      code_verifier: verifier,
      ...(auth ? {} : { client_id: client.client_id }),
      ...(resource ? { resource } : {}),
    },
    auth,
  );
  if (status !== 200) throw new Error(`token exchange failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

export function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

export async function postForm(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form),
  });
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}
