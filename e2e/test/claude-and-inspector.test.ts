import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkcePair, registerClient } from '@mcp-gw/testkit';
import { launchBrowser, screenshotPath } from '../support/browser.js';
import { startSystem, type RunningSystem } from '../support/system.js';

const CLAUDE_CALLBACK = 'https://claude.ai/api/mcp/auth_callback';
const INSPECTOR_ORIGIN = 'http://localhost:6274';

describe('what Claude Desktop / claude.ai and the MCP Inspector do', () => {
  let system: RunningSystem;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    // The Inspector's direct mode calls /mcp from its page: its origin is allowed as documented in README.
    system = await startSystem({ ALLOWED_ORIGINS: INSPECTOR_ORIGIN });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await system?.stop();
  });

  async function walk(decision: 'Approve' | 'Deny', shots: string) {
    // claude.ai's exact registration body (its backend registers, then sends the person's browser).
    const client = await registerClient(system.issuer, {
      client_name: 'claudeai',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'claudeai',
      redirect_uris: [CLAUDE_CALLBACK],
    });
    expect(client.client_secret).toBeTruthy();
    expect(Object.values(client).includes(null)).toBe(false);
    const { challenge } = pkcePair();
    const state = `claude-${Math.random().toString(36).slice(2)}`;
    const url = new URL(`${system.issuer}/auth`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: CLAUDE_CALLBACK,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      resource: system.mcpUrl,
      prompt: 'consent',
      scope: ' tickets:read tickets:write',
    }).toString();

    const context = await browser.browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    // claude.ai is not reachable from here. The consent form's answer starts a redirect chain that ends
    // there; this Chromium (153) routes none of a chain's later hops, so the chain is followed here, with
    // the browser's own cookies, and the browser is shown a stand-in page for claude.ai at its end.
    let landed: URL | undefined;
    await context.route(`${system.issuer}/interaction/*/*`, async (route) => {
      if (route.request().method() !== 'POST' || /\/login$/.test(route.request().url())) return route.continue();
      let response = await route.fetch({ maxRedirects: 0 });
      let location = response.headers()['location'];
      for (let hop = 0; location && !location.startsWith('https://claude.ai/') && hop < 5; hop++) {
        response = await context.request.get(new URL(location, system.issuer).href, { maxRedirects: 0 });
        location = response.headers()['location'];
      }
      if (!location?.startsWith('https://claude.ai/')) return route.fulfill({ response });
      landed = new URL(location);
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Claude</title><p>connected</p>' });
    });
    await page.goto(url.toString());
    await page.fill('input[name=email]', system.demoEmail);
    await page.fill('input[name=password]', system.demoPassword);
    await page.screenshot({ path: screenshotPath(`${shots}-1-login-phone`), fullPage: true });
    await page.click('button[type=submit]');
    await page.getByRole('button', { name: decision }).waitFor();
    const consent = await page.locator('main').innerText();
    expect(consent).toContain('claudeai');
    expect(consent).toContain('claude.ai');
    await page.screenshot({ path: screenshotPath(`${shots}-2-consent-phone`), fullPage: true });
    await page.getByRole('button', { name: decision }).click();
    await expect.poll(() => landed).toBeDefined();
    await context.close();
    return { landed: landed!, state };
  }

  it('walks Claude\'s registration and consent up to the redirect carrying the code', async () => {
    const { landed, state } = await walk('Approve', 'claude-approve');
    expect(landed.origin + landed.pathname).toBe(CLAUDE_CALLBACK);
    expect(landed.searchParams.get('code')).toBeTruthy();
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('iss')).toBe(system.issuer);
  });

  it('answers Deny with access_denied at Claude\'s callback', async () => {
    const { landed, state } = await walk('Deny', 'claude-deny');
    expect(landed.origin + landed.pathname).toBe(CLAUDE_CALLBACK);
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('code')).toBeNull();
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('iss')).toBe(system.issuer);
  });

  it('answers the MCP Inspector\'s CORS preflights for every endpoint it calls from the page', async () => {
    const prmUrl = `${new URL(system.mcpUrl).origin}/.well-known/oauth-protected-resource${new URL(system.mcpUrl).pathname}`;
    const preflights: { url: string; method: string; headers: string }[] = [
      { url: prmUrl, method: 'GET', headers: 'mcp-protocol-version' },
      { url: `${system.issuer}/.well-known/oauth-authorization-server`, method: 'GET', headers: 'mcp-protocol-version' },
      { url: `${system.issuer}/.well-known/openid-configuration`, method: 'GET', headers: 'mcp-protocol-version' },
      { url: `${system.issuer}/reg`, method: 'POST', headers: 'content-type' },
      { url: `${system.issuer}/token`, method: 'POST', headers: 'content-type' },
      { url: `${system.issuer}/jwks`, method: 'GET', headers: '' },
      { url: system.mcpUrl, method: 'POST', headers: 'authorization, content-type, mcp-protocol-version, mcp-session-id' },
      { url: system.mcpUrl, method: 'GET', headers: 'authorization, mcp-protocol-version, mcp-session-id, last-event-id' },
      { url: system.mcpUrl, method: 'DELETE', headers: 'authorization, mcp-protocol-version, mcp-session-id' },
    ];
    for (const p of preflights) {
      const response = await fetch(p.url, {
        method: 'OPTIONS',
        headers: {
          origin: INSPECTOR_ORIGIN,
          'access-control-request-method': p.method,
          ...(p.headers ? { 'access-control-request-headers': p.headers } : {}),
        },
      });
      expect(response.status, `${p.method} ${p.url}`).toBeLessThan(300);
      const allowOrigin = response.headers.get('access-control-allow-origin');
      expect([INSPECTOR_ORIGIN, '*'], `${p.url} allow-origin`).toContain(allowOrigin);
      const allowMethods = (response.headers.get('access-control-allow-methods') ?? '').toUpperCase();
      expect(allowMethods, `${p.url} allow-methods`).toContain(p.method);
      const allowHeaders = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of p.headers.split(',').map((s) => s.trim()).filter(Boolean)) {
        expect(allowHeaders === '*' || allowHeaders.includes(h), `${p.url} allows ${h}`).toBe(true);
      }
    }

    // The actual cross-origin calls: registration and the 401 challenge are readable by the page.
    const reg = await fetch(`${system.issuer}/reg`, {
      method: 'POST',
      headers: { origin: INSPECTOR_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'MCP Inspector',
        redirect_uris: [`${INSPECTOR_ORIGIN}/oauth/callback`, `${INSPECTOR_ORIGIN}/oauth/callback/debug`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
    });
    expect(reg.status).toBe(201);
    expect(reg.headers.get('access-control-allow-origin')).toBe(INSPECTOR_ORIGIN);
    const mcp = await fetch(system.mcpUrl, {
      method: 'POST',
      headers: { origin: INSPECTOR_ORIGIN, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'inspector', version: '1' } } }),
    });
    expect(mcp.status).toBe(401);
    expect(mcp.headers.get('access-control-allow-origin')).toBe(INSPECTOR_ORIGIN);
    expect((mcp.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('www-authenticate');
    expect(mcp.headers.get('www-authenticate')).toContain('resource_metadata=');

    // Login and consent pages are never readable cross-origin.
    const page = await fetch(`${system.issuer}/console/login`, { headers: { origin: INSPECTOR_ORIGIN }, redirect: 'manual' });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
  });
});
