import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { InMemoryOAuthProvider, startCallbackServer, type CallbackCapture } from '../support/oauth-client.js';
import { startSystem, type RunningSystem } from '../support/system.js';

const ACCESS_TOKEN_TTL = 10;

async function connect(url: string, provider: InMemoryOAuthProvider) {
  const client = new Client({ name: 'e2e-sdk-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  await client.connect(transport);
  return { client, transport };
}

async function signInAndApprove(page: Page, email: string, password: string, shots: string): Promise<void> {
  await page.locator('input[name=email]').waitFor();
  await page.screenshot({ path: screenshotPath(`${shots}-1-login`), fullPage: true });
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  await page.screenshot({ path: screenshotPath(`${shots}-2-consent`), fullPage: true });
}

// Starts the system the way README does, then knows nothing but the MCP URL (and the demo login it printed).
describe('a real MCP client: SDK OAuth + Chromium consent, tools, refresh, revocation', () => {
  let system: RunningSystem;
  let callback: CallbackCapture;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    system = await startSystem({ ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) });
    callback = await startCallbackServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await callback?.close();
    await system?.stop();
  });

  it('connects by URL, walks consent, calls tools, refreshes, and re-authorizes after an admin revokes it', async () => {
    const provider = new InMemoryOAuthProvider(callback.url);

    // 1. First request → 401 → PRM → AS metadata → dynamic registration → authorization URL.
    await expect(connect(system.mcpUrl, provider)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(provider.client?.client_id).toBeTruthy();
    const authUrl = provider.authorizationUrls[0]!;
    expect(authUrl.origin).toBe(system.issuer);
    expect(authUrl.searchParams.get('resource')).toBe(system.mcpUrl);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');

    // 2. The person signs in and approves in a real browser; the code arrives on the loopback redirect.
    const page = await browser.context.newPage();
    await page.goto(authUrl.toString());
    await signInAndApprove(page, system.demoEmail, system.demoPassword, 'sdk-flow');
    const consentText = await page.locator('main').innerText();
    expect(consentText).toContain('E2E MCP client');
    expect(consentText).toContain('127.0.0.1');
    expect(consentText).toContain(system.mcpUrl);
    expect(consentText).toContain('Search and read tickets');
    const redirected = callback.next();
    await page.getByRole('button', { name: 'Approve' }).click();
    const params = await redirected;
    expect(params.get('iss')).toBe(system.issuer);
    const code = params.get('code');
    expect(code).toBeTruthy();

    // 3. finishAuth exchanges the code; a new connection lists and calls tools.
    const { transport: authTransport } = { transport: new StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider }) };
    await authTransport.finishAuth(code!);
    expect(provider.savedTokens?.refresh_token).toBeTruthy();
    const { client } = await connect(system.mcpUrl, provider);
    const tools = await client.listTools();
    const names = tools.tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['search_tickets', 'get_ticket', 'create_ticket', 'comment_on_ticket', 'update_ticket', 'close_ticket']));

    const search = await client.callTool({ name: 'search_tickets', arguments: { status: 'open', limit: 5 } });
    expect(search.isError).toBeFalsy();
    expect((search.structuredContent as { tickets: unknown[] }).tickets.length).toBeGreaterThan(0);

    const created = await client.callTool({
      name: 'create_ticket',
      arguments: { project: 'OPS', title: 'E2E: printer queue stuck', body: 'Jobs stay queued since the 9:00 deploy.', idempotency_key: 'e2e-create-0001' },
    });
    expect(created.isError).toBeFalsy();
    const ticketId = (created.structuredContent as { ticket: { id: string } }).ticket.id;
    expect(ticketId).toMatch(/^T-\d+$/);

    // 4. The access token expires; the SDK refreshes it with the rotated refresh token and carries on.
    const firstAccess = provider.savedTokens!.access_token;
    await new Promise((resolve) => setTimeout(resolve, (ACCESS_TOKEN_TTL + 6) * 1000));
    const { client: afterExpiry } = await connect(system.mcpUrl, provider);
    const got = await afterExpiry.callTool({ name: 'get_ticket', arguments: { ticket_id: ticketId } });
    expect(got.isError).toBeFalsy();
    expect(provider.savedTokens!.access_token).not.toBe(firstAccess);
    expect(provider.tokenHistory.length).toBeGreaterThanOrEqual(2);

    // 5. An admin revokes the client in the admin area (same browser: already signed in as the demo admin).
    await page.goto(`${system.issuer}/admin`);
    await page.screenshot({ path: screenshotPath('sdk-flow-3-admin-clients'), fullPage: true });
    await page.goto(`${system.issuer}/admin/clients/${encodeURIComponent(provider.client!.client_id)}/revoke`);
    await page.screenshot({ path: screenshotPath('sdk-flow-4-admin-confirm'), fullPage: true });
    await page.getByRole('button', { name: 'Revoke client' }).click();
    await page.waitForURL(/\/admin\?done=/);
    expect(await page.locator('main').innerText()).toContain('Revoked');
    await page.screenshot({ path: screenshotPath('sdk-flow-5-admin-revoked'), fullPage: true });

    // 6. The next call with the old token is refused and the SDK starts a new authorization.
    const before = provider.authorizationUrls.length;
    const outcome = await afterExpiry.callTool({ name: 'search_tickets', arguments: { limit: 1 } }).then(
      (r) => ({ ok: true as const, r }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    expect(outcome.ok).toBe(false);
    expect(provider.authorizationUrls.length).toBe(before + 1);
    await afterExpiry.close().catch(() => {});
    await client.close().catch(() => {});
  });
});
