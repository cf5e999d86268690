import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as v2 from '@modelcontextprotocol/client';
import { pkcePair, startDocumentServer, tokenRequest, walkAuthorization, type DocumentServer } from '@mcp-gw/testkit';
import { InMemoryOAuthProvider, startCallbackServer } from '../support/oauth-client.js';
import { startSystem, type RunningSystem } from '../support/system.js';

interface Replay {
  /** Registers (DCR) or publishes a document (CIMD); returns the client_id and how it authenticates. */
  client: () => Promise<{ clientId: string; secret?: string; authMethod: 'none' | 'client_secret_post' | 'client_secret_basic' }>;
  /** The redirect URI the client really sends (a loopback one with the port chosen at run time). */
  redirectUri: string;
  /** What the client puts in the authorization request besides the PKCE and state basics. */
  params: Record<string, string>;
  /** Origin header a browser-based client sends. */
  origin?: string;
}

// Each client's exact requests (see shared/CLIENTS.md): register, authorize through login and consent,
// exchange the code, call a tool with the token, refresh. At a host's root, and again with the issuer
// and the MCP URL below paths (README: Deploying under a path).
for (const variant of [
  { name: 'at the host root', issuerPath: '', mcpPath: '/mcp' },
  { name: 'issuer /oauth, MCP URL /tickets/mcp', issuerPath: '/oauth', mcpPath: '/tickets/mcp' },
]) describe(`replays of real MCP clients, ${variant.name}`, () => {
  let system: RunningSystem;
  let docs: DocumentServer;

  beforeAll(async () => {
    docs = await startDocumentServer();
    system = await startSystem((ports) => ({
      UNSAFE_CIMD_ALLOW_LOOPBACK: 'true',
      ISSUER: `http://localhost:${ports.auth}${variant.issuerPath}`,
      MCP_RESOURCE_URL: `http://localhost:${ports.mcp}${variant.mcpPath}`,
    }));
  });
  afterAll(async () => {
    await system?.stop();
    await docs?.close();
  });

  const dcr = (body: Record<string, unknown>, origin?: string) => async () => {
    const response = await fetch(`${system.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: JSON.stringify(body),
    });
    const registered = (await response.json()) as Record<string, unknown>;
    expect(response.status, JSON.stringify(registered)).toBe(201);
    expect(JSON.stringify(registered)).not.toContain('null');
    expect(registered.registration_client_uri).toBeTruthy();
    if (origin) expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    return { clientId: registered.client_id as string, secret: registered.client_secret as string | undefined, authMethod: (body.token_endpoint_auth_method ?? 'client_secret_basic') as never };
  };
  const cimd = (path: string, document: Record<string, unknown>) => async () => {
    const clientId = docs.set(path, () => ({ body: { ...document, client_id: clientId } }));
    return { clientId, authMethod: 'none' as const };
  };

  const replays: Record<string, () => Replay> = {
    'claude.ai (DCR, none)': () => ({
      client: dcr({ client_name: 'claudeai', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: 'claudeai', redirect_uris: ['https://claude.ai/api/mcp/auth_callback'] }),
      redirectUri: 'https://claude.ai/api/mcp/auth_callback',
      params: { resource: system.mcpUrl, prompt: 'consent', scope: ' offline_access tickets:read tickets:write' },
    }),
    'claude.ai (DCR, client_secret_post, claude.com)': () => ({
      client: dcr({ client_name: 'claudeai', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post', scope: 'claudeai', redirect_uris: ['https://claude.com/api/mcp/auth_callback'] }),
      redirectUri: 'https://claude.com/api/mcp/auth_callback',
      params: { resource: system.mcpUrl, prompt: 'consent', scope: 'tickets:read tickets:write' },
    }),
    'Claude Code (CIMD, portless loopback, no resource)': () => ({
      client: cimd('/oauth/claude-code-client-metadata', { client_name: 'Claude Code', redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }),
      redirectUri: 'http://localhost:48213/callback',
      params: { scope: 'tickets:read tickets:write' },
    }),
    'Claude Code (DCR fallback, native)': () => ({
      client: dcr({ client_name: 'Claude Code (tickets)', redirect_uris: ['http://localhost:48214/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', application_type: 'native' }),
      redirectUri: 'http://localhost:48214/callback',
      params: { scope: 'tickets:read tickets:write' },
    }),
    'VS Code (DCR with device code grant)': () => ({
      client: dcr({
        client_name: 'Visual Studio Code',
        redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      }),
      redirectUri: 'http://127.0.0.1:33418/',
      params: { resource: system.mcpUrl, scope: 'tickets:read tickets:write' },
    }),
    'VS Code (CIMD)': () => ({
      client: cimd('/oauth/client-metadata.json', { client_name: 'Visual Studio Code', redirect_uris: ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }),
      redirectUri: 'https://vscode.dev/redirect',
      params: { resource: system.mcpUrl, scope: 'tickets:read' },
    }),
    'Cursor (private-use scheme, no application_type)': () => ({
      client: dcr({ client_name: 'Cursor', redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://cursor.com/oauth/callback', 'http://127.0.0.1:3003/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }),
      redirectUri: 'cursor://anysphere.cursor-mcp/oauth/callback',
      params: { resource: system.mcpUrl, scope: 'tickets:read tickets:write' },
    }),
    'MCP Inspector (browser calls with CORS)': () => ({
      client: dcr({ client_name: 'MCP Inspector', redirect_uris: ['http://localhost:6274/oauth/callback', 'http://localhost:6274/oauth/callback/debug'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }, 'http://localhost:6274'),
      redirectUri: 'http://localhost:6274/oauth/callback',
      params: { resource: system.mcpUrl, scope: 'tickets:read tickets:write' },
      origin: 'http://localhost:6274',
    }),
  };

  for (const [name, make] of Object.entries(replays)) {
    it(name, async () => {
      const replay = make();
      const { clientId, secret, authMethod } = await replay.client();
      const { verifier, challenge } = pkcePair();
      const state = `s-${Math.random().toString(36).slice(2)}`;
      const start = new URL(`${system.issuer}/auth`);
      start.search = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: replay.redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256', ...replay.params }).toString();
      const walked = await walkAuthorization(start, { issuer: system.issuer, email: system.demoEmail, password: system.demoPassword });
      expect(walked.location.href.startsWith(`${replay.redirectUri}?`)).toBe(true);
      expect(walked.location.searchParams.get('state')).toBe(state);
      expect(walked.location.searchParams.get('iss')).toBe(system.issuer);
      expect(walked.code).toBeTruthy();

      const clientAuth: Record<string, string> = authMethod === 'client_secret_post' ? { client_id: clientId, client_secret: secret! } : { client_id: clientId };
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...(replay.origin ? { origin: replay.origin } : {}) };
      const tokenResponse = await fetch(`${system.issuer}/token`, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ grant_type: 'authorization_code', code: walked.code!, redirect_uri: replay.redirectUri, code_verifier: verifier, ...(replay.params.resource ? { resource: replay.params.resource } : {}), ...clientAuth }),
      });
      const tokens = (await tokenResponse.json()) as { access_token: string; refresh_token: string };
      expect(tokenResponse.status, JSON.stringify(tokens)).toBe(200);
      if (replay.origin) expect(tokenResponse.headers.get('access-control-allow-origin')).toBe(replay.origin);
      expect(tokens.refresh_token).toBeTruthy(); // without asking for offline_access
      const claims = decodeJwt(tokens.access_token);
      expect(claims.aud).toBe(system.mcpUrl);
      expect(String(claims.scope).split(' ')).toContain('tickets:read');

      const mcp = new Client({ name: `replay ${name}`, version: '1.0.0' });
      await mcp.connect(new StreamableHTTPClientTransport(new URL(system.mcpUrl), { requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } } }));
      const result = await mcp.callTool({ name: 'search_tickets', arguments: { limit: 2 } });
      expect(result.isError).toBeFalsy();
      await mcp.close();

      const refreshed = await tokenRequest(system.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, ...clientAuth });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      expect(refreshed.body.refresh_token).not.toBe(tokens.refresh_token);
    });
  }

  it('the SDK 2.x client (@modelcontextprotocol/client): discovery, DCR, iss check, tools, refresh', async () => {
    const callback = await startCallbackServer();
    try {
      const provider = new InMemoryOAuthProvider(callback.url, { client_name: 'SDK v2 client' });
      const connect = async () => {
        const client = new v2.Client({ name: 'sdk-v2', version: '2.0.0' });
        const transport = new v2.StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider as never });
        await client.connect(transport);
        return { client, transport };
      };
      await expect(connect()).rejects.toBeInstanceOf(v2.UnauthorizedError);
      const url = provider.authorizationUrls[0]!;
      const walked = await walkAuthorization(url, { issuer: system.issuer, email: system.demoEmail, password: system.demoPassword });
      const transport = new v2.StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider as never });
      // v2 verifies RFC 9207's iss against the metadata before redeeming the code.
      await transport.finishAuth(walked.location.searchParams);
      const { client } = await connect();
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('get_ticket');
      const result = await client.callTool({ name: 'list_projects', arguments: {} });
      expect(result.isError).toBeFalsy();
      await client.close();
      // A mix-up attempt: the same response with another issuer is refused by the client.
      const forged = new URLSearchParams(walked.location.searchParams);
      forged.set('iss', 'https://attacker.example');
      await expect(new v2.StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider as never }).finishAuth(forged)).rejects.toThrow();
    } finally {
      await callback.close();
    }
  });
});
