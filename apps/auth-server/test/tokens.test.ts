import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import {
  authorizeAndApprove,
  basic,
  confidentialClient,
  LOOPBACK_REDIRECT,
  postForm,
  publicClient,
  startAuthorization,
  startSuite,
  tokensFor,
  type Suite,
} from './helpers.js';

const OTHER_RESOURCE = 'http://127.0.0.1:3998/other-mcp';

describe('token endpoint', () => {
  let suite: Suite;
  let client: RegisteredClient;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  beforeAll(async () => {
    suite = await startSuite({ EXTRA_RESOURCE_URLS: OTHER_RESOURCE });
    client = await publicClient(suite.as);
    jwks = createRemoteJWKSet(new URL(`${suite.as.issuer}/jwks`));
  });
  afterAll(async () => {
    await suite?.close();
  });

  describe('grant types', () => {
    it.each([
      ['password', { username: 'alice@example.com', password: 'x' }],
      ['urn:ietf:params:oauth:grant-type:device_code', { device_code: 'x' }],
      ['implicit', {}],
    ])('refuses grant_type=%s with unsupported_grant_type', async (grantType, extra) => {
      const { status, body } = await tokenRequest(suite.as.issuer, { grant_type: grantType, client_id: client.client_id, ...extra });
      expect(status).toBe(400);
      expect(body.error).toBe('unsupported_grant_type');
    });

    it('refuses client_credentials to a client an administrator did not register for it', async () => {
      const { status, body } = await tokenRequest(suite.as.issuer, { grant_type: 'client_credentials', client_id: client.client_id });
      expect(status).toBe(400);
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toBe('requested grant type is not allowed for this client');
    });
  });

  describe('access tokens (RFC 9068) and resource indicators (RFC 8707)', () => {
    it('issues an at+jwt with the expected claims, verifiable with the jwks_uri keys', async () => {
      const tokens = await tokensFor(suite.as, client, { scope: 'tickets:read tickets:write' });
      const accessToken = tokens.access_token as string;
      const header = decodeProtectedHeader(accessToken);
      expect(header.typ).toBe('at+jwt');
      expect(header.alg).toBe('RS256');
      expect(header.kid).toEqual(expect.any(String));

      const { payload } = await jwtVerify(accessToken, jwks, { issuer: suite.as.issuer, audience: suite.as.config.MCP_RESOURCE_URL, typ: 'at+jwt' });
      for (const claim of ['iss', 'aud', 'sub', 'client_id', 'scope', 'exp', 'iat', 'jti', 'gid']) expect(payload).toHaveProperty(claim);
      expect(payload.sub).toBe(suite.as.user.id);
      expect(payload.client_id).toBe(client.client_id);
      expect(payload.scope).toBe('tickets:read tickets:write');
      expect(payload.exp! - payload.iat!).toBe(suite.as.config.ACCESS_TOKEN_TTL);
      expect(tokens.expires_in).toBe(suite.as.config.ACCESS_TOKEN_TTL);
      expect(tokens.token_type).toBe('Bearer');
    });

    it('binds aud to the resource parameter', async () => {
      const tokens = await tokensFor(suite.as, client, { resource: OTHER_RESOURCE });
      const { payload } = await jwtVerify(tokens.access_token as string, jwks, { issuer: suite.as.issuer, typ: 'at+jwt' });
      expect(payload.aud).toBe(OTHER_RESOURCE);
      await expect(
        jwtVerify(tokens.access_token as string, jwks, { issuer: suite.as.issuer, audience: suite.as.config.MCP_RESOURCE_URL }),
      ).rejects.toThrow();
    });

    it('defaults aud to MCP_RESOURCE_URL when no resource is sent (authorize nor token)', async () => {
      const tokens = await tokensFor(suite.as, client, { resource: undefined });
      expect(decodeJwt(tokens.access_token as string).aud).toBe(suite.as.config.MCP_RESOURCE_URL);
    });

    it('accepts a resource with a trailing slash as the same resource', async () => {
      const tokens = await tokensFor(suite.as, client, { resource: `${suite.as.config.MCP_RESOURCE_URL}/` });
      expect(decodeJwt(tokens.access_token as string).aud).toBe(suite.as.config.MCP_RESOURCE_URL);
    });

    it('refuses an unknown resource at the authorization endpoint (invalid_target)', async () => {
      const { step, state } = await startAuthorization(suite.as, client.client_id, { resource: 'https://unknown.example/mcp' });
      expect(step.kind).toBe('redirect');
      if (step.kind !== 'redirect') return;
      expect(step.location.searchParams.get('error')).toBe('invalid_target');
      expect(step.location.searchParams.get('state')).toBe(state);
      expect(step.location.searchParams.get('code')).toBeNull();
    });

    it('refuses an unknown or ungranted resource at the token endpoint (invalid_target)', async () => {
      for (const resource of ['https://unknown.example/mcp', OTHER_RESOURCE]) {
        const { code, verifier } = await authorizeAndApprove(suite.as, client.client_id);
        const { status, body } = await tokenRequest(suite.as.issuer, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: LOOPBACK_REDIRECT,
          client_id: client.client_id,
          code_verifier: verifier,
          resource,
        });
        expect({ resource, status, error: body.error }).toEqual({ resource, status: 400, error: 'invalid_target' });
      }
    });
  });

  describe('refresh tokens', () => {
    it('rotates on use', async () => {
      const tokens = await tokensFor(suite.as, client);
      const refreshed = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refresh_token).toEqual(expect.any(String));
      expect(refreshed.body.refresh_token).not.toBe(tokens.refresh_token);
      expect(decodeJwt(refreshed.body.access_token as string).gid).toBe(decodeJwt(tokens.access_token as string).gid);
    });

    it('refuses a refresh token presented by another client (invalid_grant)', async () => {
      const tokens = await tokensFor(suite.as, client);
      const other = await publicClient(suite.as, { client_name: 'Other public client' });
      const asPublic = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: other.client_id });
      expect(asPublic.status).toBe(400);
      expect(asPublic.body.error).toBe('invalid_grant');
      expect(asPublic.body.access_token).toBeUndefined();

      const confidential = await confidentialClient(suite.as);
      const asConfidential = await tokenRequest(
        suite.as.issuer,
        { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string },
        { clientId: confidential.client_id, clientSecret: confidential.client_secret! },
      );
      expect(asConfidential.status).toBe(400);
      expect(asConfidential.body.error).toBe('invalid_grant');
    });

    it('refuses a confidential client with a wrong secret (invalid_client, 401)', async () => {
      const confidential = await confidentialClient(suite.as);
      const { status, body } = await tokenRequest(
        suite.as.issuer,
        { grant_type: 'refresh_token', refresh_token: 'whatever' },
        { clientId: confidential.client_id, clientSecret: 'wrong-secret' },
      );
      expect(status).toBe(401);
      expect(body.error).toBe('invalid_client');
    });
  });

  describe('revocation (RFC 7009) and introspection (RFC 7662)', () => {
    const introspect = async (auth: { id: string; secret: string }, token: string, hint?: string) => {
      const response = await postForm(`${suite.as.issuer}/token/introspection`, { token, ...(hint ? { token_type_hint: hint } : {}) }, {
        authorization: basic(auth.id, auth.secret),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('lets a public client revoke its refresh token, which ends the grant', async () => {
      const tokens = await tokensFor(suite.as, client);
      const revoke = await postForm(`${suite.as.issuer}/token/revocation`, {
        token: tokens.refresh_token as string,
        token_type_hint: 'refresh_token',
        client_id: client.client_id,
      });
      expect(revoke.status).toBe(200);
      const after = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id });
      expect(after.status).toBe(400);
      expect(after.body.error).toBe('invalid_grant');
    });

    it('answers 200 to revoking an unknown token (RFC 7009 §2.2)', async () => {
      const revoke = await postForm(`${suite.as.issuer}/token/revocation`, { token: 'no-such-token', client_id: client.client_id });
      expect(revoke.status).toBe(200);
    });

    it('does not let a client revoke another client’s refresh token', async () => {
      const tokens = await tokensFor(suite.as, client);
      const other = await publicClient(suite.as, { client_name: 'Revoker' });
      const revoke = await postForm(`${suite.as.issuer}/token/revocation`, { token: tokens.refresh_token as string, client_id: other.client_id });
      expect(revoke.status).toBe(200);
      const still = await tokenRequest(suite.as.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, client_id: client.client_id });
      expect(still.status).toBe(200);
    });

    it('lets a confidential client introspect its access and refresh tokens; inactive after revocation', async () => {
      const confidential = await confidentialClient(suite.as);
      const auth = { id: confidential.client_id, secret: confidential.client_secret! };
      const tokens = await tokensFor(suite.as, confidential, { scope: 'tickets:read' }, { clientId: auth.id, clientSecret: auth.secret });

      const access = await introspect(auth, tokens.access_token as string);
      expect(access.status).toBe(200);
      expect(access.body).toMatchObject({
        active: true,
        scope: 'tickets:read',
        client_id: confidential.client_id,
        sub: suite.as.user.id,
        aud: suite.as.config.MCP_RESOURCE_URL,
        iss: suite.as.issuer,
      });
      expect(access.body.exp).toEqual(expect.any(Number));

      const refresh = await introspect(auth, tokens.refresh_token as string, 'refresh_token');
      expect(refresh.status).toBe(200);
      expect(refresh.body).toMatchObject({ active: true, client_id: confidential.client_id, sub: suite.as.user.id });

      const revoke = await postForm(`${suite.as.issuer}/token/revocation`, { token: tokens.refresh_token as string }, { authorization: basic(auth.id, auth.secret) });
      expect(revoke.status).toBe(200);
      expect((await introspect(auth, tokens.refresh_token as string)).body).toEqual({ active: false });
      // The access token's grant is gone with the refresh token: it is no longer active either.
      expect((await introspect(auth, tokens.access_token as string)).body).toEqual({ active: false });
    });

    it('tells a client nothing about another client’s tokens', async () => {
      const tokens = await tokensFor(suite.as, client);
      const confidential = await confidentialClient(suite.as, { client_name: 'Nosy' });
      const auth = { id: confidential.client_id, secret: confidential.client_secret! };
      for (const token of [tokens.access_token as string, tokens.refresh_token as string]) {
        const { status, body } = await introspect(auth, token);
        expect(status).toBe(200);
        expect(body).toEqual({ active: false });
      }
    });

    it('says active:false for garbage and for a token signed by someone else', async () => {
      const confidential = await confidentialClient(suite.as, { client_name: 'Checker' });
      const auth = { id: confidential.client_id, secret: confidential.client_secret! };
      expect((await introspect(auth, 'garbage')).body).toEqual({ active: false });
      const forged = `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(
        JSON.stringify({ iss: suite.as.issuer, client_id: confidential.client_id, sub: 'x', exp: 2_000_000_000 }),
      ).toString('base64url')}.${Buffer.from('sig').toString('base64url')}`;
      expect((await introspect(auth, forged)).body).toEqual({ active: false });
    });

    it('refuses introspection without client authentication or with a wrong secret', async () => {
      const tokens = await tokensFor(suite.as, client);
      // oidc-provider's answer when no authentication is attempted at all.
      const anonymous = await postForm(`${suite.as.issuer}/token/introspection`, { token: tokens.access_token as string });
      expect(anonymous.status).toBe(400);
      expect(((await anonymous.json()) as Record<string, unknown>).error).toBe('invalid_request');

      const confidential = await confidentialClient(suite.as, { client_name: 'Wrong secret' });
      const wrong = await introspect({ id: confidential.client_id, secret: 'not-the-secret' }, tokens.access_token as string);
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
      expect(wrong.body.active).toBeUndefined();
    });
  });
});
