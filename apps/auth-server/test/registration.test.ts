import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startSuite, type Suite } from './helpers.js';

type Json = Record<string, unknown>;

function findNulls(value: unknown, path = '$'): string[] {
  if (value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => findNulls(v, `${path}[${i}]`));
  if (typeof value === 'object') return Object.entries(value as Json).flatMap(([k, v]) => findNulls(v, `${path}.${k}`));
  return [];
}

// RFC 7591 / 7592 as real MCP clients use them: anonymous, with their own dialects.
describe('dynamic client registration', () => {
  let suite: Suite;
  let reg: string;

  beforeAll(async () => {
    suite = await startSuite();
    reg = `${suite.as.issuer}/reg`;
  });
  afterAll(async () => {
    await suite?.close();
  });

  const register = async (body: unknown) => {
    const response = await postJson(reg, body);
    return { status: response.status, body: (await response.json()) as Json, headers: response.headers };
  };

  const expectRefused = async (body: unknown, error: string, status = 400) => {
    const result = await register(body);
    expect({ status: result.status, error: result.body.error }).toEqual({ status, error });
    expect(typeof result.body.error_description).toBe('string');
    expect(result.body.client_id).toBeUndefined();
  };

  describe('client types', () => {
    it('registers a public client without a secret', async () => {
      const { status, body } = await register({ client_name: 'Public', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' });
      expect(status).toBe(201);
      expect(body.client_id).toEqual(expect.any(String));
      expect(body.token_endpoint_auth_method).toBe('none');
      expect(body).not.toHaveProperty('client_secret');
      expect(body).not.toHaveProperty('client_secret_expires_at');
      expect(body.registration_access_token).toEqual(expect.any(String));
      expect(body.registration_client_uri).toBe(`${reg}/${body.client_id as string}`);
    });

    it.each(['client_secret_basic', 'client_secret_post'])('registers a confidential client (%s) and returns its secret', async (method) => {
      const { status, body } = await register({ client_name: 'Confidential', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: method });
      expect(status).toBe(201);
      expect(body.token_endpoint_auth_method).toBe(method);
      expect(body.client_secret).toEqual(expect.any(String));
      expect((body.client_secret as string).length).toBeGreaterThanOrEqual(32);
    });

    it('defaults to a confidential client (client_secret_basic) when no method is given', async () => {
      const { status, body } = await register({ redirect_uris: ['https://app.example/cb'] });
      expect(status).toBe(201);
      expect(body.token_endpoint_auth_method).toBe('client_secret_basic');
      expect(body.client_secret).toEqual(expect.any(String));
    });

    it('answers without null values (Claude Code refuses them)', async () => {
      const { status, body } = await register({
        client_name: 'Nulls',
        redirect_uris: ['http://localhost:1234/callback'],
        token_endpoint_auth_method: 'none',
        client_uri: null,
        logo_uri: null,
        scope: null,
        contacts: null,
      });
      expect(status).toBe(201);
      expect(findNulls(body)).toEqual([]);
    });
  });

  describe('redirect URIs', () => {
    it.each([
      ['https anywhere', 'https://app.example/oauth/callback'],
      ['https with a port and query', 'https://app.example:8443/cb?x=1'],
      ['http on localhost with a port', 'http://localhost:8080/callback'],
      ['http on 127.0.0.1 without a port', 'http://127.0.0.1/callback'],
      ['http on [::1]', 'http://[::1]:33418/'],
      ['a private-use scheme', 'com.example.app:/oauth2redirect'],
    ])('accepts %s', async (_label, uri) => {
      const { status, body } = await register({ redirect_uris: [uri], token_endpoint_auth_method: 'none' });
      expect(status).toBe(201);
      expect(body.redirect_uris).toEqual([uri]);
    });

    it('accepts Cursor: a private-use scheme next to https and loopback, without application_type', async () => {
      const uris = ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://cursor.example/callback', 'http://127.0.0.1:5555/callback'];
      const { status, body } = await register({ client_name: 'Cursor', redirect_uris: uris, token_endpoint_auth_method: 'none' });
      expect(status).toBe(201);
      expect(body.redirect_uris).toEqual(uris);
      expect(body.application_type).toBe('native');
    });

    it('accepts a private-use scheme even when the client says application_type web', async () => {
      const { status, body } = await register({
        redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'],
        application_type: 'web',
        token_endpoint_auth_method: 'none',
      });
      expect(status).toBe(201);
      expect(body.application_type).toBe('native');
    });

    it.each([
      ['javascript:', 'javascript:alert(1)'],
      ['data:', 'data:text/html,<script>alert(1)</script>'],
      ['a fragment', 'https://app.example/cb#frag'],
      ['an empty fragment', 'https://app.example/cb#'],
      ['a wildcard host', 'https://*.example.com/cb'],
      ['a wildcard path', 'https://app.example/*'],
      ['http on a non-loopback host', 'http://app.example/cb'],
      ['http on a look-alike of localhost', 'http://localhost.evil.example/cb'],
      ['userinfo', 'https://user:pass@app.example/cb'],
      ['a username only', 'https://user@app.example/cb'],
      ['a relative URI', '/callback'],
      ['file:', 'file:///etc/passwd'],
    ])('refuses %s with invalid_redirect_uri', async (_label, uri) => {
      await expectRefused({ redirect_uris: [uri], token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri');
    });

    it('refuses the whole registration when one URI of several is bad', async () => {
      await expectRefused({ redirect_uris: ['https://ok.example/cb', 'http://bad.example/cb'], token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri');
    });

    it('refuses a registration without redirect URIs', async () => {
      await expectRefused({ client_name: 'none', token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri');
      await expectRefused({ redirect_uris: [], token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri');
      await expectRefused({ redirect_uris: 'https://app.example/cb', token_endpoint_auth_method: 'none' }, 'invalid_redirect_uri');
    });
  });

  describe('metadata', () => {
    it('refuses an unsupported token_endpoint_auth_method', async () => {
      await expectRefused({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata');
      await expectRefused({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'tls_client_auth' }, 'invalid_client_metadata');
    });

    it('refuses grant_types that is not an array of strings', async () => {
      await expectRefused({ redirect_uris: ['https://app.example/cb'], grant_types: 'authorization_code' }, 'invalid_client_metadata');
      await expectRefused({ redirect_uris: ['https://app.example/cb'], grant_types: [1, 2] }, 'invalid_client_metadata');
    });

    it('refuses response_types without code', async () => {
      await expectRefused({ redirect_uris: ['https://app.example/cb'], response_types: ['token'] }, 'invalid_client_metadata');
    });

    it('refuses a body that is not a JSON object', async () => {
      await expectRefused([{ redirect_uris: ['https://app.example/cb'] }], 'invalid_client_metadata');
      await expectRefused('https://app.example/cb', 'invalid_client_metadata');
    });

    it('refuses malformed JSON with invalid_client_metadata', async () => {
      const response = await fetch(reg, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"redirect_uris": [' });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await response.json()) as Json).error).toBe('invalid_client_metadata');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded'])('refuses content type %s with invalid_client_metadata', async (type) => {
      const body = type === 'text/plain' ? JSON.stringify({ redirect_uris: ['https://app.example/cb'] }) : 'redirect_uris=https%3A%2F%2Fapp.example%2Fcb';
      const response = await fetch(reg, { method: 'POST', headers: { 'content-type': type }, body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as Json).error).toBe('invalid_client_metadata');
    });

    it('refuses an oversized body with 413 and invalid_client_metadata', async () => {
      const response = await postJson(reg, { redirect_uris: ['https://app.example/cb'], client_name: 'x', padding: 'a'.repeat(64 * 1024) });
      expect(response.status).toBe(413);
      expect(((await response.json()) as Json).error).toBe('invalid_client_metadata');
    });

    it('drops unsupported grant types instead of refusing (VS Code asks for device code)', async () => {
      const { status, body } = await register({
        redirect_uris: ['https://app.example/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'implicit', 'password'],
      });
      expect(status).toBe(201);
      expect(body.grant_types).toEqual(['authorization_code', 'refresh_token']);
    });

    it('ignores an unknown scope value (claude.ai sends "claudeai") and never grants it', async () => {
      const { status, body } = await register({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none', scope: 'claudeai' });
      expect(status).toBe(201);
      expect(String(body.scope ?? '')).not.toContain('claudeai');
      const mixed = await register({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none', scope: 'claudeai openid' });
      expect(mixed.status).toBe(201);
      expect(mixed.body.scope).toBe('openid');
    });

    it('accepts the resource scopes the MCP SDK registers with (taken from the PRM)', async () => {
      const { status, body } = await register({
        client_name: 'MCP SDK client',
        redirect_uris: ['http://localhost:6274/oauth/callback'],
        token_endpoint_auth_method: 'none',
        scope: 'tickets:read tickets:write',
      });
      expect(status).toBe(201);
      expect(findNulls(body)).toEqual([]);
      const withIdentity = await register({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none', scope: 'openid tickets:read claudeai' });
      expect(withIdentity.status).toBe(201);
      expect(withIdentity.body.scope).toBe('openid');
    });
  });

  describe('real clients', () => {
    it.each([
      ['none', 'https://claude.ai/api/mcp/auth_callback'],
      ['none', 'https://claude.com/api/mcp/auth_callback'],
      ['client_secret_post', 'https://claude.ai/api/mcp/auth_callback'],
      ['client_secret_post', 'https://claude.com/api/mcp/auth_callback'],
    ])("registers Claude's body (%s, %s)", async (method, redirect) => {
      const { status, body } = await register({
        client_name: 'claudeai',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: method,
        scope: 'claudeai',
        redirect_uris: [redirect],
      });
      expect(status).toBe(201);
      expect(body.redirect_uris).toEqual([redirect]);
      expect(body.token_endpoint_auth_method).toBe(method);
      expect(body.grant_types).toEqual(['authorization_code', 'refresh_token']);
      expect(body.client_secret === undefined).toBe(method === 'none');
      expect(findNulls(body)).toEqual([]);
    });

    it("registers VS Code's body", async () => {
      const uris = ['https://insiders.vscode.dev/redirect', 'https://vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'];
      const { status, body } = await register({
        client_name: 'Visual Studio Code',
        redirect_uris: uris,
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      });
      expect(status).toBe(201);
      expect(body.redirect_uris).toEqual(uris);
      expect(body.grant_types).toEqual(['authorization_code', 'refresh_token']);
      expect(body.application_type).toBe('native');
    });

    it("registers Claude Code's fallback DCR body (native, localhost with a port)", async () => {
      const { status, body } = await register({
        client_name: 'Claude Code',
        redirect_uris: ['http://localhost:54321/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      });
      expect(status).toBe(201);
      expect(findNulls(body)).toEqual([]);
    });
  });

  describe('RFC 7592 client read', () => {
    it('reads the registration with the registration access token, and only with it', async () => {
      const { body } = await register({ client_name: 'Readable', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' });
      const uri = body.registration_client_uri as string;

      const read = await fetch(uri, { headers: { authorization: `Bearer ${body.registration_access_token as string}` } });
      expect(read.status).toBe(200);
      const readBody = (await read.json()) as Json;
      expect(readBody.client_id).toBe(body.client_id);
      expect(readBody.client_name).toBe('Readable');
      expect(readBody.redirect_uris).toEqual(['https://app.example/cb']);

      const anonymous = await fetch(uri);
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as Json).error).toBe('invalid_token');

      const wrong = await fetch(uri, { headers: { authorization: 'Bearer not-the-token' } });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as Json).error).toBe('invalid_token');

      // Another client's registration access token does not read this one.
      const other = await register({ redirect_uris: ['https://other.example/cb'], token_endpoint_auth_method: 'none' });
      const crossed = await fetch(uri, { headers: { authorization: `Bearer ${other.body.registration_access_token as string}` } });
      expect(crossed.status).toBe(401);
      expect(((await crossed.json()) as Json).error).toBe('invalid_token');
    });
  });
});

describe('registration rate limit', () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await startSuite({ REGISTRATION_RATE_LIMIT: '3' });
  });
  afterAll(async () => {
    await suite?.close();
  });

  it('answers 429 with Retry-After once an address has used up its registrations', async () => {
    const body = { redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' };
    for (let i = 0; i < 3; i++) expect((await postJson(`${suite.as.issuer}/reg`, body)).status).toBe(201);
    const limited = await postJson(`${suite.as.issuer}/reg`, body);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(limited.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await limited.json()) as Json).error).toBe('temporarily_unavailable');
  });
});
