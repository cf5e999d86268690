import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startUpstreamIdp, tokenRequest, type UpstreamIdp } from '@mcp-gw/testkit';
import { AccessTokenVerifier } from '@mcp-gw/shared';
import { AccountService } from '../src/accounts.js';
import { Browser, csrfOf, decide, isConsentPage, LOOPBACK_REDIRECT, publicClient, startAuthorization, startSuite, submitLogin, type Step, type Suite } from './helpers.js';

// Sign-in through the company's IdP: a second, real oidc-provider on loopback with its own users and
// keys. Every step goes over HTTP as a browser's would; the IdP's redirects are followed, not faked.
describe('upstream OpenID Connect sign-in', () => {
  let suite: Suite;
  let idp: UpstreamIdp;
  let entra: UpstreamIdp;
  let clientId: string;
  let downPort: number;

  beforeAll(async () => {
    const port = await freePort();
    downPort = await freePort(); // nothing listens there: an IdP that is down
    const issuer = `http://127.0.0.1:${port}`;
    const users = [
      { sub: 'u-carol', email: 'carol@corp.example', email_verified: true, name: 'Carol Corp', password: 'carol-pw', groups: ['mcp-users'] },
      { sub: 'u-dave', email: 'dave@gmail.example', email_verified: true, name: 'Dave', password: 'dave-pw' },
      { sub: 'u-erin', email: 'erin@corp.example', email_verified: false, name: 'Erin', password: 'erin-pw' },
      { sub: 'u-alice', email: 'alice@example.com', email_verified: true, name: 'Alice upstream', password: 'alice-pw' },
      { sub: 'u-frank', email: 'frank@corp.example', email_verified: true, name: 'Frank', password: 'frank-pw', groups: ['other'] },
    ];
    idp = await startUpstreamIdp({ users, clients: [{ client_id: 'gateway', client_secret: 'gateway-secret', redirect_uris: [`${issuer}/federation/corp/callback`] }] });
    // Like Entra ID: claims in the ID token, no email_verified.
    entra = await startUpstreamIdp({
      users: [{ sub: 'entra-gina', email: 'gina@corp.example', name: 'Gina', password: 'gina-pw', groups: ['mcp-users'] }, { sub: 'entra-alice', email: 'alice@example.com', name: 'Alice?', password: 'x-pw', groups: ['mcp-users'] }],
      clients: [{ client_id: 'gw-entra', client_secret: 'entra-secret', redirect_uris: [`${issuer}/federation/entra/callback`] }],
      claimsInIdToken: true,
    });
    suite = await startSuite({
      PORT: String(port),
      ISSUER: issuer,
      IDP_CORP_ISSUER: idp.issuer,
      IDP_CORP_CLIENT_ID: 'gateway',
      IDP_CORP_CLIENT_SECRET: 'gateway-secret',
      IDP_CORP_NAME: 'Corp SSO',
      IDP_CORP_ALLOWED_DOMAINS: 'corp.example, example.com',
      IDP_ENTRA_ISSUER: entra.issuer,
      IDP_ENTRA_CLIENT_ID: 'gw-entra',
      IDP_ENTRA_CLIENT_SECRET: 'entra-secret',
      IDP_ENTRA_REQUIRED_CLAIM: 'groups=mcp-users',
      IDP_ENTRA_SCOPE: 'openid email profile groups',
      IDP_DOWN_ISSUER: `http://127.0.0.1:${downPort}`,
      IDP_DOWN_CLIENT_ID: 'nobody',
    });
    clientId = (await publicClient(suite.as)).client_id;
  });
  afterAll(async () => {
    await suite?.close();
    await idp?.close();
    await entra?.close();
  });

  const page = (step: Step) => {
    if (step.kind !== 'page') throw new Error(`expected a page, got a redirect to ${step.location}`);
    return step;
  };
  const users = () => suite.database.db.prisma.user.findMany({ include: { identities: true }, orderBy: { email: 'asc' } });
  /** The email_verified claim the ID token and userinfo carry for this account. */
  const emailVerified = async (sub: string) => AccountService.claims((await suite.as.running.accounts.find(sub))!).email_verified;

  /** Our sign-in page → "Continue with <IdP>" → the IdP's form → back to us: the step that follows. */
  async function signInUpstream(options: { idp: string; login: string; password: string; tamper?: (url: URL) => void }) {
    const start = await startAuthorization(suite.as, clientId);
    const login = page(start.step);
    const action = new RegExp(`action="([^"]+/federated/${options.idp})"`).exec(login.html)?.[1];
    if (!action) throw new Error(`no ${options.idp} button on ${login.html.slice(0, 500)}`);
    const toIdp = await start.browser.go(action, { form: { csrf: csrfOf(login.html) } });
    if (toIdp.kind !== 'redirect') return { ...start, step: toIdp };
    const authorizeUrl = toIdp.location;
    options.tamper?.(authorizeUrl);
    const atIdp = new Browser(authorizeUrl.origin);
    const idpForm = page(await atIdp.go(authorizeUrl));
    expect(idpForm.html).toContain('Company IdP');
    const back = await atIdp.go(idpForm.url, { form: { login: options.login, password: options.password } });
    if (back.kind !== 'redirect') throw new Error(`the IdP did not send the browser back: ${back.status} ${back.html.slice(0, 300)}`);
    return { ...start, authorizeUrl, callbackUrl: back.location, step: await start.browser.go(back.location) };
  }

  it('offers a button per IdP beside the password form', async () => {
    const login = page((await startAuthorization(suite.as, clientId)).step);
    expect(login.html).toContain('Continue with Corp SSO');
    expect(login.html).toContain('Continue with Entra');
    expect(login.html).toContain('name="password"');
  });

  it('signs a new person in through the IdP (code + PKCE + state + nonce), creates the account, and the token works', async () => {
    const flow = await signInUpstream({ idp: 'corp', login: 'u-carol', password: 'carol-pw' });
    const sent = flow.authorizeUrl!.searchParams;
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('nonce')).toBeTruthy();
    expect(sent.get('state')).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(sent.get('redirect_uri')).toBe(`${suite.as.issuer}/federation/corp/callback`);
    expect(isConsentPage(flow.step)).toBe(true);
    expect(page(flow.step).html).toContain('carol@corp.example');
    const done = await decide(flow.browser, flow.step, 'approve');
    if (done.kind !== 'redirect') throw new Error('no redirect to the client');
    const code = done.location.searchParams.get('code')!;
    const { status, body } = await tokenRequest(suite.as.issuer, {
      grant_type: 'authorization_code', code, redirect_uri: LOOPBACK_REDIRECT, code_verifier: flow.verifier, client_id: clientId, resource: suite.as.config.MCP_RESOURCE_URL,
    });
    expect(status).toBe(200);
    const carol = (await users()).find((u) => u.email === 'carol@corp.example')!;
    expect(carol).toMatchObject({ name: 'Carol Corp', passwordHash: null });
    expect(carol.identities).toEqual([expect.objectContaining({ provider: 'corp', issuer: idp.issuer, subject: 'u-carol' })]);
    const verifier = new AccessTokenVerifier({ issuer: suite.as.issuer, audience: suite.as.config.MCP_RESOURCE_URL, jwksUri: `${suite.as.issuer}/jwks` });
    expect((await verifier.verify(String(body.access_token))).sub).toBe(carol.id);
    const audit = await suite.database.db.prisma.auditEvent.findMany({ where: { actorId: carol.id } });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['user.created', 'login.succeeded']));
  });

  it('finds the same account on the next sign-in, by iss + sub', async () => {
    const before = (await users()).length;
    const flow = await signInUpstream({ idp: 'corp', login: 'u-carol', password: 'carol-pw' });
    expect(flow.step.kind === 'redirect' || isConsentPage(flow.step)).toBe(true);
    expect((await users()).length).toBe(before);
  });

  it('refuses an email domain that is not allowed, and creates nothing', async () => {
    const before = (await users()).length;
    const flow = await signInUpstream({ idp: 'corp', login: 'u-dave', password: 'dave-pw' });
    const refused = page(flow.step);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('Accounts of gmail.example cannot sign in here through Corp SSO');
    expect(refused.html).toContain('Continue with Corp SSO'); // the sign-in page again, to try another way
    expect((await users()).length).toBe(before);
  });

  it('refuses an address the IdP says is unverified', async () => {
    const refused = page((await signInUpstream({ idp: 'corp', login: 'u-erin', password: 'erin-pw' })).step);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('erin@corp.example is not verified');
  });

  it('refuses a disabled account, however the IdP signed it in', async () => {
    await suite.database.db.prisma.user.update({ where: { email: 'carol@corp.example' }, data: { disabledAt: new Date() } });
    try {
      const refused = page((await signInUpstream({ idp: 'corp', login: 'u-carol', password: 'carol-pw' })).step);
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('is disabled here');
    } finally {
      await suite.database.db.prisma.user.update({ where: { email: 'carol@corp.example' }, data: { disabledAt: null } });
    }
  });

  it('links an existing local account when the IdP vouches for its email; one without email_verified may not take it over', async () => {
    expect(await emailVerified(suite.as.user.id)).toBe(false); // an address an administrator typed
    const refused = page((await signInUpstream({ idp: 'entra', login: 'entra-alice', password: 'x-pw' })).step);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('An account for alice@example.com already exists');
    const linked = await signInUpstream({ idp: 'corp', login: 'u-alice', password: 'alice-pw' });
    expect(isConsentPage(linked.step)).toBe(true);
    const alice = (await users()).find((u) => u.email === 'alice@example.com')!;
    expect(alice.id).toBe(suite.as.user.id);
    expect(alice.identities.map((i) => i.provider)).toEqual(['corp']);
    // Her password still works: linking adds a way in, it takes none away.
    const start = await startAuthorization(suite.as, clientId);
    expect(isConsentPage(await submitLogin(start.browser, start.step, suite.as.user.email, suite.as.user.password))).toBe(true);
  });

  it('the administrator sees which IdP each account signs in through (users page and API)', async () => {
    const listed = await suite.as.running.admin.listUsers();
    expect(listed.find((u) => u.email === 'carol@corp.example')).toMatchObject({ kind: 'person', localLogin: false, identities: [{ provider: 'corp', email: 'carol@corp.example' }] });
    expect(listed.find((u) => u.email === 'alice@example.com')).toMatchObject({ localLogin: true, identities: [{ provider: 'corp' }] });
    const browser = new Browser(suite.as.issuer);
    let step = await browser.go('/console/login?return_to=%2Fadmin%2Fusers');
    step = await submitLogin(browser, step, suite.as.user.email, suite.as.user.password);
    const users = page(step.kind === 'page' && step.url.pathname === '/admin/users' ? step : await browser.go('/admin/users'));
    const carolRow = users.html.split('<tr>').find((r) => r.includes('carol@corp.example'))!;
    expect(carolRow).toContain('<code>corp</code>');
    expect(carolRow).not.toContain('password');
  });

  it('applies a claim rule (groups=mcp-users) and reads claims from the ID token', async () => {
    const ok = await signInUpstream({ idp: 'entra', login: 'entra-gina', password: 'gina-pw' });
    expect(isConsentPage(ok.step)).toBe(true);
    expect((await users()).find((u) => u.email === 'gina@corp.example')?.identities[0]).toMatchObject({ provider: 'entra', subject: 'entra-gina' });
  });

  it('says email_verified only where an IdP vouched for the address', async () => {
    const byEmail = async (email: string) => emailVerified((await users()).find((u) => u.email === email)!.id);
    expect(await byEmail('carol@corp.example')).toBe(true); // Corp SSO said email_verified: true
    expect(await byEmail('alice@example.com')).toBe(true); // linked through Corp SSO, which vouched
    expect(await byEmail('gina@corp.example')).toBe(false); // Entra said nothing and is not trusted to
  });

  it('refuses an answer whose state was changed (login CSRF, mix-up)', async () => {
    const before = (await users()).length;
    const flow = await signInUpstream({ idp: 'corp', login: 'u-frank', password: 'frank-pw', tamper: (url) => url.searchParams.set('state', `${url.searchParams.get('state')!.split('.')[0]}.forged`) });
    const refused = page(flow.step);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('does not belong to the sign-in you started');
    expect((await users()).length).toBe(before);
  });

  it('refuses an ID token whose nonce is not the one sent', async () => {
    const before = (await users()).length;
    const flow = await signInUpstream({ idp: 'corp', login: 'u-frank', password: 'frank-pw', tamper: (url) => url.searchParams.set('nonce', 'another-nonce') });
    const refused = page(flow.step);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('The answer from Corp SSO failed its checks');
    expect((await users()).length).toBe(before);
    const audit = await suite.database.db.prisma.auditEvent.findFirst({ where: { action: 'login.failed' }, orderBy: { id: 'desc' } });
    expect(audit?.details).toMatchObject({ idp: 'corp', reason: 'id_token_invalid' });
  });

  it('refuses an answer replayed after the sign-in used it', async () => {
    const flow = await signInUpstream({ idp: 'corp', login: 'u-carol', password: 'carol-pw' });
    expect(isConsentPage(flow.step)).toBe(true);
    const callback = flow.browser.trail.find((t) => t.includes('/federated/corp/callback'))!;
    expect(callback).toBeTruthy();
    // The same answer again in the same browser: its pending sign-in was used up.
    const again = await flow.browser.go(flow.callbackUrl!);
    expect(again.kind === 'page' && again.status).toBe(400);
  });

  it('shows a clear page when the IdP is down, and creates nothing', async () => {
    const before = (await users()).length;
    const start = await startAuthorization(suite.as, clientId);
    const login = page(start.step);
    const action = /action="([^"]+\/federated\/down)"/.exec(login.html)![1]!;
    const refused = page(await start.browser.go(action, { form: { csrf: csrfOf(login.html) } }));
    expect(refused.status).toBe(502);
    expect(refused.html).toContain('Down cannot be reached right now');
    expect(refused.html).toContain('name="password"');
    expect((await users()).length).toBe(before);
  });

  it('refuses a callback with no sign-in in progress', async () => {
    const stray = page(await new Browser(suite.as.issuer).go('/federation/corp/callback?code=x&state=nothing'));
    expect(stray.status).toBe(400);
    expect(stray.html).toContain('does not belong to a sign-in in progress');
  });
});
