import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { AccessTokenVerifier, InvalidTokenError } from '@mcp-gw/shared';
import { authorize, createTestDatabase, registerClient, tokenRequest, type TestDatabase } from '@mcp-gw/testkit';
import { startTestAuthServer, type TestAuthServer } from '../src/testing.js';

// The whole flow over plain HTTP, as a client and a browser see it — no shortcut into the database.
describe('register → authorize → login → consent → token → verify → refresh → reuse → revoke', () => {
  let database: TestDatabase;
  let as: TestAuthServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    // No reuse grace period: the replay below is reuse at once (refresh-grace.test.ts covers the grace).
    as = await startTestAuthServer(database.db, { REFRESH_TOKEN_REUSE_GRACE: '0' });
  });
  afterAll(async () => {
    await as?.close();
    await database?.dispose();
  });

  it('walks the full flow and kills the grant on refresh token reuse', async () => {
    const resource = as.config.MCP_RESOURCE_URL;
    const redirectUri = 'http://127.0.0.1:49152/callback';
    const client = await registerClient(as.issuer, {
      client_name: 'Flow test',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    });
    expect(client.client_id).toBeTruthy();
    expect(client.registration_access_token).toBeTruthy();
    expect(client.registration_client_uri).toBe(`${as.issuer}/reg/${client.client_id}`);
    expect(client.client_secret).toBeUndefined();

    const result = await authorize({
      issuer: as.issuer,
      clientId: client.client_id,
      redirectUri,
      email: as.user.email,
      password: as.user.password,
      scope: 'tickets:read tickets:write',
      resource,
    });
    expect(result.trail.some((t) => t.startsWith('POST /interaction/') && t.includes('/login'))).toBe(true);
    expect(result.trail.some((t) => t.includes('/confirm'))).toBe(true);
    expect(result.location.origin + result.location.pathname).toBe(redirectUri);
    expect(result.location.searchParams.get('state')).toBe(result.state);
    expect(result.location.searchParams.get('iss')).toBe(as.issuer);
    expect(result.code).toBeTruthy();

    const exchange = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: result.code!,
      redirect_uri: redirectUri,
      client_id: client.client_id,
      code_verifier: result.verifier,
      resource,
    });
    expect(exchange.status).toBe(200);
    const accessToken = exchange.body.access_token as string;
    const refreshToken = exchange.body.refresh_token as string;
    expect(refreshToken).toBeTruthy();
    expect(exchange.body.token_type).toBe('Bearer');
    expect(exchange.body.scope).toBe('tickets:read tickets:write');
    expect(decodeProtectedHeader(accessToken).typ).toBe('at+jwt');

    // Verified against the published jwks_uri, as the MCP server does.
    const verifier = new AccessTokenVerifier({ issuer: as.issuer, audience: resource });
    const verified = await verifier.verify(accessToken);
    expect(verified.sub).toBe(as.user.id);
    expect(verified.clientId).toBe(client.client_id);
    expect(verified.scopes).toEqual(['tickets:read', 'tickets:write']);
    expect(verified.grantId).toBeTruthy();
    expect(verified.jti).toBeTruthy();
    await expect(new AccessTokenVerifier({ issuer: as.issuer, audience: 'https://other.example/mcp' }).verify(accessToken)).rejects.toBeInstanceOf(
      InvalidTokenError,
    );

    // Refresh rotates the refresh token.
    const refreshed = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });
    expect(refreshed.status).toBe(200);
    const rotated = refreshed.body.refresh_token as string;
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(refreshToken);
    expect((await verifier.verify(refreshed.body.access_token as string)).grantId).toBe(verified.grantId);

    // Replaying the rotated-out token fails and revokes the whole grant: the successor dies too.
    const replay = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const successor = await tokenRequest(as.issuer, { grant_type: 'refresh_token', refresh_token: rotated, client_id: client.client_id });
    expect(successor.status).toBe(400);
    expect(successor.body.error).toBe('invalid_grant');

    // A second authorization, then RFC 7009 revocation of its refresh token.
    const again = await authorize({
      issuer: as.issuer,
      clientId: client.client_id,
      redirectUri,
      email: as.user.email,
      password: as.user.password,
      scope: 'tickets:read',
      resource,
      jar: result.jar,
    });
    const second = await tokenRequest(as.issuer, {
      grant_type: 'authorization_code',
      code: again.code!,
      redirect_uri: redirectUri,
      client_id: client.client_id,
      code_verifier: again.verifier,
      resource,
    });
    expect(second.status).toBe(200);
    const revoke = await fetch(`${as.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: second.body.refresh_token as string, client_id: client.client_id }),
    });
    expect(revoke.status).toBe(200);
    const afterRevoke = await tokenRequest(as.issuer, {
      grant_type: 'refresh_token',
      refresh_token: second.body.refresh_token as string,
      client_id: client.client_id,
    });
    expect(afterRevoke.body.error).toBe('invalid_grant');
  });
});
