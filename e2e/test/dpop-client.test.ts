// A DPoP client (RFC 9449) against the running system, with proofs made by jose as a client makes them:
// register → authorize → a DPoP-bound token → MCP calls on both protocol eras → refresh with the same
// key → RFC 7009 revocation. Whoever holds a copy of the token without the key gets nowhere.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize, registerClient, type RegisteredClient } from '@mcp-gw/testkit';
import { createPostgresDatabase } from '../support/database.js';
import { dpopKey, dpopProof, type DpopKey } from '../support/dpop.js';
import { repoRoot, startSystem, type RunningSystem } from '../support/system.js';

const ON_POSTGRES = Boolean(process.env.TEST_DATABASE_URL);
const REDIRECT = 'http://127.0.0.1:8765/callback';
const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';

function claimsOf(jwt: string): Record<string, any> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
}

describe(`a DPoP client end to end (${ON_POSTGRES ? 'PostgreSQL' : 'embedded database'})`, () => {
  let system: RunningSystem;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;
  let metadata: Record<string, string>;
  let client: RegisteredClient;
  let key: DpopKey;
  let tokens: { access_token: string; refresh_token: string; token_type: string };

  beforeAll(async () => {
    const env: Record<string, string> = {};
    if (ON_POSTGRES) {
      database = await createPostgresDatabase('mcpgw_dpop');
      env.DATABASE_URL = database.url;
      if (process.env.TEST_REDIS_URL) Object.assign(env, { REDIS_URL: process.env.TEST_REDIS_URL, REGISTRATION_RATE_LIMIT: '100000' });
    }
    system = await startSystem(env);
    metadata = (await (await fetch(`${system.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
    client = await registerClient(system.issuer, { client_name: 'dpop client', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    key = await dpopKey();
  });
  afterAll(async () => {
    await system?.stop();
    await database?.drop();
  });

  const token = async (params: Record<string, string>, proofKey: DpopKey | null = key) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (proofKey) headers.dpop = await dpopProof(proofKey, { method: 'POST', url: metadata.token_endpoint! });
    const response = await fetch(metadata.token_endpoint!, { method: 'POST', headers, body: new URLSearchParams({ client_id: client.client_id, ...params }) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  /** One MCP POST with the DPoP scheme and a fresh proof (or as told otherwise). */
  const mcp = async (accessToken: string, body: { method?: string; params?: { name?: string; [key: string]: unknown }; [key: string]: unknown }, options: { scheme?: 'DPoP' | 'Bearer'; proofKey?: DpopKey | null; version?: string; sessionId?: string } = {}) => {
    const modern = (options.version ?? MODERN) === MODERN;
    const headers: Record<string, string> = {
      // 2026-07-28 names the method (and the tool) in headers too, for routing.
      ...(modern && body.method ? { 'mcp-method': body.method } : {}),
      ...(modern && body.params?.name ? { 'mcp-name': body.params.name } : {}),
      authorization: `${options.scheme ?? 'DPoP'} ${accessToken}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': options.version ?? MODERN,
      ...(options.sessionId ? { 'mcp-session-id': options.sessionId } : {}),
    };
    if (options.proofKey !== null) headers.dpop = await dpopProof(options.proofKey ?? key, { method: 'POST', url: system.mcpUrl, accessToken });
    const response = await fetch(system.mcpUrl, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await response.text();
    const message = text.startsWith('{') ? JSON.parse(text) : text.split('\n').filter((l) => l.startsWith('data:') && l.slice(5).trim()).map((l) => JSON.parse(l.slice(5))).find((m) => 'result' in m || 'error' in m);
    return { status: response.status, headers: response.headers, message };
  };
  const whoamiModern = (accessToken: string, options: Parameters<typeof mcp>[2] = {}) =>
    mcp(accessToken, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientInfo': { name: 'dpop', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } } }, options);

  it('gets a DPoP-bound access token, and a refresh token bound to the same key', async () => {
    expect(metadata.dpop_signing_alg_values_supported).toContain('ES256');
    const prm = (await (await fetch(`${new URL(system.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, any>;
    expect(prm.dpop_signing_alg_values_supported).toContain('ES256');
    const authorization = await authorize({ issuer: system.issuer, clientId: client.client_id, redirectUri: REDIRECT, email: system.demoEmail, password: system.demoPassword, scope: 'tickets:read tickets:write offline_access', resource: system.mcpUrl, extraParams: { dpop_jkt: key.jkt } });
    const exchanged = await token({ grant_type: 'authorization_code', code: authorization.code!, redirect_uri: REDIRECT, code_verifier: authorization.verifier, resource: system.mcpUrl });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    expect(exchanged.body.token_type).toBe('DPoP');
    expect(claimsOf(exchanged.body.access_token).cnf).toEqual({ jkt: key.jkt });
    expect(exchanged.body.refresh_token).toBeTruthy();
    tokens = exchanged.body as typeof tokens;
  });

  it('calls tools on 2026-07-28 and on a 2025-era session with a proof on every request', async () => {
    const who = await whoamiModern(tokens.access_token);
    expect(who.status, JSON.stringify(who.message)).toBe(200);
    expect(who.message.result.structuredContent.client_id).toBe(client.client_id);

    const init = await mcp(tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'dpop', version: '1' } } }, { version: LEGACY });
    expect(init.status).toBe(200);
    const sessionId = init.headers.get('mcp-session-id')!;
    expect((await mcp(tokens.access_token, { jsonrpc: '2.0', method: 'notifications/initialized' }, { version: LEGACY, sessionId })).status).toBe(202);
    const call = await mcp(tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_projects', arguments: {} } }, { version: LEGACY, sessionId });
    expect(call.status).toBe(200);
    expect(call.message.result.isError).toBeFalsy();
    // The same session without a proof on the next request: refused.
    const unproven = await mcp(tokens.access_token, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { version: LEGACY, sessionId, proofKey: null });
    expect(unproven.status).toBe(401);
  });

  it('refuses a copy of the token without the key: as Bearer, with no proof, with a proof by another key', async () => {
    const thief = await dpopKey();
    for (const [label, options] of [
      ['as Bearer', { scheme: 'Bearer', proofKey: null }],
      ['no proof', { proofKey: null }],
      ["the thief's proof", { proofKey: thief }],
    ] as const) {
      const refused = await whoamiModern(tokens.access_token, options);
      expect(refused.status, label).toBe(401);
      expect(refused.headers.get('www-authenticate'), label).toMatch(/DPoP/);
    }
  });

  it('refreshes only with a proof of the same key; the new token is bound to it too', async () => {
    const otherKey = await dpopKey();
    const wrongKey = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, otherKey);
    expect(wrongKey.status).toBe(400);
    expect(wrongKey.body.error).toBe('invalid_grant');
    const noProof = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, null);
    expect(noProof.status).toBeGreaterThanOrEqual(400);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(refreshed.body.token_type).toBe('DPoP');
    expect(claimsOf(refreshed.body.access_token).cnf).toEqual({ jkt: key.jkt });
    expect((await whoamiModern(refreshed.body.access_token)).status).toBe(200);
    tokens = { ...tokens, ...refreshed.body };
  });

  it('the administrator sees the grant as key-bound (pnpm admin clients show)', async () => {
    const { DATABASE_URL: _db, KEY_ENCRYPTION_KEY: _key, REDIS_URL: _redis, ...rest } = process.env;
    const env = { ...rest, DATA_DIR: system.dataDir, ...(database ? { DATABASE_URL: database.url } : {}) };
    const cli = path.join(repoRoot, 'apps/auth-server/dist/cli/admin.js');
    const shown = JSON.parse((await promisify(execFile)(process.execPath, [cli, 'clients', 'show', client.client_id], { cwd: repoRoot, env })).stdout) as { grants: { keyBound: boolean | null }[] };
    expect(shown.grants.map((g) => g.keyBound)).toEqual([true]);
  });

  it('ends the access token with RFC 7009: the next MCP request is refused', async () => {
    const revoked = await fetch(metadata.revocation_endpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }) });
    expect(revoked.status).toBe(200);
    const refused = await whoamiModern(tokens.access_token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
  });
});
