// The gateway under a company domain's paths: the issuer at /oauth and the MCP URL at /tickets/mcp,
// reached directly, behind a TLS proxy that keeps the prefixes, and behind one that strips them. In
// each, a client starts from nothing but the MCP URL (challenge → resource metadata → authorization
// server metadata → registration → sign-in and consent → token → tools), and the SDK 2.x client, the
// SDK 1.x client and the Inspector's mcpdo do the same through their own discovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { authorizeAndRedeem, CookieJar, registerClient, startTlsProxy, walkAuthorization, type ProxyRoute, type TlsProxy } from '@mcp-gw/testkit';
import { createPostgresDatabase } from '../support/database.js';
import { RawMcpSession } from '../support/jsonrpc-client.js';
import { signInSdkV1, signInSdkV2 } from '../support/mcp-clients.js';
import { startMcpdo } from '../support/mcpdo.js';
import { startSystem, type RunningSystem } from '../support/system.js';

const ON_POSTGRES = Boolean(process.env.TEST_DATABASE_URL);
const ISSUER_PATH = '/oauth';
const MCP_PATH = '/tickets/mcp';
const REDIRECT = 'http://127.0.0.1:8765/callback';

type Variant = 'direct' | 'proxy keeping the prefix' | 'proxy stripping the prefix';

/** The proxy's routes, as an nginx in front of both servers would have them (deploy/ has the example). */
function proxyRoutes(ports: { auth: number; mcp: number }, strip: boolean): ProxyRoute[] {
  return [
    { prefix: ISSUER_PATH, port: ports.auth, strip },
    { prefix: '/tickets', port: ports.mcp, strip },
    // The documents RFC 8414 and RFC 9728 put at the host's root, with the path appended.
    { prefix: `/.well-known/oauth-authorization-server${ISSUER_PATH}`, port: ports.auth },
    { prefix: `/.well-known/openid-configuration${ISSUER_PATH}`, port: ports.auth },
    { prefix: `/.well-known/oauth-protected-resource${MCP_PATH}`, port: ports.mcp },
  ];
}

async function json(url: string): Promise<Record<string, any>> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  return (await response.json()) as Record<string, any>;
}

for (const variant of ['direct', 'proxy keeping the prefix', 'proxy stripping the prefix'] as Variant[]) {
  describe(`issuer ${ISSUER_PATH} and MCP URL ${MCP_PATH}, ${variant} (${ON_POSTGRES ? 'PostgreSQL' : 'embedded database'})`, () => {
    let system: RunningSystem;
    let proxy: TlsProxy | undefined;
    let database: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;

    beforeAll(async () => {
      const routes: ProxyRoute[] = [];
      if (variant !== 'direct') proxy = await startTlsProxy(routes);
      const env: Record<string, string> = {};
      if (ON_POSTGRES) {
        database = await createPostgresDatabase('mcpgw_path');
        env.DATABASE_URL = database.url;
        if (process.env.TEST_REDIS_URL) Object.assign(env, { REDIS_URL: process.env.TEST_REDIS_URL, REGISTRATION_RATE_LIMIT: '100000' });
      }
      system = await startSystem((ports) => {
        if (!proxy) return { ...env, ISSUER: `http://localhost:${ports.auth}${ISSUER_PATH}`, MCP_RESOURCE_URL: `http://localhost:${ports.mcp}${MCP_PATH}` };
        routes.push(...proxyRoutes(ports, variant === 'proxy stripping the prefix'));
        return { ...env, ISSUER: `${proxy.origin}${ISSUER_PATH}`, MCP_RESOURCE_URL: `${proxy.origin}${MCP_PATH}`, TRUST_PROXY: 'true' };
      });
    });
    afterAll(async () => {
      await system?.stop();
      await proxy?.close();
      await database?.drop();
    });

    it('metadata at both well-known locations, consistent, with every endpoint below the issuer', async () => {
      const origin = new URL(system.issuer).origin;
      const rfc8414 = await json(`${origin}/.well-known/oauth-authorization-server${ISSUER_PATH}`);
      const oidc = await json(`${system.issuer}/.well-known/openid-configuration`);
      expect(rfc8414.issuer).toBe(system.issuer);
      expect(oidc.issuer).toBe(system.issuer);
      for (const name of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint', 'userinfo_endpoint']) {
        expect(rfc8414[name], name).toMatch(new RegExp(`^${system.issuer}/`));
        expect(oidc[name], name).toBe(rfc8414[name]);
      }
      expect((await json(rfc8414.jwks_uri)).keys.length).toBeGreaterThan(0);
    });

    it('a client with only the MCP URL: challenge → metadata → registration → consent → token → tools', async () => {
      const challenge = await fetch(system.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(challenge.status).toBe(401);
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1];
      expect(metadataUrl).toBe(`${new URL(system.mcpUrl).origin}/.well-known/oauth-protected-resource${MCP_PATH}`);
      const prm = await json(metadataUrl!);
      expect(prm.resource).toBe(system.mcpUrl);
      expect(prm.authorization_servers).toEqual([system.issuer]);
      const as = await json(`${new URL(system.issuer).origin}/.well-known/oauth-authorization-server${new URL(system.issuer).pathname}`);
      expect(as.registration_endpoint).toBe(`${system.issuer}/reg`);

      const client = await registerClient(system.issuer, { client_name: `path ${variant}`, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
      const jar = new CookieJar();
      const { tokens, authorization } = await authorizeAndRedeem({ issuer: system.issuer, clientId: client.client_id, redirectUri: REDIRECT, email: system.demoEmail, password: system.demoPassword, jar, scope: 'tickets:read tickets:write', resource: system.mcpUrl });
      // Every page of the sign-in was below the issuer's path (a proxy has nothing else to forward).
      for (const step of authorization.trail) expect(step, authorization.trail.join('\n')).toMatch(new RegExp(`^(GET|POST) ${ISSUER_PATH}/`));
      const session = new RawMcpSession(system.mcpUrl, tokens.access_token);
      await session.initialize();
      const who = await session.callTool('whoami', {});
      expect(who.status).toBe(200);
      expect(who.result, JSON.stringify(who)).toBeTruthy();
      expect(who.result!.isError).toBeFalsy();
      const refreshed = await fetch(as.token_endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: client.client_id }) });
      expect(refreshed.status).toBe(200);
    });

    it('cookies and redirects of the sign-in and the console stay below the issuer path', async () => {
      const console = await fetch(`${system.issuer}/admin`, { redirect: 'manual' });
      expect(console.status).toBe(303);
      expect(console.headers.get('location')!.startsWith(`${system.issuer}/auth?`)).toBe(true);
      const client = await registerClient(system.issuer, { client_name: 'cookie check', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'] });
      const start = new URL(`${system.issuer}/auth`);
      start.search = new URLSearchParams({ client_id: client.client_id, response_type: 'code', redirect_uri: REDIRECT, scope: 'tickets:read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM', code_challenge_method: 'S256', resource: system.mcpUrl }).toString();
      const toInteraction = await fetch(start, { redirect: 'manual' });
      expect(toInteraction.status).toBe(303);
      const location = new URL(toInteraction.headers.get('location')!, start);
      expect(location.pathname.startsWith(`${ISSUER_PATH}/interaction/`)).toBe(true);
      const cookies = toInteraction.headers.getSetCookie();
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) expect(cookie, cookie).toMatch(new RegExp(`; path=${ISSUER_PATH}(/|;|$)`, 'i'));
      const page = await fetch(location, { headers: { cookie: cookies.map((c) => c.split(';')[0]).join('; ') } });
      const html = await page.text();
      expect(html).toContain(`href="${ISSUER_PATH}/assets/app.css"`);
      expect(html).toMatch(new RegExp(`action="${ISSUER_PATH}/interaction/[^"]+/login"`));
      expect(html).not.toMatch(/(href|action|src)="\/(?!oauth\/)/);
    });

    it('the SDK 2.x client discovers, registers, signs in and uses the tools', async () => {
      const v2 = await signInSdkV2(system, { name: `sdk-v2 ${variant}` });
      try {
        const who = (await v2.client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
        expect(who.isError).toBeFalsy();
        expect((who.structuredContent as { client_id: string }).client_id).toBe(v2.provider.client!.client_id);
        const projects = (await v2.client.callTool({ name: 'list_projects', arguments: {} })) as CallToolResult;
        expect(projects.isError).toBeFalsy();
      } finally {
        await v2.client.close();
      }
    });

    it('the SDK 1.x client does the same on a 2025-era session', async () => {
      const v1 = await signInSdkV1(system, { name: `sdk-v1 ${variant}` });
      try {
        expect(v1.transport.sessionId).toBeTruthy();
        const who = (await v1.client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
        expect(who.isError).toBeFalsy();
      } finally {
        // Ends the session (and its stream) first, as modern-clients does: SDK 1.x leaves the abort of
        // a stream still being read unhandled.
        await v1.transport.terminateSession().catch(() => {});
        await v1.client.close();
      }
    });

    it("the Inspector's mcpdo connects by the URL and calls a tool", async () => {
      const mcpdo = await startMcpdo();
      const ok = async (...args: string[]) => {
        const r = await mcpdo.run('--connection', 'tickets', ...args);
        expect(r.code, `mcpdo ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
        return r.json;
      };
      try {
        const connect = await ok('connect', system.mcpUrl);
        expect(connect).toMatchObject({ pendingAuth: true });
        const authUrl = new URL(connect.authUrl);
        expect(authUrl.origin + authUrl.pathname).toBe(`${system.issuer}/auth`);
        const walked = await walkAuthorization(authUrl, { issuer: system.issuer, email: system.demoEmail, password: system.demoPassword });
        expect(walked.location.searchParams.get('iss')).toBe(system.issuer);
        expect((await fetch(walked.location)).status).toBe(200);
        let shown: any;
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
          shown = await ok('connections/show');
          if (shown.pendingAuth !== true && shown.protocolEra) break;
        }
        expect(shown, JSON.stringify(shown)).toMatchObject({ auth: { authorized: true } });
        const who = await ok('tools/call', 'whoami');
        expect(who.isError).toBeFalsy();
        expect(who.structuredContent.permissions.map((p: { scope: string }) => p.scope)).toEqual(['tickets:read', 'tickets:write']);
      } finally {
        await mcpdo.stop();
      }
    });
  });
}
