// The admin area in Debian's Chromium: an administrator signs in at /admin, opens a client, revokes one
// user's grant and then the client (both behind a confirmation page), and reads the audit trail
// filtered by `client.` — on a desktop (1100 px) and a phone (390 px) viewport, with screenshots in
// test-results/screenshots/admin-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, authorize, registerClient, tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { postgresUnavailable, startCluster, type Cluster } from '../support/cluster.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const pgSkip = await postgresUnavailable();
if (pgSkip && process.env.CI) throw new Error(`${pgSkip}: the admin browser test needs it in CI`);
if (pgSkip) console.warn(`SKIPPED admin-browser: ${pgSkip}`);

interface Person {
  email: string;
  password: string;
  jar: CookieJar;
}

async function consent(cluster: Cluster, client: RegisteredClient, person: Person): Promise<{ refresh_token: string }> {
  const result = await authorize({
    issuer: cluster.issuer,
    clientId: client.client_id,
    redirectUri: REDIRECT,
    email: person.email,
    password: person.password,
    jar: person.jar,
    scope: 'tickets:read tickets:write',
    resource: cluster.resource,
  });
  const { status, body } = await tokenRequest(cluster.issuer, {
    grant_type: 'authorization_code',
    code: result.code!,
    redirect_uri: REDIRECT,
    client_id: client.client_id,
    code_verifier: result.verifier,
    resource: cluster.resource,
  });
  if (status !== 200) throw new Error(`token exchange failed: ${status} ${JSON.stringify(body)}`);
  return body as { refresh_token: string };
}

const refresh = (cluster: Cluster, client: RegisteredClient, token: string) =>
  tokenRequest(cluster.issuer, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id, resource: cluster.resource });

describe.skipIf(!!pgSkip)('the admin area in Chromium', () => {
  let cluster: Cluster;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let admin: Person;
  let bob: Person;

  beforeAll(async () => {
    cluster = await startCluster({ mcpProcesses: 0 });
    admin = { email: cluster.demoEmail, password: cluster.demoPassword, jar: new CookieJar() };
    bob = { email: 'bob@example.com', password: 'Bob-Secret-123', jar: new CookieJar() };
    await cluster.cli(['users', 'add', bob.email, '--name', 'Bob Builder'], { ADMIN_NEW_PASSWORD: bob.password });
    browser = await launchBrowser();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  for (const width of [1100, 390]) {
    it(`signs in, revokes a user's grant and then the client, reads the audit trail (${width} px)`, async () => {
      const app = await registerClient(cluster.issuer, {
        client_name: `Ticket Copilot ${width}`,
        redirect_uris: [REDIRECT, 'http://localhost:33418/oauth/callback/with/a/rather/long/path/that/must/wrap'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      });
      const bobTokens = await consent(cluster, app, bob);
      const adminTokens = await consent(cluster, app, admin);

      const context = await browser.browser.newContext({ viewport: { width, height: width > 500 ? 900 : 844 } });
      const page = await context.newPage();
      const shot = async (name: string) => {
        await page.screenshot({ path: screenshotPath(`admin-${name}-${width}`), fullPage: true });
        // Nothing may stick out sideways (tables scroll inside their own box).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${name} at ${width}px overflows horizontally by ${overflow}px`).toBeLessThanOrEqual(0);
      };
      try {
        // Anonymous → sign-in page → the clients list.
        await page.goto(`${cluster.issuer}/admin`);
        await page.locator('input[name=email]').waitFor();
        await shot('1-login');
        await page.fill('input[name=email]', admin.email);
        await page.fill('input[name=password]', admin.password);
        await page.click('button[type=submit]');
        await page.waitForURL(`${cluster.issuer}/admin`);
        const row = page.locator('tbody tr', { hasText: app.client_id });
        await expect.poll(() => row.innerText()).toContain(bob.email);
        expect(await row.innerText()).toContain(admin.email);
        expect(await row.innerText()).toContain('tickets:write');
        await shot('2-clients');

        // The client's detail page: its grants, one per user.
        await page.click(`a[href="/admin/clients/${encodeURIComponent(app.client_id)}"]`);
        await page.waitForURL(/\/admin\/clients\/[^/]+$/);
        expect(await page.locator('h1').innerText()).toBe(`Ticket Copilot ${width}`);
        expect(await page.locator('main').innerText()).toContain('Grants (2)');
        await shot('3-client-detail');

        // Revoke Bob's grant: a confirmation page first.
        await page.locator('tbody tr', { hasText: bob.email }).getByRole('button', { name: 'Revoke' }).click();
        await page.getByRole('button', { name: 'Revoke access' }).waitFor();
        expect(await page.locator('main').innerText()).toContain(bob.email);
        await shot('4-grant-confirm');
        await page.getByRole('button', { name: 'Revoke access' }).click();
        await page.waitForURL(/done=Grant/);
        expect(await page.locator('main').innerText()).toContain('Grants (1)');
        expect(await page.locator('tbody').innerText()).not.toContain(bob.email);
        await shot('5-grant-revoked');
        expect((await refresh(cluster, app, bobTokens.refresh_token)).body.error).toBe('invalid_grant');
        const adminRefresh = await refresh(cluster, app, adminTokens.refresh_token);
        expect(adminRefresh.status).toBe(200);

        // Revoke the client: the confirmation page names who loses access.
        await page.getByRole('link', { name: 'Revoke this client…' }).click();
        await page.getByRole('button', { name: 'Revoke client' }).waitFor();
        const confirmText = await page.locator('main').innerText();
        expect(confirmText).toContain(`Revoke Ticket Copilot ${width}?`);
        expect(confirmText).toContain(admin.email);
        await shot('6-client-confirm');
        await page.getByRole('button', { name: 'Revoke client' }).click();
        await page.waitForURL(/\/admin\?done=/);
        expect(await page.locator('[role=status]').innerText()).toContain(`Revoked ${app.client_id}: 1 grant(s)`);
        expect(await page.locator('tbody').innerText()).not.toContain(app.client_id);
        await shot('7-client-revoked');
        expect(['invalid_grant', 'invalid_client']).toContain((await refresh(cluster, app, String(adminRefresh.body.refresh_token))).body.error);

        // The audit trail, filtered by `client.`.
        await page.getByRole('link', { name: 'Audit trail' }).click();
        await page.fill('input[name=action]', 'client.');
        await page.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL(/action=client\./);
        const actions = await page.locator('tbody tr td:nth-child(3)').allInnerTexts();
        expect(actions.length).toBeGreaterThan(0);
        for (const a of actions) expect(a).toMatch(/^client\./);
        const revoked = page.locator('tbody tr', { hasText: 'client.revoked' }).filter({ hasText: app.client_id });
        expect(await revoked.count()).toBe(1);
        await shot('8-audit');

        await page.getByRole('link', { name: 'Users' }).click();
        await page.waitForURL(/\/admin\/users/);
        expect(await page.locator('tbody').innerText()).toContain(bob.email);
        await shot('9-users');
      } finally {
        await context.close();
      }
    });
  }
});
