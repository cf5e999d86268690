import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenStanding } from '@mcp-gw/db';
import { AccessTokenVerifier } from '@mcp-gw/shared';
import { registerClient, startUpstreamIdp, type RegisteredClient, type UpstreamIdp } from '@mcp-gw/testkit';
import { basic, postForm, startSuite, type Suite } from './helpers.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

// MCP enterprise-managed authorization: the company's IdP (a real second oidc-provider on loopback,
// signing with its own key, published in its own JWKS) issues an ID-JAG; the client exchanges it here.
describe('enterprise-managed authorization (ID-JAG, RFC 7523 jwt-bearer)', () => {
  let suite: Suite;
  let idp: UpstreamIdp;
  let stranger: UpstreamIdp;
  let readOnly: UpstreamIdp;
  let client: RegisteredClient;
  let other: RegisteredClient;

  beforeAll(async () => {
    idp = await startUpstreamIdp({ users: [], clients: [] });
    stranger = await startUpstreamIdp({ users: [], clients: [] });
    readOnly = await startUpstreamIdp({ users: [], clients: [] });
    suite = await startSuite({
      ENTERPRISE_IDP_ACME_ISSUER: idp.issuer,
      ENTERPRISE_IDP_ACME_NAME: 'Acme SSO',
      ENTERPRISE_IDP_ACME_ALLOWED_DOMAINS: 'acme.example',
      ENTERPRISE_IDP_ACME_SCOPES: 'tickets:read tickets:write',
      // A second IdP the deployment trusts for reading only.
      ENTERPRISE_IDP_PARTNER_ISSUER: readOnly.issuer,
      ENTERPRISE_IDP_PARTNER_SCOPES: 'tickets:read',
    });
    const metadata = { redirect_uris: ['https://agent.example/cb'], token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', JWT_BEARER] };
    client = await registerClient(suite.as.issuer, { client_name: 'Enterprise agent', ...metadata });
    other = await registerClient(suite.as.issuer, { client_name: 'Another agent', ...metadata });
  });
  afterAll(async () => {
    await suite?.close();
    await idp?.close();
    await stranger?.close();
    await readOnly?.close();
  });

  const claims = (overrides: Record<string, unknown> = {}) => ({
    sub: 'acme-u-100',
    email: 'pat@acme.example',
    email_verified: true,
    name: 'Pat Acme',
    aud: suite.as.issuer,
    client_id: client.client_id,
    resource: suite.as.config.MCP_RESOURCE_URL,
    scope: 'tickets:read tickets:write',
    ...overrides,
  });
  const exchange = async (assertion: string, params: Record<string, string> = {}, as: RegisteredClient = client) => {
    const response = await postForm(`${suite.as.issuer}/token`, { grant_type: JWT_BEARER, assertion, ...params }, { authorization: basic(as.client_id, as.client_secret!) });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const refused = async (assertion: string, description: RegExp, params: Record<string, string> = {}, as?: RegisteredClient) => {
    const { status, body } = await exchange(assertion, params, as);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(description);
  };

  it('advertises the jwt-bearer grant and the ID-JAG profile', async () => {
    const metadata = (await (await fetch(`${suite.as.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(metadata.grant_types_supported).toContain(JWT_BEARER);
    expect(metadata.authorization_grant_profiles_supported).toEqual(['urn:ietf:params:oauth:grant-profile:id-jag']);
  });

  it('a valid ID-JAG yields an audience-bound token for the person, with a grant the admin can revoke', async () => {
    const { status, body } = await exchange(idp.issueIdJag(claims()));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'tickets:read tickets:write' });
    expect(body.refresh_token).toBeUndefined();
    // Checked as the MCP server checks its tokens (packages/shared), then its grant as its revocation check does.
    const mcpServer = new AccessTokenVerifier({ issuer: suite.as.issuer, audience: suite.as.config.MCP_RESOURCE_URL, jwksUri: `${suite.as.issuer}/jwks` });
    const verified = await mcpServer.verify(body.access_token);
    const pat = await suite.database.db.prisma.user.findUniqueOrThrow({ where: { email: 'pat@acme.example' }, include: { identities: true } });
    expect(verified).toMatchObject({ sub: pat.id, clientId: client.client_id, scopes: ['tickets:read', 'tickets:write'] });
    expect(verified.grantId).toEqual(expect.any(String));
    expect(pat.identities).toMatchObject([{ provider: 'acme', issuer: idp.issuer, subject: 'acme-u-100' }]);
    const payload = verified.claims;
    expect(await accessTokenStanding(suite.database.db.prisma, payload.gid as string, payload.jti)).not.toBeUndefined();
    const [grant] = await suite.as.running.admin.listGrants({ accountId: pat.id, clientId: client.client_id });
    expect(grant?.resources[suite.as.config.MCP_RESOURCE_URL]).toEqual(['tickets:read', 'tickets:write']);
    await suite.as.running.admin.revokeGrant(grant!.grantId, { type: 'admin', id: 'test' });
    expect(await accessTokenStanding(suite.database.db.prisma, payload.gid as string, payload.jti)).toBeUndefined();
  });

  it('issues the intersection of the requested scopes and the assertion\'s', async () => {
    const { status, body } = await exchange(idp.issueIdJag(claims({ scope: 'tickets:read' })), { scope: 'tickets:read tickets:write' });
    expect(status).toBe(200);
    expect(body.scope).toBe('tickets:read');
    const none = await exchange(idp.issueIdJag(claims({ scope: 'tickets:read' })), { scope: 'tickets:write' });
    expect(none.status).toBe(400);
    expect(none.body.error).toBe('invalid_scope');
  });

  it('refuses each failed check with invalid_grant and the reason', async () => {
    const now = Math.floor(Date.now() / 1000);
    await refused(idp.issueIdJag(claims(), { typ: 'JWT' }), /typ must be oauth-id-jag\+jwt/);
    await refused(stranger.issueIdJag(claims({ iss: idp.issuer })), /signature does not verify/);
    await refused(stranger.issueIdJag(claims()), /not a trusted enterprise IdP/);
    await refused(idp.issueIdJag(claims({ aud: 'https://other-as.example' })), /audience is not this authorization server/);
    await refused(idp.issueIdJag(claims()), /issued to client .* not to the client that presented it/, {}, other);
    await refused(idp.issueIdJag(claims({ resource: 'https://elsewhere.example/mcp' })), /is not an MCP server this authorization server issues tokens for/);
    await refused(idp.issueIdJag(claims({ resource: `${suite.as.issuer}/admin/api`, scope: 'admin' })), /is not an MCP server/);
    await refused(idp.issueIdJag(claims({ resource: undefined })), /no resource claim/);
    await refused(idp.issueIdJag(claims({ scope: 'tickets:read admin' })), /grants admin, which .* does not offer/);
    await refused(readOnly.issueIdJag(claims({ sub: 'partner-1', email: 'lee@partner.example' })), /Partner may not grant tickets:write/);
    await refused(idp.issueIdJag(claims({ iat: now - 1200, exp: now - 600 })), /expired/);
    await refused(idp.issueIdJag(claims({ iat: now + 600, exp: now + 900 })), /issued in the future/);
    await refused(idp.issueIdJag(claims({ jti: undefined })), /no jti claim/);
    await refused(idp.issueIdJag(claims({ email: 'pat@gmail.example', sub: 'acme-u-200' })), /gmail\.example/);
    await refused('not-a-jwt', /not a JWT/);
    expect(await suite.database.db.prisma.user.count({ where: { email: 'pat@gmail.example' } })).toBe(0);
    // The audit INSERT is not awaited by the token response: poll for it.
    const audited = () => suite.database.db.prisma.auditEvent.findMany({ where: { action: 'token.assertion_refused' } });
    await expect.poll(async () => (await audited()).length).toBe(15);
    expect(await audited()).toContainEqual(expect.objectContaining({ outcome: 'denied', clientId: client.client_id, details: expect.objectContaining({ idp: 'partner', reason: expect.stringMatching(/may not grant tickets:write/) }) }));
  });

  it('refuses a replayed assertion (jti)', async () => {
    const once = idp.issueIdJag(claims({ sub: 'acme-u-101', email: 'robin@acme.example' }));
    expect((await exchange(once)).status).toBe(200);
    await refused(once, /already used/);
  });

  it('refuses a disabled person, whatever the IdP says', async () => {
    expect((await exchange(idp.issueIdJag(claims({ sub: 'acme-u-102', email: 'sam@acme.example' })))).status).toBe(200);
    await suite.database.db.prisma.user.update({ where: { email: 'sam@acme.example' }, data: { disabledAt: new Date() } });
    await refused(idp.issueIdJag(claims({ sub: 'acme-u-102', email: 'sam@acme.example' })), /disabled/);
  });

  it('an assertion without scope leaves the choice to the request, within the IdP\'s ceiling', async () => {
    const asked = await exchange(idp.issueIdJag(claims({ scope: undefined, sub: 'acme-u-103', email: 'alex@acme.example' })), { scope: 'tickets:read' });
    expect(asked).toMatchObject({ status: 200, body: { scope: 'tickets:read' } });
    const nothing = await exchange(idp.issueIdJag(claims({ scope: undefined, sub: 'acme-u-103', email: 'alex@acme.example' })));
    expect(nothing).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });

  it('a public client cannot redeem an ID-JAG', async () => {
    const open = await registerClient(suite.as.issuer, { client_name: 'public agent', redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', JWT_BEARER] });
    const response = await postForm(`${suite.as.issuer}/token`, { grant_type: JWT_BEARER, assertion: idp.issueIdJag(claims({ client_id: open.client_id })), client_id: open.client_id });
    const body = (await response.json()) as Record<string, string>;
    expect(response.status).toBe(400);
    expect(body).toMatchObject({ error: 'unauthorized_client', error_description: expect.stringMatching(/confidential client/) });
  });

  it('a client registered without the grant type cannot use it; assertion is required', async () => {
    const plain = await registerClient(suite.as.issuer, { client_name: 'plain', redirect_uris: ['https://agent.example/cb'], token_endpoint_auth_method: 'client_secret_basic' });
    const { status, body } = await exchange(idp.issueIdJag(claims({ client_id: plain.client_id })), {}, plain);
    expect(status).toBe(400);
    expect(body.error_description).toBe('requested grant type is not allowed for this client');
    const missing = await postForm(`${suite.as.issuer}/token`, { grant_type: JWT_BEARER }, { authorization: basic(client.client_id, client.client_secret!) });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toBe('invalid_request');
  });
});
