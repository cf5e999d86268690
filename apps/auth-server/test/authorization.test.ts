import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClient, tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import { authorizeAndApprove, Browser, LOOPBACK_REDIRECT, publicClient, startAuthorization, startSuite, type Step, type Suite } from './helpers.js';

/** The authorization response parameters, wherever the server put them (query or fragment). */
function responseParams(step: Step): URLSearchParams {
  if (step.kind !== 'redirect') throw new Error(`expected a redirect, got a ${step.status} page: ${step.html.slice(0, 300)}`);
  const params = new URLSearchParams(step.location.search);
  for (const [k, v] of new URLSearchParams(step.location.hash.slice(1))) params.set(k, v);
  return params;
}

// Authorization code flow with PKCE S256, as OAuth 2.1 and the MCP spec require.
describe('authorization endpoint', () => {
  let suite: Suite;
  let client: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite();
    client = await publicClient(suite.as);
  });
  afterAll(async () => {
    await suite?.close();
  });

  describe('PKCE', () => {
    it('refuses a request without code_challenge (invalid_request, sent back with state and iss)', async () => {
      const { step, state } = await startAuthorization(suite.as, client.client_id, { code_challenge: undefined, code_challenge_method: undefined });
      const params = responseParams(step);
      expect(step.kind === 'redirect' && step.location.origin + step.location.pathname).toBe(LOOPBACK_REDIRECT);
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('code')).toBeNull();
      expect(params.get('state')).toBe(state);
      expect(params.get('iss')).toBe(suite.as.issuer);
    });

    it('refuses a code_challenge without a method (RFC 7636 would default it to plain)', async () => {
      const { step } = await startAuthorization(suite.as, client.client_id, { code_challenge_method: undefined });
      const params = responseParams(step);
      expect(params.get('code')).toBeNull();
      expect(params.get('error')).toBe('invalid_request');
    });

    it('refuses code_challenge_method=plain', async () => {
      const { step } = await startAuthorization(suite.as, client.client_id, { code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) });
      const params = responseParams(step);
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('code')).toBeNull();
    });

    it('refuses a wrong or missing code_verifier at the token endpoint (invalid_grant)', async () => {
      const { code } = await authorizeAndApprove(suite.as, client.client_id);
      const wrong = await tokenRequest(suite.as.issuer, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: LOOPBACK_REDIRECT,
        client_id: client.client_id,
        code_verifier: 'x'.repeat(43),
      });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe('invalid_grant');

      const second = await authorizeAndApprove(suite.as, client.client_id);
      const missing = await tokenRequest(suite.as.issuer, {
        grant_type: 'authorization_code',
        code: second.code,
        redirect_uri: LOOPBACK_REDIRECT,
        client_id: client.client_id,
      });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_grant');
    });

    it('redeems a code only once', async () => {
      const { code, verifier } = await authorizeAndApprove(suite.as, client.client_id);
      const params = { grant_type: 'authorization_code', code, redirect_uri: LOOPBACK_REDIRECT, client_id: client.client_id, code_verifier: verifier };
      expect((await tokenRequest(suite.as.issuer, params)).status).toBe(200);
      const replay = await tokenRequest(suite.as.issuer, params);
      expect(replay.status).toBe(400);
      expect(replay.body.error).toBe('invalid_grant');
    });
  });

  describe('redirect URI matching', () => {
    it.each([
      ['an extra path segment', `${LOOPBACK_REDIRECT}/extra`],
      ['a different path', 'http://127.0.0.1:49152/callbackx'],
      ['an added query', `${LOOPBACK_REDIRECT}?next=1`],
      ['another host', 'https://evil.example/callback'],
      ['another loopback host name', 'http://localhost:49152/callback'],
      ['https instead of http', 'https://127.0.0.1:49152/callback'],
    ])('shows an error to the user for %s, never redirecting to it', async (_label, redirectUri) => {
      const { step } = await startAuthorization(suite.as, client.client_id, { redirect_uri: redirectUri });
      expect(step.kind).toBe('page');
      if (step.kind !== 'page') return;
      expect(step.status).toBe(400);
      expect(step.headers.get('location')).toBeNull();
      expect(step.headers.get('content-type')).toMatch(/^text\/html/);
      expect(step.html).toContain('invalid_redirect_uri');
    });

    it('shows an error page for an unknown client_id', async () => {
      const { step } = await startAuthorization(suite.as, 'no-such-client');
      expect(step.kind).toBe('page');
      if (step.kind !== 'page') return;
      expect(step.status).toBe(400);
      expect(step.html).toContain('invalid_client');
    });

    it('accepts a loopback redirect on another port than registered (RFC 8252), without application_type', async () => {
      const portless = await registerClient(suite.as.issuer, {
        redirect_uris: ['http://localhost/callback'],
        token_endpoint_auth_method: 'none',
      });
      const withPort = await registerClient(suite.as.issuer, {
        redirect_uris: ['http://127.0.0.1:1111/callback'],
        token_endpoint_auth_method: 'none',
      });
      for (const [c, redirectUri] of [
        [portless, 'http://localhost:45678/callback'],
        [withPort, 'http://127.0.0.1:2222/callback'],
        [withPort, 'http://127.0.0.1/callback'],
      ] as const) {
        const { code, verifier, location } = await authorizeAndApprove(suite.as, c.client_id, { redirect_uri: redirectUri });
        expect(location.origin + location.pathname).toBe(redirectUri.replace(/\/$/, ''));
        const exchange = await tokenRequest(suite.as.issuer, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: redirectUri,
          client_id: c.client_id,
          code_verifier: verifier,
        });
        expect(exchange.status).toBe(200);
      }
    });

    it('accepts the port change for a client that said application_type web', async () => {
      const web = await registerClient(suite.as.issuer, {
        redirect_uris: ['https://web.example/cb', 'http://127.0.0.1:3000/cb'],
        application_type: 'web',
        token_endpoint_auth_method: 'none',
      });
      const { location } = await authorizeAndApprove(suite.as, web.client_id, { redirect_uri: 'http://127.0.0.1:4000/cb' });
      expect(location.host).toBe('127.0.0.1:4000');
    });

    it('keeps the path and query exact on loopback even though the port is free', async () => {
      const { step } = await startAuthorization(suite.as, client.client_id, { redirect_uri: 'http://127.0.0.1:50000/other' });
      expect(step.kind === 'page' && step.status).toBe(400);
    });
  });

  describe('response', () => {
    it('round-trips state and carries iss (RFC 9207) next to the code', async () => {
      const state = 'state with spaces & symbols/+=?';
      const { location } = await authorizeAndApprove(suite.as, client.client_id, { state });
      expect(location.searchParams.get('state')).toBe(state);
      expect(location.searchParams.get('iss')).toBe(suite.as.issuer);
      expect(location.searchParams.get('code')).toBeTruthy();
      expect(location.hash).toBe('');
    });

    it('refuses response_type=token (unsupported_response_type)', async () => {
      const { step, state } = await startAuthorization(suite.as, client.client_id, { response_type: 'token' });
      const params = responseParams(step);
      expect(params.get('error')).toBe('unsupported_response_type');
      expect(params.get('access_token')).toBeNull();
      expect(params.get('state')).toBe(state);
    });

    it.each(['id_token', 'code token', 'code id_token'])('refuses response_type=%s', async (responseType) => {
      const { step } = await startAuthorization(suite.as, client.client_id, { response_type: responseType });
      const params = responseParams(step);
      expect(params.get('error')).toBe('unsupported_response_type');
    });

    it('sends the browser back with state and iss when the client asked for prompt=none and there is no session', async () => {
      const { step, state } = await startAuthorization(suite.as, client.client_id, { prompt: 'none' }, new Browser(suite.as.issuer));
      const params = responseParams(step);
      expect(params.get('error')).toBe('login_required');
      expect(params.get('state')).toBe(state);
      expect(params.get('iss')).toBe(suite.as.issuer);
    });
  });
});
