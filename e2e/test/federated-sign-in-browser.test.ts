// A person signs in through the company's identity provider in Chromium — a second, real oidc-provider
// on loopback with its own users, keys and sign-in form — approves our consent page, and a real MCP
// client (SDK) then calls tools as that person. An email domain the IdP may not let in gets a clear
// page, and no account.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { freePort, startUpstreamIdp, type UpstreamIdp } from '@mcp-gw/testkit';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { InMemoryOAuthProvider, startCallbackServer, type CallbackCapture } from '../support/oauth-client.js';
import { repoRoot, startSystem, type RunningSystem } from '../support/system.js';

describe('federated sign-in in Chromium: company IdP → our consent → tool calls', () => {
  let system: RunningSystem;
  let idp: UpstreamIdp;
  let callback: CallbackCapture;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    const idpPort = await freePort();
    let idpStarted: Promise<UpstreamIdp> | undefined;
    system = await startSystem(({ auth }) => {
      // The IdP knows our callback only once the port is chosen; it is up before anyone signs in.
      idpStarted = startUpstreamIdp({
        port: idpPort,
        users: [
          { sub: 'okta-0001', email: 'maria@corp.example', email_verified: true, name: 'Maria Corp', password: 'maria-idp-pw' },
          { sub: 'okta-0002', email: 'guest@partner.example', email_verified: true, name: 'Guest', password: 'guest-idp-pw' },
        ],
        clients: [{ client_id: 'mcp-gateway', client_secret: 'gateway-secret', redirect_uris: [`http://localhost:${auth}/federation/corp/callback`] }],
      });
      return {
        IDP_CORP_ISSUER: `http://127.0.0.1:${idpPort}`,
        IDP_CORP_CLIENT_ID: 'mcp-gateway',
        IDP_CORP_CLIENT_SECRET: 'gateway-secret',
        IDP_CORP_NAME: 'Corp SSO',
        IDP_CORP_ALLOWED_DOMAINS: 'corp.example',
      };
    });
    idp = await idpStarted!;
    callback = await startCallbackServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await system?.stop();
    await idp?.close();
  });

  /** The accounts as the administrator sees them (`pnpm admin users list --json`). */
  async function users(): Promise<{ id: string; email: string; localLogin: boolean; identities: { provider: string }[] }[]> {
    const { DATABASE_URL: _db, KEY_ENCRYPTION_KEY: _key, REDIS_URL: _redis, ...rest } = process.env;
    const cli = path.join(repoRoot, 'apps/auth-server/dist/cli/admin.js');
    return JSON.parse((await promisify(execFile)(process.execPath, [cli, 'users', 'list', '--json'], { cwd: repoRoot, env: { ...rest, DATA_DIR: system.dataDir } })).stdout);
  }

  /** The SDK's first connection: 401 → discovery → registration → the authorization URL it would open. */
  async function authorizationUrl(provider: InMemoryOAuthProvider): Promise<URL> {
    const client = new Client({ name: 'e2e-federated', version: '1.0.0' });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider }))).rejects.toBeInstanceOf(UnauthorizedError);
    return provider.authorizationUrls.at(-1)!;
  }

  it('signs in at the IdP, approves our consent, and the client calls tools as that person', async () => {
    const provider = new InMemoryOAuthProvider(callback.url);
    const page = await browser.context.newPage();
    await page.goto((await authorizationUrl(provider)).toString());
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    // The IdP's own sign-in form, on its own origin.
    await page.locator('input[name=login]').waitFor();
    expect(new URL(page.url()).origin).toBe(idp.issuer);
    await page.screenshot({ path: screenshotPath('federated-1-idp-login'), fullPage: true });
    await page.fill('input[name=login]', 'okta-0001');
    await page.fill('input[name=password]', 'maria-idp-pw');
    await page.getByRole('button', { name: 'Sign in at the IdP' }).click();
    // Back on our consent page, signed in as the person the IdP vouched for.
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    expect(new URL(page.url()).origin).toBe(system.issuer);
    await page.screenshot({ path: screenshotPath('federated-2-consent'), fullPage: true });
    const consent = await page.locator('main').innerText();
    expect(consent).toContain('E2E MCP client');
    expect(consent).toContain(system.mcpUrl);
    expect(consent).toContain('Search and read tickets');
    const redirected = callback.next();
    await page.getByRole('button', { name: 'Approve' }).click();
    const code = (await redirected).get('code');
    expect(code).toBeTruthy();
    await page.close();

    await new StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider }).finishAuth(code!);
    const client = new Client({ name: 'e2e-federated', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider }));
    const whoami = await client.callTool({ name: 'whoami', arguments: {} });
    expect(whoami.isError).toBeFalsy();
    const claims = JSON.parse(Buffer.from(provider.savedTokens!.access_token.split('.')[1]!, 'base64url').toString()) as { sub: string };
    expect((whoami.structuredContent as { user_id: string }).user_id).toBe(claims.sub);
    // The account was created just in time for the IdP's person, linked by its iss + sub.
    const maria = (await users()).find((u) => u.email === 'maria@corp.example');
    expect(maria).toMatchObject({ id: claims.sub, localLogin: false, identities: [{ provider: 'corp' }] });
    const projects = await client.callTool({ name: 'list_projects', arguments: {} });
    expect(projects.isError).toBeFalsy();
    await client.close();
  });

  it('shows a clear page for an email domain the IdP may not let in, and creates no account', async () => {
    const provider = new InMemoryOAuthProvider(callback.url);
    // A fresh browser: no session here or at the IdP from the first person.
    const context = await browser.browser.newContext();
    const page = await context.newPage();
    await page.goto((await authorizationUrl(provider)).toString());
    await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
    await page.locator('input[name=login]').waitFor();
    await page.fill('input[name=login]', 'okta-0002');
    await page.fill('input[name=password]', 'guest-idp-pw');
    await page.getByRole('button', { name: 'Sign in at the IdP' }).click();
    await page.getByText('partner.example').first().waitFor();
    expect(new URL(page.url()).origin).toBe(system.issuer);
    await page.screenshot({ path: screenshotPath('federated-3-domain-refused'), fullPage: true });
    const text = await page.locator('main').innerText();
    expect(text).toContain('partner.example');
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    // The sign-in page is offered again: the person can use another way in.
    expect(await page.getByRole('button', { name: 'Continue with Corp SSO' }).count()).toBe(1);
    await context.close();
    expect((await users()).some((u) => u.email === 'guest@partner.example')).toBe(false);
  });
});
