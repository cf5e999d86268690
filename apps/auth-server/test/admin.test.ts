// Administration: the admin pages (/admin), the connected-apps page (/account), the admin JSON API
// (/admin/api), the revocation service and the CLI, all over HTTP (or a real child process) against a
// real server on a fresh database — embedded by default, PostgreSQL with TEST_DATABASE_URL.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { artifactKey, isGrantActive } from '@mcp-gw/db';
import { authorizeAndRedeem, registerClient, tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import type { TestUser } from '../src/testing.js';
import { Browser, LOOPBACK_REDIRECT, csrfOf, isLoginPage, startSuite, submitLogin, type Step, type Suite } from './helpers.js';

const exec = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/admin.js');

let suite: Suite;
let admin: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  suite = await startSuite();
  admin = suite.as.user; // alice, an administrator
  bob = await suite.as.createUser('bob@example.com');
  carol = await suite.as.createUser('carol@example.com');
});
afterAll(async () => {
  await suite?.close();
});

const issuer = () => suite.as.issuer;
const prisma = () => suite.database.db.prisma;
const mcpResource = () => suite.as.config.MCP_RESOURCE_URL;
const adminResource = () => `${issuer()}/admin/api`;

interface Tokens {
  access_token: string;
  refresh_token: string;
  scope?: string;
  grantId: string;
}

/** A registered public client, the way MCP clients register (dynamic registration). */
async function newClient(name: string): Promise<RegisteredClient> {
  const client = await registerClient(issuer(), {
    client_name: name,
    redirect_uris: [LOOPBACK_REDIRECT],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  });
  // The registration's bookkeeping row is written just after the response: a test that backdates it
  // must not run before it exists (the update would change nothing, and the insert land after it).
  await registrationRecorded(client.client_id, () => true);
  return client;
}

/** `user` signs in and approves `client` in a fresh browser; the code is exchanged for tokens. */
async function grant(client: RegisteredClient, user: TestUser, options: { resource?: string; scope?: string } = {}): Promise<Tokens> {
  const resource = options.resource ?? mcpResource();
  const { tokens } = await authorizeAndRedeem({
    issuer: issuer(),
    clientId: client.client_id,
    redirectUri: LOOPBACK_REDIRECT,
    email: user.email,
    password: user.password,
    scope: options.scope ?? 'tickets:read tickets:write',
    resource,
  });
  const access = tokens.access_token;
  // Last use is bookkept just after the token response (oidc-provider's grant.success event): wait for
  // it so that "last used" and the purge see this client as used.
  await registrationRecorded(client.client_id, (row) => row.lastUsedAt !== null);
  return { ...(tokens as unknown as Tokens), grantId: String(decodeJwt(access).gid) };
}

/** Waits until the client's registration row exists and satisfies `done` (bookkeeping is written after responses). */
async function registrationRecorded(clientId: string, done: (row: { lastUsedAt: Date | null }) => boolean): Promise<void> {
  // A hang guard, not a timing assertion: generous for a loaded machine.
  for (let i = 0; i < 600; i++) {
    const row = await prisma().clientRegistration.findUnique({ where: { clientId } });
    if (row && done(row)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the registration of ${clientId} was never recorded as expected`);
}

function refresh(client: RegisteredClient, tokens: Tokens, resource = mcpResource()) {
  return tokenRequest(issuer(), { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id, resource });
}

/** Signs `user` in to the console the way a browser does (/console/login → login form → back). */
async function signIn(user: TestUser, returnTo = '/admin'): Promise<{ browser: Browser; landing: Step }> {
  const browser = new Browser(issuer());
  let step = await browser.go(`/console/login?return_to=${encodeURIComponent(returnTo)}`);
  expect(isLoginPage(step)).toBe(true);
  step = await submitLogin(browser, step, user.email, user.password);
  return { browser, landing: step };
}

async function page(browser: Browser, url: string): Promise<Extract<Step, { kind: 'page' }>> {
  const step = await browser.go(url);
  if (step.kind !== 'page') throw new Error(`${url}: redirected to ${step.location}`);
  return step;
}

/** An access token for the admin API (resource …/admin/api, scope admin) obtained over HTTP as `user`. */
async function adminApiToken(user: TestUser): Promise<{ client: RegisteredClient; tokens: Tokens }> {
  const client = await newClient(`admin script of ${user.email}`);
  return { client, tokens: await grant(client, user, { resource: adminResource(), scope: 'admin' }) };
}

function api(pathAndQuery: string, token: string | undefined, method = 'GET'): Promise<Response> {
  return fetch(`${issuer()}/admin/api${pathAndQuery}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function clientExists(clientId: string): Promise<boolean> {
  return !!(await prisma().oidcArtifact.findUnique({ where: { model_key: { model: 'Client', key: artifactKey(clientId) } }, select: { key: true } }));
}

async function auditCount(): Promise<number> {
  return prisma().auditEvent.count();
}

describe('signing in to the admin area', () => {
  it('an anonymous visitor to /admin (and /account) is sent to sign in; anonymous POSTs are refused', async () => {
    for (const path of ['/admin', '/admin/audit', '/admin/users', '/admin/clients/x', '/account']) {
      const res = await fetch(`${issuer()}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(303);
      const location = new URL(res.headers.get('location')!, issuer());
      expect(location.pathname).toBe('/auth');
      expect(location.searchParams.get('client_id')).toBe('mcp-gw-console');
      expect(location.searchParams.get('state')).toBe(path === '/admin/clients/x' ? '/admin/clients/x' : path);
      expect(res.headers.get('cache-control')).toContain('no-store');
    }
    const post = await fetch(`${issuer()}/admin/clients/x/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'confirm=yes&csrf=x',
      redirect: 'manual',
    });
    expect(post.status).toBe(401);
  });

  it('the admin signs in with the ordinary login page and lands on the clients list', async () => {
    const { landing } = await signIn(admin, '/admin');
    expect(landing.kind).toBe('page');
    if (landing.kind !== 'page') return;
    expect(landing.status).toBe(200);
    expect(landing.url.pathname).toBe('/admin');
    expect(landing.html).toContain('Registered clients');
    expect(landing.html).toContain(admin.email);
    // No open redirect: a foreign return_to ends at /account.
    const { landing: elsewhere } = await signIn(bob, 'https://evil.example/admin');
    expect(elsewhere.kind === 'page' && elsewhere.url.pathname).toBe('/account');
  });
});

describe('admin pages', () => {
  let client: RegisteredClient;
  let other: RegisteredClient;
  let bobTokens: Tokens;
  let carolTokens: Tokens;
  let otherTokens: Tokens;
  let browser: Browser;

  beforeAll(async () => {
    client = await newClient('Pages client');
    other = await newClient('Bystander client');
    bobTokens = await grant(client, bob);
    carolTokens = await grant(client, carol, { scope: 'tickets:read' });
    otherTokens = await grant(other, bob);
    browser = (await signIn(admin)).browser;
  });

  it('the clients list shows every client: name, redirect URIs, how it registered, created, last used, users, scopes', async () => {
    const list = await page(browser, '/admin');
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toContain('no-store');
    const row = list.html.split('<tr>').find((r) => r.includes(client.client_id))!;
    expect(row).toBeTruthy();
    expect(row).toContain('Pages client');
    expect(row).toContain(LOOPBACK_REDIRECT);
    expect(row).toContain('dcr');
    expect(row).toContain('from 127.0.0.1');
    expect(row).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d UTC/); // created
    expect(row.match(/UTC/g)!.length).toBe(2); // created and last used (it obtained tokens)
    expect(row).toContain(bob.email);
    expect(row).toContain(carol.email);
    expect(row).toContain('<code>tickets:read</code>');
    expect(row).toContain('<code>tickets:write</code>');
    expect(list.html).toContain(other.client_id);
    // Search narrows the list.
    const searched = await page(browser, '/admin?q=Bystander');
    expect(searched.html).toContain(other.client_id);
    expect(searched.html).not.toContain(client.client_id);
  });

  it("a client's detail page lists its grants per user and its metadata (never its secret)", async () => {
    const confidential = await registerClient(issuer(), { client_name: 'Secretive', redirect_uris: [LOOPBACK_REDIRECT], token_endpoint_auth_method: 'client_secret_basic' });
    expect(confidential.client_secret).toBeTruthy();
    const secretive = await page(browser, `/admin/clients/${encodeURIComponent(confidential.client_id)}`);
    expect(secretive.status).toBe(200);
    expect(secretive.html).not.toContain(confidential.client_secret!);
    expect(secretive.html).not.toContain('client_secret&quot;');

    const detail = await page(browser, `/admin/clients/${encodeURIComponent(client.client_id)}`);
    expect(detail.status).toBe(200);
    expect(detail.html).toContain('Pages client');
    expect(detail.html).toContain('Grants (2)');
    expect(detail.html).toContain(bob.email);
    expect(detail.html).toContain(carol.email);
    expect(detail.html).toContain(`/admin/grants/${encodeURIComponent(bobTokens.grantId)}/revoke`);
    expect(detail.html).toContain(`/admin/grants/${encodeURIComponent(carolTokens.grantId)}/revoke`);
    expect(detail.html).toContain(mcpResource());

    const missing = await page(browser, '/admin/clients/no-such-client');
    expect(missing.status).toBe(404);
  });

  it('the users page lists users with their role', async () => {
    const users = await page(browser, '/admin/users');
    expect(users.status).toBe(200);
    const rowOf = (email: string) => users.html.split('<tbody>')[1]!.split('<tr>').find((r) => r.includes(email))!;
    expect(rowOf(admin.email)).toContain('<td>admin</td>');
    expect(rowOf(bob.email)).toContain('<td>user</td>');
    expect(rowOf(bob.email)).toContain(`/admin/audit?actor=${bob.id}`);
  });

  it("revoking one user's grant (confirmed) revokes just that: the other user's grant to the same client keeps working", async () => {
    const detail = await page(browser, `/admin/clients/${encodeURIComponent(client.client_id)}`);
    const csrf = csrfOf(detail.html);
    const action = `/admin/grants/${encodeURIComponent(bobTokens.grantId)}/revoke?client=${encodeURIComponent(client.client_id)}`;

    // Without confirm=yes nothing happens (the answer asks for confirmation).
    const before = await auditCount();
    const unconfirmed = await browser.go(action, { form: { csrf } });
    expect(unconfirmed.kind).toBe('page');
    expect(unconfirmed.kind === 'page' && unconfirmed.status).toBeLessThan(300);
    expect(unconfirmed.kind === 'page' && unconfirmed.html).toContain('name="confirm" value="yes"');
    expect(unconfirmed.kind === 'page' && unconfirmed.html).toContain(bob.email);
    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(true);
    expect(await auditCount()).toBe(before);

    const done = await browser.go(action, { form: { csrf, confirm: 'yes' } });
    expect(done.kind === 'page' && done.url.pathname).toBe(`/admin/clients/${client.client_id}`);
    expect(done.kind === 'page' && done.html).toContain('Grant revoked.');
    expect(done.kind === 'page' && done.html).toContain('Grants (1)');

    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(false);
    expect(await prisma().oidcArtifact.count({ where: { grantId: bobTokens.grantId } })).toBe(0);
    const refused = await refresh(client, bobTokens);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
    // Carol's grant to the same client, and Bob's grant to another client, are untouched.
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(true);
    expect(await isGrantActive(prisma(), otherTokens.grantId)).toBe(true);
    const carolRefresh = await refresh(client, carolTokens);
    expect(carolRefresh.status).toBe(200);
    carolTokens = { ...(carolRefresh.body as unknown as Tokens), grantId: carolTokens.grantId };

    const event = await prisma().auditEvent.findFirst({ where: { action: 'grant.revoked', targetId: bobTokens.grantId } });
    expect(event).toMatchObject({ actorType: 'admin', actorId: admin.id, clientId: client.client_id, outcome: 'success', targetType: 'grant' });
    expect(event!.ip).toBeTruthy();
    expect(Date.now() - event!.at.getTime()).toBeLessThan(60_000);
    expect(event!.details).toMatchObject({ accountId: bob.id });

    // Revoking it again: 404, nothing recorded.
    const again = await browser.go(action, { form: { csrf, confirm: 'yes' } });
    expect(again.kind === 'page' && again.status).toBe(404);
  });

  it('revoking a client asks for confirmation, then deletes it and every grant and token issued to it', async () => {
    const confirm = await page(browser, `/admin/clients/${encodeURIComponent(client.client_id)}/revoke`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Revoke Pages client?');
    expect(confirm.html).toContain('<strong>1</strong> grant(s)');
    expect(confirm.html).toContain(carol.email);
    const csrf = csrfOf(confirm.html);
    const action = `/admin/clients/${encodeURIComponent(client.client_id)}/revoke`;

    // The POST without confirm=yes does nothing.
    const before = await auditCount();
    for (const form of [{ csrf }, { csrf, confirm: 'no' }, { csrf, confirm: 'YES ' }]) {
      const res = await browser.request(action, { form });
      expect(res.status, JSON.stringify(form)).toBe(400);
    }
    expect(await clientExists(client.client_id)).toBe(true);
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(true);
    expect(await auditCount()).toBe(before);

    const res = await browser.request(action, { form: { csrf, confirm: 'yes' } });
    expect(res.status).toBe(303);
    const flash = await page(browser, res.headers.get('location')!);
    expect(flash.html).toContain(`Revoked ${client.client_id}: 1 grant(s)`);
    expect(flash.html.split('<tbody>')[1]).not.toContain(client.client_id);

    expect(await clientExists(client.client_id)).toBe(false);
    expect(await prisma().oidcArtifact.count({ where: { clientId: client.client_id } })).toBe(0);
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(false);
    const refused = await refresh(client, carolTokens);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(['invalid_grant', 'invalid_client']).toContain(refused.body.error);
    // The registration is gone for the client too.
    const reg = await fetch(client.registration_client_uri!, { headers: { authorization: `Bearer ${client.registration_access_token}` } });
    expect(reg.status).toBe(401);
    // Another client's grant is untouched.
    expect(await isGrantActive(prisma(), otherTokens.grantId)).toBe(true);
    expect((await refresh(other, otherTokens)).status).toBe(200);

    const events = await prisma().auditEvent.findMany({ where: { action: 'client.revoked', clientId: client.client_id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorType: 'admin', actorId: admin.id, targetType: 'client', targetId: client.client_id, outcome: 'success' });
    expect(events[0]!.details).toMatchObject({ grants: 1 });
    const row = await prisma().clientRegistration.findUnique({ where: { clientId: client.client_id } });
    expect(row?.revokedAt).toBeTruthy();

    // Its pages are gone.
    expect((await page(browser, `/admin/clients/${encodeURIComponent(client.client_id)}`)).status).toBe(404);
    expect((await browser.request(action, { form: { csrf, confirm: 'yes' } })).status).toBe(404);
  });

  it('the audit trail shows who did what when, filterable by action, client, actor and outcome', async () => {
    const trail = await page(browser, `/admin/audit?action=${encodeURIComponent('client.')}`);
    expect(trail.status).toBe(200);
    const rows = trail.html.split('<tbody>')[1]!.split('<tr>').slice(1);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toMatch(/<code>client\./);
    expect(trail.html).toContain('client.revoked');
    expect(trail.html).toContain('client.registered');
    expect(trail.html).toContain(admin.id);
    expect(trail.html).toContain('value="client."');

    const byClient = await page(browser, `/admin/audit?client=${encodeURIComponent(client.client_id)}&action=grant.`);
    const clientRows = byClient.html.split('<tbody>')[1]!.split('<tr>').slice(1);
    expect(clientRows).toHaveLength(1);
    expect(clientRows[0]).toContain('grant.revoked');

    const byActor = await page(browser, `/admin/audit?actor=${encodeURIComponent(admin.id)}&outcome=success`);
    const actorRows = byActor.html.split('<tbody>')[1]!.split('<tr>').slice(1);
    expect(actorRows.length).toBeGreaterThanOrEqual(2);
    for (const r of actorRows) expect(r).toContain(admin.id);

    const denied = await page(browser, '/admin/audit?outcome=denied');
    for (const r of denied.html.split('<tbody>')[1]!.split('<tr>').slice(1)) expect(r).toContain('<td>denied</td>');
  });
});

describe('CSRF and roles', () => {
  let client: RegisteredClient;
  let tokens: Tokens;

  beforeAll(async () => {
    client = await newClient('Guarded client');
    tokens = await grant(client, bob);
  });

  async function unchanged(before: number) {
    expect(await clientExists(client.client_id)).toBe(true);
    expect(await isGrantActive(prisma(), tokens.grantId)).toBe(true);
    expect(await prisma().auditEvent.count({ where: { action: { in: ['client.revoked', 'grant.revoked'] } } })).toBe(before);
  }
  const revocations = () => prisma().auditEvent.count({ where: { action: { in: ['client.revoked', 'grant.revoked'] } } });

  it('an admin POST without a valid CSRF token is refused (403) and changes nothing', async () => {
    const { browser } = await signIn(admin);
    const confirm = await page(browser, `/admin/clients/${encodeURIComponent(client.client_id)}/revoke`);
    const csrf = csrfOf(confirm.html);
    const before = await revocations();
    const clientAction = `/admin/clients/${encodeURIComponent(client.client_id)}/revoke`;
    const grantAction = `/admin/grants/${encodeURIComponent(tokens.grantId)}/revoke`;
    // One character changed; it must really differ (a token ending in 'x' once made this test revoke the client).
    const altered = `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}`;
    // Another browser's valid token is not this browser's.
    const { browser: elsewhere } = await signIn(carol, '/account');
    const foreign = csrfOf((await page(elsewhere, '/account')).html);
    expect(foreign).not.toBe(csrf);
    for (const action of [clientAction, grantAction]) {
      for (const form of [{ confirm: 'yes' }, { confirm: 'yes', csrf: '' }, { confirm: 'yes', csrf: altered }, { confirm: 'yes', csrf: foreign }]) {
        const res = await browser.request(action, { form });
        expect(res.status, `${action} ${JSON.stringify(form)}`).toBe(403);
        expect(await res.text()).toContain('The form expired');
      }
      // Right token in the form, but no CSRF cookie (a cross-site request carries none: SameSite=Strict).
      const noCookie = await fetch(`${issuer()}${action}`, {
        method: 'POST',
        headers: { cookie: browser.jar.header().replace(/mcpgw_csrf=[^;]+;?\s*/, ''), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, confirm: 'yes' }),
        redirect: 'manual',
      });
      expect(noCookie.status).toBe(403);
    }
    // Sign-out is a CSRF-protected POST too.
    expect((await browser.request('/console/logout', { form: { csrf: 'nope' } })).status).toBe(403);
    await unchanged(before);
    expect((await page(browser, '/admin')).status).toBe(200);
  });

  it('a non-admin gets 403 on every admin page and POST, with and without a CSRF token, and nothing changes', async () => {
    const { browser, landing } = await signIn(bob, '/admin');
    expect(landing.kind === 'page' && landing.status).toBe(403);
    for (const path of ['/admin', '/admin?q=x', '/admin/audit', '/admin/users', `/admin/clients/${encodeURIComponent(client.client_id)}`, `/admin/clients/${encodeURIComponent(client.client_id)}/revoke`]) {
      const res = await browser.request(path);
      expect(res.status, path).toBe(403);
      expect(await res.text()).not.toContain(client.client_id);
    }
    const csrf = csrfOf((await page(browser, '/account')).html); // a valid token for this browser
    const before = await revocations();
    for (const action of [`/admin/clients/${encodeURIComponent(client.client_id)}/revoke`, `/admin/grants/${encodeURIComponent(tokens.grantId)}/revoke`]) {
      for (const form of [{ confirm: 'yes' }, { csrf, confirm: 'yes' }]) {
        const res = await browser.request(action, { form });
        expect(res.status, `${action} ${JSON.stringify(form)}`).toBe(403);
      }
    }
    await unchanged(before);
  });

  it('a user is not shown the admin navigation', async () => {
    const { browser } = await signIn(bob, '/account');
    const account = await page(browser, '/account');
    expect(account.html).not.toContain('href="/admin"');
    const { browser: adminBrowser } = await signIn(admin, '/account');
    expect((await page(adminBrowser, '/account')).html).toContain('href="/admin"');
  });
});

describe('connected apps (/account)', () => {
  it('lists the clients a user granted, lets them revoke their own grant, not anyone else\'s (404)', async () => {
    const app = await newClient('Calendar helper');
    const bobTokens = await grant(app, bob);
    const carolTokens = await grant(app, carol);
    const { browser, landing } = await signIn(bob, '/account');
    expect(landing.kind === 'page' && landing.url.pathname).toBe('/account');
    const account = await page(browser, '/account');
    expect(account.status).toBe(200);
    expect(account.html).toContain('Connected apps');
    expect(account.html).toContain('Calendar helper');
    expect(account.html).toContain(`/account/grants/${encodeURIComponent(bobTokens.grantId)}/revoke`);
    expect(account.html).not.toContain(carolTokens.grantId);
    expect(account.html).not.toContain('Account console'); // the console's own sign-in grant is not an "app"
    const csrf = csrfOf(account.html);

    // Someone else's grant: 404, untouched.
    const foreign = await browser.request(`/account/grants/${encodeURIComponent(carolTokens.grantId)}/revoke`, { form: { csrf, confirm: 'yes' } });
    expect(foreign.status).toBe(404);
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(true);
    // Without CSRF: 403, untouched.
    expect((await browser.request(`/account/grants/${encodeURIComponent(bobTokens.grantId)}/revoke`, { form: { confirm: 'yes' } })).status).toBe(403);
    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(true);

    // Without confirm=yes: a confirmation, nothing revoked.
    const ask = await browser.go(`/account/grants/${encodeURIComponent(bobTokens.grantId)}/revoke`, { form: { csrf } });
    expect(ask.kind === 'page' && ask.status).toBeLessThan(300);
    expect(ask.kind === 'page' && ask.html).toContain('name="confirm" value="yes"');
    expect(ask.kind === 'page' && ask.html).toContain('Calendar helper');
    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(true);

    const done = await browser.go(`/account/grants/${encodeURIComponent(bobTokens.grantId)}/revoke`, { form: { csrf, confirm: 'yes' } });
    expect(done.kind === 'page' && done.url.pathname).toBe('/account');
    expect(done.kind === 'page' && done.html).toContain('Access revoked.');
    expect(done.kind === 'page' && done.html).not.toContain('Calendar helper');
    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(false);
    expect((await refresh(app, bobTokens)).body.error).toBe('invalid_grant');
    expect((await refresh(app, carolTokens)).status).toBe(200);
    const event = await prisma().auditEvent.findFirst({ where: { action: 'grant.revoked', targetId: bobTokens.grantId } });
    expect(event).toMatchObject({ actorType: 'user', actorId: bob.id, clientId: app.client_id });
    expect(await prisma().auditEvent.count({ where: { action: 'grant.revoked', targetId: carolTokens.grantId } })).toBe(0);
  });
});

describe('admin JSON API', () => {
  let token: string;
  let client: RegisteredClient;
  let bobTokens: Tokens;
  let carolTokens: Tokens;

  beforeAll(async () => {
    const obtained = await adminApiToken(admin);
    token = obtained.tokens.access_token;
    client = await newClient('API client');
    bobTokens = await grant(client, bob);
    carolTokens = await grant(client, carol);
  });

  it('an admin gets an admin-scoped token for …/admin/api over the ordinary authorization flow', () => {
    const claims = decodeJwt(token);
    expect(claims.aud).toBe(adminResource());
    expect(String(claims.scope).split(' ')).toContain('admin');
    expect(claims.sub).toBe(admin.id);
  });

  it('lists clients, one client, grants, users and the audit trail', async () => {
    const list = await api('/clients', token);
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toContain('no-store');
    const { clients } = (await list.json()) as { clients: { clientId: string; users: string[]; scopes: string[]; grantCount: number; registeredVia: string; redirectUris: string[]; lastUsedAt: string | null }[] };
    const mine = clients.find((c) => c.clientId === client.client_id)!;
    expect(mine).toMatchObject({ grantCount: 2, registeredVia: 'dcr', redirectUris: [LOOPBACK_REDIRECT] });
    expect(mine.users.sort()).toEqual([bob.email, carol.email].sort());
    expect(mine.scopes.sort()).toEqual(['tickets:read', 'tickets:write']);
    expect(mine.lastUsedAt).toBeTruthy();

    const one = await api(`/clients/${encodeURIComponent(client.client_id)}`, token);
    expect(one.status).toBe(200);
    const detail = (await one.json()) as { summary: { clientId: string }; metadata: Record<string, unknown>; grants: { grantId: string; userEmail: string }[] };
    expect(detail.summary.clientId).toBe(client.client_id);
    expect(detail.metadata).not.toHaveProperty('client_secret');
    expect(detail.grants.map((g) => g.grantId).sort()).toEqual([bobTokens.grantId, carolTokens.grantId].sort());
    expect((await api('/clients/nope', token)).status).toBe(404);

    const grants = (await (await api(`/grants?client_id=${encodeURIComponent(client.client_id)}&user_id=${bob.id}`, token)).json()) as { grants: { grantId: string }[] };
    expect(grants.grants.map((g) => g.grantId)).toEqual([bobTokens.grantId]);

    const users = (await (await api('/users', token)).json()) as { users: { email: string; isAdmin: boolean }[] };
    expect(users.users.find((u) => u.email === admin.email)?.isAdmin).toBe(true);
    expect(users.users.find((u) => u.email === bob.email)?.isAdmin).toBe(false);
    expect(JSON.stringify(users)).not.toMatch(/password/i);

    const audit = (await (await api('/audit?action=client.&limit=2', token)).json()) as { events: { action: string }[]; nextBefore: string | null };
    expect(audit.events.length).toBeLessThanOrEqual(2);
    for (const e of audit.events) expect(e.action.startsWith('client.')).toBe(true);
    expect(audit.nextBefore).toBeTruthy();
    const older = (await (await api(`/audit?action=client.&limit=2&before=${audit.nextBefore}`, token)).json()) as { events: { id: string }[] };
    expect(older.events.every((e) => BigInt(e.id) < BigInt(audit.nextBefore!))).toBe(true);
    expect((await api('/audit?outcome=maybe', token)).status).toBe(400);
    expect((await api('/nothing-here', token)).status).toBe(404);
  });

  it('DELETE /grants/:id revokes one grant (audited); DELETE /clients/:id revokes the client and everything under it (audited)', async () => {
    const delGrant = await api(`/grants/${encodeURIComponent(bobTokens.grantId)}`, token, 'DELETE');
    expect(delGrant.status).toBe(200);
    // No Redis here: no MCP server was told over it, so none had to confirm.
    expect(await delGrant.json()).toEqual({ revoked: true, servers: { notified: 0, confirmed: 0 } });
    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(false);
    expect((await refresh(client, bobTokens)).body.error).toBe('invalid_grant');
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(true);
    const refreshed = await refresh(client, carolTokens);
    expect(refreshed.status).toBe(200);
    carolTokens = { ...(refreshed.body as unknown as Tokens), grantId: carolTokens.grantId };
    expect((await api(`/grants/${encodeURIComponent(bobTokens.grantId)}`, token, 'DELETE')).status).toBe(404);

    const delClient = await api(`/clients/${encodeURIComponent(client.client_id)}`, token, 'DELETE');
    expect(delClient.status).toBe(200);
    expect(await delClient.json()).toMatchObject({ revoked: true, grants: 1 });
    expect(await clientExists(client.client_id)).toBe(false);
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(false);
    expect(['invalid_grant', 'invalid_client']).toContain((await refresh(client, carolTokens)).body.error);
    expect((await api(`/clients/${encodeURIComponent(client.client_id)}`, token, 'DELETE')).status).toBe(404);

    const audit = (await (await api(`/audit?client_id=${encodeURIComponent(client.client_id)}`, token)).json()) as {
      events: { action: string; actorType: string; actorId: string; targetId: string; at: string; details: Record<string, unknown> }[];
    };
    const revokedClient = audit.events.filter((e) => e.action === 'client.revoked');
    const revokedGrant = audit.events.filter((e) => e.action === 'grant.revoked');
    expect(revokedClient).toHaveLength(1);
    expect(revokedClient[0]).toMatchObject({ actorType: 'admin', actorId: admin.id, targetId: client.client_id, details: { grants: 1 } });
    expect(revokedGrant).toHaveLength(1);
    expect(revokedGrant[0]).toMatchObject({ actorType: 'admin', actorId: admin.id, targetId: bobTokens.grantId });
    expect(Date.now() - Date.parse(revokedClient[0]!.at)).toBeLessThan(60_000);
  });

  it('refuses requests without a token, with a token for the MCP resource (wrong audience), or with a garbage token: 401 invalid_token', async () => {
    const none = await api('/clients', undefined);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(none.headers.get('www-authenticate')).toContain(`resource_metadata="${issuer()}/.well-known/oauth-protected-resource/admin/api"`);

    // The admin's own token for the MCP server is not an admin API token.
    const mcpClient = await newClient('MCP audience');
    const mcpToken = await grant(mcpClient, admin);
    for (const bad of [mcpToken.access_token, 'not-a-jwt', `${token.slice(0, -4)}AAAA`]) {
      for (const [path, method] of [['/clients', 'GET'], ['/users', 'GET'], [`/clients/${encodeURIComponent(mcpClient.client_id)}`, 'DELETE']] as const) {
        const res = await api(path, bad, method);
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
        expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
      }
    }
    expect(await clientExists(mcpClient.client_id)).toBe(true);
  });

  it('a non-admin asking for the admin scope does not get it: their token is refused with 403 insufficient_scope', async () => {
    const before = await revocations();
    const scriptClient = await newClient('sneaky script');
    let token: string | undefined;
    try {
      const t = await grant(scriptClient, bob, { resource: adminResource(), scope: 'admin' });
      token = t.access_token;
      expect(String(decodeJwt(token).scope ?? '').split(' ')).not.toContain('admin');
    } catch (err) {
      // Refusing to issue anything at all is just as good.
      expect(String(err)).toMatch(/no code|token exchange failed|unexpected|too many/);
    }
    if (token) {
      for (const [path, method] of [['/clients', 'GET'], ['/audit', 'GET'], [`/clients/${encodeURIComponent(scriptClient.client_id)}`, 'DELETE']] as const) {
        const res = await api(path, token, method);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
        expect(((await res.json()) as { error: string }).error).toBe('insufficient_scope');
      }
    }
    expect(await clientExists(scriptClient.client_id)).toBe(true);
    expect(await revocations()).toBe(before);
  });

  it('an admin token stops working (403) once its holder is no longer an administrator', async () => {
    const dave = await suite.as.createUser('dave@example.com', { isAdmin: true });
    const { tokens } = await adminApiToken(dave);
    expect((await api('/users', tokens.access_token)).status).toBe(200);
    await prisma().user.update({ where: { id: dave.id }, data: { isAdmin: false } });
    const res = await api('/users', tokens.access_token);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('insufficient_scope');
  });

  const revocations = () => prisma().auditEvent.count({ where: { action: { in: ['client.revoked', 'grant.revoked'] } } });
});

describe('service clients in the admin area', () => {
  let browser: Browser;
  let jwks: string;

  beforeAll(async () => {
    await prisma().project.upsert({ where: { key: 'OPS' }, create: { key: 'OPS', name: 'Operations' }, update: {} });
    browser = (await signIn(admin)).browser;
    const { generateKeyPair, exportJWK } = await import('jose');
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'k1' }] });
  });

  it('creates one from the page, shows its client id once, and lists it', async () => {
    const list = await page(browser, '/admin/service-clients');
    expect(list.status).toBe(200);
    const created = await browser.go('/admin/service-clients', { form: { csrf: csrfOf(list.html), name: 'Page bot', projects: 'ops', scope: 'tickets:read', method: 'private_key_jwt', jwks } });
    if (created.kind !== 'page') throw new Error('expected a page');
    expect(created.status).toBe(201);
    const clientId = /<code>(svc_[\w-]+)<\/code>/.exec(created.html)?.[1];
    expect(clientId).toBeTruthy();
    const again = await page(browser, '/admin/service-clients');
    expect(again.html).toContain(clientId!);
    expect(again.html).toContain('<code>OPS</code>');
    expect(await clientExists(clientId!)).toBe(true);
  });

  it("a secret client's secret is shown on the page right after creation", async () => {
    const list = await page(browser, '/admin/service-clients');
    const created = await browser.go('/admin/service-clients', { form: { csrf: csrfOf(list.html), name: 'Secret bot', projects: 'OPS', scope: 'tickets:read', method: 'client_secret_basic' } });
    if (created.kind !== 'page') throw new Error('expected a page');
    expect(created.status).toBe(201);
    expect(created.html).toMatch(/client_secret<\/dt><dd><code>[\w-]{40,}<\/code>/);
  });

  it('refuses a bad form with the reason and the form kept, creating nothing', async () => {
    const before = await prisma().user.count();
    const list = await page(browser, '/admin/service-clients');
    const refused = await browser.go('/admin/service-clients', { form: { csrf: csrfOf(list.html), name: 'Broken bot', projects: 'NOPE', scope: 'tickets:read', method: 'private_key_jwt', jwks } });
    if (refused.kind !== 'page') throw new Error('expected a page');
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('no project NOPE');
    expect(refused.html).toContain('value="Broken bot"');
    const badJson = await browser.go('/admin/service-clients', { form: { csrf: csrfOf(list.html), name: 'Broken bot', projects: 'OPS', scope: 'tickets:read', method: 'private_key_jwt', jwks: '{not json' } });
    if (badJson.kind !== 'page') throw new Error('expected a page');
    expect(badJson.status).toBe(400);
    expect(badJson.html).toContain('not valid JSON');
    expect(await prisma().user.count()).toBe(before);
  });

  it('refuses a form without the CSRF token, and a non-administrator', async () => {
    const forged = await browser.go('/admin/service-clients', { form: { name: 'Forged', projects: 'OPS', scope: 'tickets:read', method: 'client_secret_basic' } });
    expect(forged.kind === 'page' && forged.status).toBe(403);
    const bobBrowser = (await signIn(bob, '/account')).browser;
    expect((await page(bobBrowser, '/admin/service-clients')).status).toBe(403);
  });

  it('the API creates and lists them; bad bodies get invalid_request', async () => {
    const { tokens } = await adminApiToken(admin);
    const post = (body: unknown, raw?: string) =>
      fetch(`${issuer()}/admin/api/service-clients`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
    const created = await post({ name: 'API bot', projects: ['OPS'], scopes: ['tickets:read', 'tickets:write'], token_endpoint_auth_method: 'client_secret_basic' });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { client_id: string; client_secret: string; principal_id: string };
    expect(body.client_secret).toMatch(/^[\w-]{40,}$/);
    const listed = (await (await api('/service-clients', tokens.access_token)).json()) as { service_clients: { clientId: string; scopes: string[] }[] };
    expect(listed.service_clients.find((c) => c.clientId === body.client_id)?.scopes).toEqual(['tickets:read', 'tickets:write']);
    for (const [bad, why] of [
      [{ name: 'x', projects: ['OPS'], scopes: ['tickets:read'], token_endpoint_auth_method: 'private_key_jwt' }, /jwks/],
      [{ name: 'x', projects: ['OPS'], scopes: ['admin'], token_endpoint_auth_method: 'client_secret_basic' }, /unknown scope admin/],
      [{ name: 'x', projects: ['OPS'], scopes: ['tickets:read'], token_endpoint_auth_method: 'none' }, /token_endpoint_auth_method/],
    ] as const) {
      const res = await post(bad);
      expect(res.status).toBe(400);
      const error = (await res.json()) as { error: string; error_description: string };
      expect(error.error).toBe('invalid_request');
      expect(error.error_description).toMatch(why);
    }
    const malformed = await post(undefined, '{"name":');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('the users page and the API show how each account signs in', async () => {
    const users = await page(browser, '/admin/users');
    const rowOf = (text: string) => users.html.split('<tbody>')[1]!.split('<tr>').find((r) => r.includes(text))!;
    expect(rowOf(bob.email)).toContain('<td>password</td>');
    expect(rowOf('Page bot')).toContain('service principal');
    const { tokens } = await adminApiToken(admin);
    const listed = (await (await api('/users', tokens.access_token)).json()) as { users: { email: string; kind: string; localLogin: boolean; identities: unknown[] }[] };
    expect(listed.users.find((u) => u.email === bob.email)).toMatchObject({ kind: 'person', localLogin: true, identities: [] });
    expect(JSON.stringify(listed)).not.toContain('passwordHash');
  });
});

describe('registration hygiene', () => {
  it('purgeUnusedClients deletes registrations never used within CLIENT_UNUSED_TTL (audited), keeps used and recent ones', async () => {
    const stale = await newClient('Abandoned registration');
    const recent = await newClient('Fresh registration');
    const used = await newClient('Used registration');
    await grant(used, bob); // waits until its last use is recorded
    // Tokens issued, "last used" not yet written (the instant after a token response).
    const justUsed = await newClient('Just-used registration');
    await grant(justUsed, bob);
    const ttl = suite.as.config.CLIENT_UNUSED_TTL;
    const past = new Date(Date.now() - (ttl + 120) * 1000);
    await prisma().clientRegistration.updateMany({ where: { clientId: { in: [stale.client_id, used.client_id, justUsed.client_id] } }, data: { createdAt: past } });
    await prisma().clientRegistration.updateMany({ where: { clientId: justUsed.client_id }, data: { lastUsedAt: null } });

    const purged = await suite.as.running.admin.purgeUnusedClients(ttl, suite.as.config.CLIENT_IDLE_TTL);
    expect(purged).toContain(stale.client_id);
    expect(purged).not.toContain(recent.client_id);
    expect(purged).not.toContain(used.client_id);
    expect(purged).not.toContain(justUsed.client_id);
    expect(await clientExists(stale.client_id)).toBe(false);
    expect(await clientExists(justUsed.client_id)).toBe(true);
    expect(await clientExists(recent.client_id)).toBe(true);
    expect(await clientExists(used.client_id)).toBe(true);
    const event = await prisma().auditEvent.findFirst({ where: { action: 'client.revoked', clientId: stale.client_id } });
    expect(event).toMatchObject({ actorType: 'system', actorId: 'registration-hygiene', targetId: stale.client_id });
    // The client can no longer start an authorization.
    const res = await fetch(`${issuer()}/auth?${new URLSearchParams({ client_id: stale.client_id, response_type: 'code', redirect_uri: LOOPBACK_REDIRECT, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    // A second run finds nothing more to do for it.
    expect(await suite.as.running.admin.purgeUnusedClients(ttl, suite.as.config.CLIENT_IDLE_TTL)).not.toContain(stale.client_id);
  });
});

describe('a client deleting its own registration (RFC 7592)', () => {
  it('ends every grant and token issued to it, and tells the resource servers', async () => {
    const client = await newClient('Self-deleting client');
    const tokens = await grant(client, bob);
    expect(await isGrantActive(prisma(), tokens.grantId)).toBe(true);
    const notices: unknown[] = [];
    suite.as.running.admin.publisher.onLocal((event) => {
      notices.push(event);
    });
    const res = await fetch(client.registration_client_uri!, { method: 'DELETE', headers: { authorization: `Bearer ${client.registration_access_token}` } });
    expect(res.status).toBe(204);
    expect(await isGrantActive(prisma(), tokens.grantId)).toBe(false);
    expect(await prisma().oidcArtifact.count({ where: { OR: [{ clientId: client.client_id }, { grantId: tokens.grantId }] } })).toBe(0);
    // The client itself is unknown now (RFC 6749 §5.2: invalid_client, 401).
    const refreshed = await refresh(client, tokens);
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.error).toBe('invalid_client');
    expect(notices).toContainEqual({ type: 'client', clientId: client.client_id, grantIds: [tokens.grantId] });
  });
});

// The CLI is a second process on the same database: PGlite (one process only) cannot be shared.
describe('the admin CLI (a real child process)', () => {
  const onPostgres = () => suite.database.kind === 'postgres';
  const cli = (...args: string[]) =>
    exec(process.execPath, [CLI, ...args], {
      env: { ...process.env, DATABASE_URL: suite.database.url, USER: 'ops-tester', LOG_LEVEL: 'warn', REDIS_URL: '' },
      timeout: 60_000,
    });

  it.skipIf(!process.env.TEST_DATABASE_URL)('clients list|show|revoke, grants list|revoke, users list|add, clients purge-unused (needs TEST_DATABASE_URL: PGlite cannot be opened by a second process)', async () => {
    expect(onPostgres()).toBe(true);
    const client = await newClient('CLI client');
    const bobTokens = await grant(client, bob);
    const carolTokens = await grant(client, carol);

    const list = JSON.parse((await cli('clients', 'list', '--json')).stdout) as { clientId: string; users: string[] }[];
    expect(list.find((c) => c.clientId === client.client_id)?.users.sort()).toEqual([bob.email, carol.email].sort());
    expect((await cli('clients', 'list', '--search', 'CLI client')).stdout).toContain(client.client_id);
    const show = JSON.parse((await cli('clients', 'show', client.client_id)).stdout) as { grants: { grantId: string }[] };
    expect(show.grants.map((g) => g.grantId).sort()).toEqual([bobTokens.grantId, carolTokens.grantId].sort());
    const grants = JSON.parse((await cli('grants', 'list', '--client', client.client_id, '--user', bob.email, '--json')).stdout) as { grantId: string }[];
    expect(grants.map((g) => g.grantId)).toEqual([bobTokens.grantId]);

    expect((await cli('grants', 'revoke', bobTokens.grantId)).stdout).toContain(`revoked grant ${bobTokens.grantId}`);
    expect(await isGrantActive(prisma(), bobTokens.grantId)).toBe(false);
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(true);
    expect((await refresh(client, bobTokens)).body.error).toBe('invalid_grant');

    const revoked = await cli('clients', 'revoke', client.client_id);
    expect(revoked.stdout).toContain(`revoked client ${client.client_id}: 1 grant(s)`);
    expect(await clientExists(client.client_id)).toBe(false);
    expect(await isGrantActive(prisma(), carolTokens.grantId)).toBe(false);
    expect(['invalid_grant', 'invalid_client']).toContain((await refresh(client, carolTokens)).body.error);
    const events = await prisma().auditEvent.findMany({ where: { clientId: client.client_id, action: { in: ['client.revoked', 'grant.revoked'] } }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.action, e.actorType, e.actorId])).toEqual([
      ['grant.revoked', 'admin', 'cli:ops-tester'],
      ['client.revoked', 'admin', 'cli:ops-tester'],
    ]);

    // Unknown ids: exit code 1 with a message, nothing recorded.
    await expect(cli('clients', 'revoke', client.client_id)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`no client ${client.client_id}`) });
    await expect(cli('grants', 'revoke', 'no-such-grant')).rejects.toMatchObject({ code: 1 });
    await expect(cli('clients', 'frobnicate')).rejects.toMatchObject({ code: 2 });
    // Ids are base64url and may start with '-': taken as ids, not as options.
    await expect(cli('grants', 'revoke', '-R7QPdoesnotexist')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no grant -R7QPdoesnotexist') });
    await expect(cli('clients', 'show', '-x')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no client -x') });

    // Users: add (password from ADMIN_NEW_PASSWORD), list; the new admin can sign in to /admin.
    const added = await exec(process.execPath, [CLI, 'users', 'add', 'erin@example.com', '--admin', '--name', 'Erin'], {
      env: { ...process.env, DATABASE_URL: suite.database.url, USER: 'ops-tester', ADMIN_NEW_PASSWORD: 'Erin-Secret-123', REDIS_URL: '' },
    });
    expect(added.stdout).toMatch(/added admin erin@example.com/);
    const users = (await cli('users', 'list')).stdout;
    expect(users).toContain('erin@example.com');
    expect(users).toContain(bob.email);
    const { landing } = await signIn({ id: '', email: 'erin@example.com', password: 'Erin-Secret-123' }, '/admin');
    expect(landing.kind === 'page' && landing.status).toBe(200);
    expect(landing.kind === 'page' && landing.html).toContain('Registered clients');

    // purge-unused through the CLI.
    const stale = await newClient('CLI stale');
    await prisma().clientRegistration.updateMany({ where: { clientId: stale.client_id }, data: { createdAt: new Date(Date.now() - 10 * 86_400_000) } });
    expect((await cli('clients', 'purge-unused')).stdout).toMatch(/purged [1-9]\d* unused registration/);
    expect(await clientExists(stale.client_id)).toBe(false);
    expect(await prisma().auditEvent.count({ where: { action: 'client.revoked', clientId: stale.client_id, actorId: 'registration-hygiene' } })).toBe(1);
  }, 300_000); // a dozen child processes, each connecting and checking migrations
});
