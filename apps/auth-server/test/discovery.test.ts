import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SCOPES } from '@mcp-gw/shared';
import { startSuite, type Suite } from './helpers.js';

// RFC 8414 and OIDC discovery: what every MCP client reads before anything else.
describe('authorization server metadata', () => {
  let suite: Suite;
  let rfc8414: Record<string, unknown>;
  let oidc: Record<string, unknown>;

  beforeAll(async () => {
    suite = await startSuite();
    const [a, b] = await Promise.all([
      fetch(`${suite.as.issuer}/.well-known/oauth-authorization-server`),
      fetch(`${suite.as.issuer}/.well-known/openid-configuration`),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.headers.get('content-type')).toMatch(/^application\/json/);
    rfc8414 = (await a.json()) as Record<string, unknown>;
    oidc = (await b.json()) as Record<string, unknown>;
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('names the issuer and every endpoint a client needs', () => {
    const issuer = suite.as.issuer;
    for (const doc of [rfc8414, oidc]) {
      expect(doc.issuer).toBe(issuer);
      expect(doc.authorization_endpoint).toBe(`${issuer}/auth`);
      expect(doc.token_endpoint).toBe(`${issuer}/token`);
      expect(doc.registration_endpoint).toBe(`${issuer}/reg`);
      expect(doc.revocation_endpoint).toBe(`${issuer}/token/revocation`);
      expect(doc.introspection_endpoint).toBe(`${issuer}/token/introspection`);
      expect(doc.jwks_uri).toBe(`${issuer}/jwks`);
    }
  });

  it('advertises only what the server does: code + PKCE S256, no implicit or password grant', () => {
    for (const doc of [rfc8414, oidc]) {
      expect(doc.code_challenge_methods_supported).toEqual(['S256']);
      expect(doc.response_types_supported).toEqual(['code']);
      const grants = doc.grant_types_supported as string[];
      expect(grants).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
      expect(grants).not.toContain('implicit');
      expect(grants).not.toContain('password');
      expect(doc.token_endpoint_auth_methods_supported).toContain('none');
      expect(doc.authorization_response_iss_parameter_supported).toBe(true);
    }
  });

  it('lists every scope of the shared catalogue', () => {
    for (const doc of [rfc8414, oidc]) {
      expect(doc.scopes_supported).toEqual(expect.arrayContaining(ALL_SCOPES.map((s) => s.name)));
    }
  });

  it('says the same thing in both documents', () => {
    const shared = Object.keys(rfc8414).filter((k) => k in oidc);
    // The RFC 8414 document is the OIDC one minus OIDC-only members: nothing may differ.
    expect(shared.length).toBeGreaterThan(10);
    for (const key of shared) expect({ key, value: oidc[key] }).toEqual({ key, value: rfc8414[key] });
    expect(Object.keys(rfc8414).filter((k) => !(k in oidc))).toEqual([]);
  });

  it('publishes only public key material in the JWKS', async () => {
    const response = await fetch(`${suite.as.issuer}/jwks`);
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key.kid).toBeTruthy();
      expect(key.kty).toBe('RSA');
      expect(key.n).toBeTruthy();
      expect(key.e).toBeTruthy();
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) expect(key).not.toHaveProperty(secret);
    }
  });
});

describe('CORS for browser-based clients (MCP Inspector)', () => {
  let suite: Suite;
  const origin = 'https://inspector.example';

  beforeAll(async () => {
    suite = await startSuite();
  });
  afterAll(async () => {
    await suite?.close();
  });

  const preflight = (path: string, method: string, headers = 'content-type') =>
    fetch(`${suite.as.issuer}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it.each([
    ['/.well-known/oauth-authorization-server', 'GET'],
    ['/.well-known/openid-configuration', 'GET'],
    ['/jwks', 'GET'],
    ['/token', 'POST'],
    ['/reg', 'POST'],
  ])('answers a preflight on %s from any origin', async (path, method) => {
    const response = await preflight(path, method, 'content-type, authorization');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-methods')).toContain(method);
    const allowedHeaders = response.headers.get('access-control-allow-headers')?.toLowerCase() ?? '';
    expect(allowedHeaders).toContain('content-type');
    expect(allowedHeaders).toContain('authorization');
  });

  it('sends Access-Control-Allow-Origin on the metadata, the JWKS and registration responses', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/jwks']) {
      const response = await fetch(`${suite.as.issuer}${path}`, { headers: { origin } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    }
    const reg = await fetch(`${suite.as.issuer}/reg`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [`${origin}/oauth/callback`], token_endpoint_auth_method: 'none' }),
    });
    expect(reg.status).toBe(201);
    expect(reg.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('allows the token endpoint only for the origins of the client redirect URIs', async () => {
    const reg = await fetch(`${suite.as.issuer}/reg`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [`${origin}/oauth/callback`], token_endpoint_auth_method: 'none' }),
    });
    const client = (await reg.json()) as { client_id: string };
    const call = (from: string) =>
      fetch(`${suite.as.issuer}/token`, {
        method: 'POST',
        headers: { origin: from, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'nope', client_id: client.client_id }),
      });
    const own = await call(origin);
    expect(own.headers.get('access-control-allow-origin')).toBe(origin);
    expect(((await own.json()) as { error: string }).error).toBe('invalid_grant');

    const foreign = await call('https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect(foreign.status).toBe(400);
    expect(((await foreign.json()) as { error: string }).error).toBe('invalid_request');
  });
});
