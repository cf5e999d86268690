// Enterprise-managed authorization against the running system: the company's IdP (a second, real
// oidc-provider on loopback) issues an ID-JAG for an employee; the MCP client, registered by URL as
// usual, exchanges it at the token endpoint (RFC 7523 jwt-bearer) with no consent page, and calls tools
// as that employee. Revoking the token stops the token on the next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClient, startUpstreamIdp, type RegisteredClient, type UpstreamIdp } from '@mcp-gw/testkit';
import { startSystem, type RunningSystem } from '../support/system.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const MODERN = '2026-07-28';

describe('an MCP client with an ID-JAG from the company IdP', () => {
  let idp: UpstreamIdp;
  let system: RunningSystem;
  let client: RegisteredClient;
  let accessToken: string;

  beforeAll(async () => {
    idp = await startUpstreamIdp({ users: [], clients: [] });
    system = await startSystem({ ENTERPRISE_IDP_ACME_ISSUER: idp.issuer, ENTERPRISE_IDP_ACME_NAME: 'Acme' });
    client = await registerClient(system.issuer, { client_name: 'Acme agent', redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'refresh_token', JWT_BEARER] });
  });
  afterAll(async () => {
    await system?.stop();
    await idp?.close();
  });

  const whoami = async (token: string) => {
    const response = await fetch(system.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'whoami' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientInfo': { name: 'acme-agent', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
    });
    const text = await response.text();
    const message = text.startsWith('{') ? JSON.parse(text) : text.split('\n').filter((l) => l.startsWith('data:') && l.slice(5).trim()).map((l) => JSON.parse(l.slice(5))).find((m) => 'result' in m || 'error' in m);
    return { status: response.status, message };
  };

  it('the registration keeps the jwt-bearer grant, and the metadata advertises the ID-JAG profile', async () => {
    expect(client.grant_types).toContain(JWT_BEARER);
    const metadata = (await (await fetch(`${system.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(metadata.authorization_grant_profiles_supported).toContain('urn:ietf:params:oauth:grant-profile:id-jag');
  });

  it('exchanges the ID-JAG for an access token and calls tools as the employee', async () => {
    const assertion = idp.issueIdJag({ sub: 'emp-7', email: 'kim@acme.example', email_verified: true, name: 'Kim', aud: system.issuer, client_id: client.client_id, resource: system.mcpUrl, scope: 'tickets:read' });
    const response = await fetch(`${system.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }),
    });
    const body = (await response.json()) as Record<string, string>;
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.scope).toBe('tickets:read');
    accessToken = body.access_token!;
    const sub = (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
    const answer = await whoami(accessToken);
    expect(answer.status).toBe(200);
    expect(answer.message.result.structuredContent).toMatchObject({ user_id: sub, client_id: client.client_id });
  });

  it('is refused on the next request once the client revokes it (RFC 7009)', async () => {
    const revoked = await fetch(`${system.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ token: accessToken }),
    });
    expect(revoked.status).toBe(200);
    expect((await whoami(accessToken)).status).toBe(401);
  });
});
