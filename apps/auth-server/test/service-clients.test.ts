import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { accessTokenStanding } from '@mcp-gw/db';
import { registerClient } from '@mcp-gw/testkit';
import { basic, postForm, startSuite, type Suite } from './helpers.js';

// Machine clients (the MCP oauth-client-credentials extension): registered by an administrator, acting
// as a service principal limited to its projects and scopes, ended by revoking the client.
describe('service clients (client_credentials)', () => {
  let suite: Suite;
  let key: { privateKey: CryptoKey; jwk: JWK };
  let tokenEndpoint: string;
  const admin = { type: 'admin' as const, id: 'test-admin' };

  beforeAll(async () => {
    suite = await startSuite();
    tokenEndpoint = `${suite.as.issuer}/token`;
    await suite.database.db.prisma.project.createMany({ data: [{ key: 'OPS', name: 'Operations' }, { key: 'WEB', name: 'Website' }] });
    const pair = await generateKeyPair('ES256');
    key = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'bot-1', alg: 'ES256', use: 'sig' } };
  });
  afterAll(async () => {
    await suite?.close();
  });

  const registry = () => suite.as.running.serviceClients;
  const assertion = (clientId: string, overrides: { key?: CryptoKey; aud?: string; jti?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'bot-1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(overrides.aud ?? suite.as.issuer)
      .setJti(overrides.jti ?? crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(overrides.key ?? key.privateKey);
  const token = async (clientId: string, params: Record<string, string> = {}, signed?: string) => {
    const response = await postForm(tokenEndpoint, {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: signed ?? (await assertion(clientId)),
      ...params,
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('advertises the grant and private_key_jwt in the authorization server metadata', async () => {
    const metadata = (await (await fetch(`${suite.as.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(metadata.grant_types_supported).toContain('client_credentials');
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
  });

  it('a private_key_jwt client gets a token for its service principal, with its grant and scopes', async () => {
    const created = await registry().create({ name: 'Triage bot', projects: ['ops'], scopes: ['tickets:read', 'tickets:write'], auth: { method: 'private_key_jwt', jwks: { keys: [key.jwk] } } }, admin);
    const { status, body } = await token(created.clientId);
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
    expect(body.scope).toBe('tickets:read tickets:write');
    expect(body.refresh_token).toBeUndefined();
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${suite.as.issuer}/jwks`)), {
      issuer: suite.as.issuer,
      audience: suite.as.config.MCP_RESOURCE_URL,
      typ: 'at+jwt',
    });
    expect(payload.sub).toBe(created.principalId);
    expect(payload.client_id).toBe(created.clientId);
    expect(typeof payload.gid).toBe('string');
    // The MCP servers' revocation check: the token stands.
    expect(await accessTokenStanding(suite.database.db.prisma, payload.gid as string, payload.jti)).not.toBeUndefined();

    const principal = await suite.database.db.prisma.user.findUniqueOrThrow({ where: { id: created.principalId }, include: { memberships: { include: { project: true } } } });
    expect(principal.kind).toBe('service');
    expect(principal.passwordHash).toBeNull();
    expect(principal.memberships.map((m) => m.project.key)).toEqual(['OPS']);
    const [listed] = (await registry().list()).filter((c) => c.clientId === created.clientId);
    expect(listed).toMatchObject({ name: 'Triage bot', authMethod: 'private_key_jwt', projects: ['OPS'], scopes: ['tickets:read', 'tickets:write'] });
  });

  it('issues a narrower scope when asked, and refuses a scope the administrator did not allow', async () => {
    const created = await registry().create({ name: 'Reader', projects: ['WEB'], scopes: ['tickets:read'], auth: { method: 'private_key_jwt', jwks: { keys: [key.jwk] } } }, admin);
    const narrower = await token(created.clientId, { scope: 'tickets:read' });
    expect(narrower.status).toBe(200);
    expect(narrower.body.scope).toBe('tickets:read');
    const wider = await token(created.clientId, { scope: 'tickets:read tickets:write' });
    expect(wider.status).toBe(400);
    expect(wider.body.error).toBe('invalid_scope');
    expect(wider.body.error_description).toContain('tickets:write');
    const elsewhere = await token(created.clientId, { resource: 'https://other.example/mcp' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error).toBe('invalid_target');
  });

  it('refuses an assertion signed by another key, for another audience, or replayed', async () => {
    const created = await registry().create({ name: 'Keyed', projects: ['OPS'], scopes: ['tickets:read'], auth: { method: 'private_key_jwt', jwks: { keys: [key.jwk] } } }, admin);
    const other = await generateKeyPair('ES256');
    expect((await token(created.clientId, {}, await assertion(created.clientId, { key: other.privateKey }))).body.error).toBe('invalid_client');
    expect((await token(created.clientId, {}, await assertion(created.clientId, { aud: 'https://elsewhere.example' }))).body.error).toBe('invalid_client');
    const once = await assertion(created.clientId);
    expect((await token(created.clientId, {}, once)).status).toBe(200);
    const replay = await token(created.clientId, {}, once);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('invalid_client');
  });

  it('a client_secret_basic service client authenticates with the secret shown once', async () => {
    const created = await registry().create({ name: 'Nightly job', projects: ['OPS'], scopes: ['tickets:read'], auth: { method: 'client_secret_basic' } }, admin);
    expect(created.clientSecret).toMatch(/^[\w-]{40,}$/);
    const stored = await suite.database.db.prisma.oidcArtifact.findFirstOrThrow({ where: { model: 'Client', clientId: created.clientId } });
    expect(JSON.stringify(stored.payload)).not.toContain(created.clientSecret);
    const ok = await postForm(tokenEndpoint, { grant_type: 'client_credentials' }, { authorization: basic(created.clientId, created.clientSecret!) });
    expect(ok.status).toBe(200);
    const wrong = await postForm(tokenEndpoint, { grant_type: 'client_credentials' }, { authorization: basic(created.clientId, 'not-the-secret') });
    expect(wrong.status).toBe(401);
  });

  it('a revoked client is refused, and the tokens it held stop standing', async () => {
    const created = await registry().create({ name: 'Revoked bot', projects: ['OPS'], scopes: ['tickets:read'], auth: { method: 'private_key_jwt', jwks: { keys: [key.jwk] } } }, admin);
    const { body } = await token(created.clientId);
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString()) as { gid: string; jti: string };
    await suite.as.running.admin.revokeClient(created.clientId, admin);
    expect(await accessTokenStanding(suite.database.db.prisma, claims.gid, claims.jti)).toBeUndefined();
    const after = await token(created.clientId);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('invalid_client');
    expect((await registry().list()).some((c) => c.clientId === created.clientId)).toBe(false);
  });

  it('a disabled service principal gets no token', async () => {
    const created = await registry().create({ name: 'Paused bot', projects: ['OPS'], scopes: ['tickets:read'], auth: { method: 'private_key_jwt', jwks: { keys: [key.jwk] } } }, admin);
    await suite.database.db.prisma.user.update({ where: { id: created.principalId }, data: { disabledAt: new Date() } });
    const { status, body } = await token(created.clientId);
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(/disabled/);
  });

  it('open registration cannot create a client_credentials client', async () => {
    const response = await fetch(`${suite.as.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'sneaky', redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code', 'client_credentials'], token_endpoint_auth_method: 'client_secret_basic' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_client_metadata');
    expect(body.error_description).toMatch(/administrator/);
    // A confidential client registered the ordinary way is not a service client either.
    const ordinary = await registerClient(suite.as.issuer, { client_name: 'ordinary', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_basic' });
    const refused = await postForm(tokenEndpoint, { grant_type: 'client_credentials' }, { authorization: basic(ordinary.client_id, ordinary.client_secret!) });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' });
  });

  it('refuses what it cannot create: no project, an unknown scope, a private key, an unknown project', async () => {
    const base = { name: 'Bad', projects: ['OPS'], scopes: ['tickets:read'], auth: { method: 'private_key_jwt' as const, jwks: { keys: [key.jwk] } } };
    await expect(registry().create({ ...base, projects: [] }, admin)).rejects.toThrow(/project/);
    await expect(registry().create({ ...base, projects: ['NOPE'] }, admin)).rejects.toThrow(/no project NOPE/);
    await expect(registry().create({ ...base, scopes: ['admin'] }, admin)).rejects.toThrow(/unknown scope admin/);
    const privateJwk = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    await expect(registry().create({ ...base, auth: { method: 'private_key_jwt', jwks: { keys: [privateJwk] } } }, admin)).rejects.toThrow(/private or symmetric/);
    await expect(registry().create({ ...base, auth: { method: 'private_key_jwt', jwksUri: 'http://keys.example/jwks' } }, admin)).rejects.toThrow(/https/);
    expect(await suite.database.db.prisma.user.count({ where: { name: 'Bad' } })).toBe(0);
  });
});
