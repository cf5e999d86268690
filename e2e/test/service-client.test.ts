// A machine client against the running system (MCP oauth-client-credentials extension): an administrator
// registers it with `pnpm admin service-clients add`, it signs a private_key_jwt assertion with jose,
// gets a token for its service principal, and calls the ticket tools on both protocol eras — seeing
// only its project, writing under its own name — until the administrator revokes it.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { repoRoot, startSystem, type RunningSystem } from '../support/system.js';

const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';

describe('a service client (client_credentials + private_key_jwt) end to end', () => {
  let system: RunningSystem;
  let privateKey: CryptoKey;
  let clientId: string;
  let principalId: string;
  let tokenEndpoint: string;
  let accessToken: string;

  const admin = async (...args: string[]) => {
    const { DATABASE_URL: _db, KEY_ENCRYPTION_KEY: _key, REDIS_URL: _redis, ...rest } = process.env;
    const cli = path.join(repoRoot, 'apps/auth-server/dist/cli/admin.js');
    // The CLI is configured like the server it administers (the MCP URL its service clients' tokens are for).
    return (await promisify(execFile)(process.execPath, [cli, ...args], { cwd: repoRoot, env: { ...rest, DATA_DIR: system.dataDir, MCP_RESOURCE_URL: system.mcpUrl } })).stdout;
  };

  beforeAll(async () => {
    system = await startSystem();
    tokenEndpoint = ((await (await fetch(`${system.issuer}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint: string }).token_endpoint;
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwksFile = path.join(system.dataDir, 'bot-jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'bot', alg: 'ES256', use: 'sig' }] }));
    const created = JSON.parse(await admin('service-clients', 'add', 'Ops triage bot', '--projects', 'OPS', '--scopes', 'tickets:read,tickets:write', '--jwks-file', jwksFile, '--json')) as { client_id: string; principal_id: string };
    clientId = created.client_id;
    principalId = created.principal_id;
  });
  afterAll(async () => {
    await system?.stop();
  });

  const getToken = async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'bot' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(system.issuer)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const response = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: system.mcpUrl, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  /** One stateless 2026-07-28 tools/call. */
  const call = async (token: string, name: string, args: Record<string, unknown> = {}) => {
    const response = await fetch(system.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/call',
        'mcp-name': name,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name, arguments: args, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientInfo': { name: 'ops-bot', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } },
      }),
    });
    const text = await response.text();
    const message = text.startsWith('{') ? JSON.parse(text) : text.split('\n').filter((l) => l.startsWith('data:') && l.slice(5).trim()).map((l) => JSON.parse(l.slice(5))).find((m) => 'result' in m || 'error' in m);
    return { status: response.status, headers: response.headers, message };
  };

  it('the administrator lists it: its projects, scopes and key-based authentication', async () => {
    const [listed] = JSON.parse(await admin('service-clients', 'list', '--json')) as { clientId: string; projects: string[]; scopes: string[]; authMethod: string }[];
    expect(listed).toMatchObject({ clientId, projects: ['OPS'], scopes: ['tickets:read', 'tickets:write'], authMethod: 'private_key_jwt' });
    const users = JSON.parse(await admin('users', 'list', '--json')) as { id: string; kind: string }[];
    expect(users.find((u) => u.id === principalId)?.kind).toBe('service');
  });

  it('gets a token and calls tools as its service principal, seeing only its project', async () => {
    const { status, body } = await getToken();
    expect(status, JSON.stringify(body)).toBe(200);
    accessToken = body.access_token;
    const whoami = await call(accessToken, 'whoami');
    expect(whoami.status).toBe(200);
    expect(whoami.message.result.structuredContent).toMatchObject({ user_id: principalId, client_id: clientId });
    const projects = await call(accessToken, 'list_projects');
    expect(projects.message.result.isError).toBeFalsy();
    expect(projects.message.result.structuredContent.projects.map((p: { key: string }) => p.key)).toEqual(['OPS']);
    const elsewhere = await call(accessToken, 'create_ticket', { project: 'WEB', title: 'Not my project', body: 'Should be refused.' });
    expect(elsewhere.message.result.isError).toBe(true);
  });

  it('records its writes under its own name', async () => {
    const created = await call(accessToken, 'create_ticket', { project: 'OPS', title: 'Disk 91% full on db-2', body: 'Found by the nightly capacity check.' });
    expect(created.message.result.isError).toBeFalsy();
    expect(created.message.result.structuredContent.ticket.reporter).toMatchObject({ id: principalId, name: 'Ops triage bot' });
  });

  it('works on a 2025-era session too', async () => {
    const headers = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(system.mcpUrl, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'ops-bot', version: '1' } } }),
    });
    expect(init.status).toBe(200);
    const sessionId = init.headers.get('mcp-session-id')!;
    await init.text();
    const whoami = await fetch(system.mcpUrl, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': LEGACY },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    });
    expect(whoami.status).toBe(200);
    expect(await whoami.text()).toContain(principalId);
  });

  it('is refused on the next request once the administrator revokes it, and gets no new token', async () => {
    await admin('clients', 'revoke', clientId);
    const refused = await call(accessToken, 'whoami');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    const again = await getToken();
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('invalid_client');
  });
});
