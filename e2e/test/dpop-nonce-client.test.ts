// A DPoP client library (openid-client 6, panva's, on oauth4webapi) against the running system with
// DPOP_NONCE=required: it signs its own proofs, meets use_dpop_nonce at the token endpoint (RFC 9449
// §8) and at the MCP server (§9), retries with the DPoP-Nonce it was given, and goes on with the nonce
// every answer hands out; on both protocol eras, and again after a refresh. A client that ignores
// nonces is told which one to use.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { authorize, registerClient, type RegisteredClient } from '@mcp-gw/testkit';
import { createPostgresDatabase } from '../support/database.js';
import { dpopKey, dpopProof } from '../support/dpop.js';
import { startSystem, type RunningSystem } from '../support/system.js';

const ON_POSTGRES = Boolean(process.env.TEST_DATABASE_URL);
const REDIRECT = 'http://127.0.0.1:8765/callback';
const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';
const MODERN_META = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientInfo': { name: 'openid-client', version: '6' }, 'io.modelcontextprotocol/clientCapabilities': {} };

describe(`server DPoP nonces with a DPoP client library (${ON_POSTGRES ? 'PostgreSQL' : 'embedded database'})`, () => {
  let system: RunningSystem;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;
  let registered: RegisteredClient;
  let config: oidc.Configuration;
  let DPoP: oidc.DPoPHandle;
  let tokens: oidc.TokenEndpointResponse;
  /** What the MCP server answered the library, request by request (its retries included). */
  const answers: number[] = [];
  /** And what the token endpoint answered it. */
  const tokenAnswers: number[] = [];

  beforeAll(async () => {
    // A secret of this run only: with Redis, every replica must share it (config.ts requires it).
    const env: Record<string, string> = { DPOP_NONCE: 'required', DPOP_NONCE_SECRET: crypto.randomBytes(32).toString('base64url') };
    if (ON_POSTGRES) {
      database = await createPostgresDatabase('mcpgw_dpop_nonce');
      env.DATABASE_URL = database.url;
      if (process.env.TEST_REDIS_URL) Object.assign(env, { REDIS_URL: process.env.TEST_REDIS_URL, REGISTRATION_RATE_LIMIT: '100000' });
    }
    system = await startSystem(env);
    registered = await registerClient(system.issuer, { client_name: 'openid-client dpop', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
    config = await oidc.discovery(new URL(system.issuer), registered.client_id, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    config[oidc.customFetch] = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      if (url === system.mcpUrl) answers.push(response.status);
      if (url === config.serverMetadata().token_endpoint) tokenAnswers.push(response.status);
      return response;
    };
  });
  afterAll(async () => {
    await system?.stop();
    await database?.drop();
  });

  /** One MCP POST through the library: its proof, its nonce handling (one retry on use_dpop_nonce). */
  const call = async (accessToken: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const response = await oidc.fetchProtectedResource(config, accessToken, new URL(system.mcpUrl), 'POST', JSON.stringify(body), new Headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }), { DPoP });
    const text = await response.text();
    const message = text.startsWith('{') ? JSON.parse(text) : text.split('\n').filter((l) => l.startsWith('data:') && l.slice(5).trim()).map((l) => JSON.parse(l.slice(5))).find((m) => 'result' in m || 'error' in m);
    return { status: response.status, headers: response.headers, message };
  };
  const whoami = (accessToken: string) =>
    call(accessToken, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: MODERN_META } }, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whoami' });

  it('gets a DPoP-bound token through the library, the token endpoint asking for a nonce first', async () => {
    const authorization = await authorize({ issuer: system.issuer, clientId: registered.client_id, redirectUri: REDIRECT, email: system.demoEmail, password: system.demoPassword, scope: 'tickets:read tickets:write offline_access', resource: system.mcpUrl });
    tokens = await oidc.authorizationCodeGrant(config, authorization.location, { pkceCodeVerifier: authorization.verifier, expectedState: authorization.state }, { resource: system.mcpUrl }, { DPoP });
    expect(tokens.token_type).toBe('dpop');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokenAnswers).toEqual([400, 200]);
  });

  it('calls a tool on 2026-07-28: the first proof is asked for a nonce, the retry with it succeeds', async () => {
    answers.length = 0;
    const first = await whoami(tokens.access_token);
    expect(answers).toEqual([401, 200]);
    expect(first.status, JSON.stringify(first.message)).toBe(200);
    expect(first.message.result.structuredContent.client_id).toBe(registered.client_id);
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The library now signs with the nonce it holds: the next calls go through at once.
    for (let i = 0; i < 3; i++) expect((await whoami(tokens.access_token)).status).toBe(200);
    expect(answers).toEqual([401, 200, 200, 200, 200]);
  });

  it('holds a 2025-era session with the same nonce on every request', async () => {
    const init = await call(tokens.access_token, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'openid-client', version: '6' } } }, { 'mcp-protocol-version': LEGACY });
    expect(init.status).toBe(200);
    const sessionId = init.headers.get('mcp-session-id')!;
    const session = { 'mcp-protocol-version': LEGACY, 'mcp-session-id': sessionId };
    expect((await call(tokens.access_token, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status).toBe(202);
    const listed = await call(tokens.access_token, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_projects', arguments: {} } }, session);
    expect(listed.status).toBe(200);
    expect(listed.message.result.isError).toBeFalsy();
  });

  it('tells a client that signs without the nonce which one to use', async () => {
    // The same token's holder, proofs made by hand: none carries a nonce at first.
    const key = await dpopKey();
    const authorization = await authorize({ issuer: system.issuer, clientId: registered.client_id, redirectUri: REDIRECT, email: system.demoEmail, password: system.demoPassword, scope: 'tickets:read', resource: system.mcpUrl, extraParams: { dpop_jkt: key.jkt } });
    const proofFor = (url: string, extra: { accessToken?: string; nonce?: string } = {}) => dpopProof(key, { method: 'POST', url, ...extra });
    const form = { grant_type: 'authorization_code', code: authorization.code!, redirect_uri: REDIRECT, code_verifier: authorization.verifier, resource: system.mcpUrl, client_id: registered.client_id };
    const tokenEndpoint = config.serverMetadata().token_endpoint!;
    const redeem = async (proof: string) => fetch(tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof }, body: new URLSearchParams(form) });
    const asked = await redeem(await proofFor(tokenEndpoint));
    expect(asked.status).toBe(400);
    expect(((await asked.json()) as { error: string }).error).toBe('use_dpop_nonce');
    const tokenNonce = asked.headers.get('dpop-nonce')!;
    expect(tokenNonce).toBeTruthy();
    const redeemed = await redeem(await proofFor(tokenEndpoint, { nonce: tokenNonce }));
    expect(redeemed.status).toBe(200);
    const exchanged = (await redeemed.json()) as { access_token: string; token_type: string };
    expect(exchanged.token_type).toBe('DPoP');
    const post = async (proof: string) =>
      fetch(system.mcpUrl, {
        method: 'POST',
        headers: { authorization: `DPoP ${exchanged.access_token}`, dpop: proof, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: MODERN_META } }),
      });
    const refused = await post(await proofFor(system.mcpUrl, { accessToken: exchanged.access_token }));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/DPoP algs="[^"]+", error="use_dpop_nonce"/);
    expect(((await refused.json()) as { error: string }).error).toBe('use_dpop_nonce');
    const nonce = refused.headers.get('dpop-nonce')!;
    const accepted = await post(await proofFor(system.mcpUrl, { accessToken: exchanged.access_token, nonce }));
    expect(accepted.status).toBe(200);
  });

  it('refreshes through the library and calls on with the new token', async () => {
    tokenAnswers.length = 0;
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: system.mcpUrl }, { DPoP });
    // The library kept the token endpoint's last nonce: no refusal this time.
    expect(tokenAnswers).toEqual([200]);
    expect(refreshed.token_type).toBe('dpop');
    const who = await whoami(refreshed.access_token);
    expect(who.status).toBe(200);
    expect(who.message.result.structuredContent.client_id).toBe(registered.client_id);
  });
});
