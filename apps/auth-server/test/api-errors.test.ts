import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredClient } from '@mcp-gw/testkit';
import { basic, confidentialClient, publicClient, startSuite, type Suite } from './helpers.js';

interface Garbage {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  error: string;
}

// Whatever arrives, an API path answers with JSON and an RFC error code: no HTML, no stack, no 500.
describe('error answers on API paths', () => {
  let suite: Suite;
  let pub: RegisteredClient;
  let conf: RegisteredClient;

  beforeAll(async () => {
    suite = await startSuite();
    pub = await publicClient(suite.as);
    conf = await confidentialClient(suite.as);
  });
  afterAll(async () => {
    await suite?.close();
  });

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const json = { 'content-type': 'application/json' };
  const cases = (): Garbage[] => [
    // Token endpoint
    { name: 'token: invalid JSON', path: '/token', headers: json, body: '{"grant_type":', status: 400, error: 'invalid_request' },
    { name: 'token: JSON instead of a form', path: '/token', headers: json, body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'x', client_id: pub.client_id }), status: 400, error: 'invalid_request' },
    { name: 'token: text/plain', path: '/token', headers: { 'content-type': 'text/plain' }, body: `grant_type=refresh_token&refresh_token=x&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'token: no body at all', path: '/token', status: 400, error: 'invalid_request' },
    { name: 'token: empty form', path: '/token', headers: form, body: '', status: 400, error: 'invalid_request' },
    { name: 'token: no grant_type', path: '/token', headers: form, body: `client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'token: duplicate grant_type', path: '/token', headers: form, body: `grant_type=refresh_token&grant_type=refresh_token&refresh_token=x&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'token: duplicate refresh_token', path: '/token', headers: form, body: `grant_type=refresh_token&refresh_token=x&refresh_token=y&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'token: duplicate client_id', path: '/token', headers: form, body: `grant_type=refresh_token&refresh_token=x&client_id=${pub.client_id}&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'token: broken percent-encoding', path: '/token', headers: form, body: `grant_type=refresh_token&refresh_token=%E0%A4%A&client_id=${pub.client_id}`, status: 400, error: 'invalid_grant' },
    { name: 'token: unknown client', path: '/token', headers: form, body: 'grant_type=refresh_token&refresh_token=x&client_id=nope', status: 401, error: 'invalid_client' },
    { name: 'token: garbage Basic header', path: '/token', headers: { ...form, authorization: 'Basic !!!not-base64' }, body: 'grant_type=refresh_token&refresh_token=x', status: 400, error: 'invalid_request' },
    { name: 'token: oversized body', path: '/token', headers: form, body: `grant_type=refresh_token&refresh_token=${'a'.repeat(2_000_000)}&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'token: GET', path: '/token', method: 'GET', status: 404, error: 'invalid_request' },
    { name: 'token: unknown sub-path', path: '/token/nothing', status: 404, error: 'invalid_request' },
    { name: 'well-known: unknown document', path: '/.well-known/nothing', method: 'GET', status: 404, error: 'invalid_request' },
    // Registration endpoint
    { name: 'reg: invalid JSON', path: '/reg', headers: json, body: '{', status: 400, error: 'invalid_client_metadata' },
    { name: 'reg: form instead of JSON', path: '/reg', headers: form, body: 'redirect_uris=https://a.example/cb', status: 400, error: 'invalid_client_metadata' },
    { name: 'reg: no content type', path: '/reg', body: '{"redirect_uris":["https://a.example/cb"]}', status: 400, error: 'invalid_client_metadata' },
    { name: 'reg: JSON null', path: '/reg', headers: json, body: 'null', status: 400, error: 'invalid_client_metadata' },
    { name: 'reg: read without token', path: `/reg/${'x'.repeat(20)}`, method: 'GET', status: 401, error: 'invalid_token' },
    // Introspection and revocation
    { name: 'introspection: JSON body', path: '/token/introspection', headers: { ...json, authorization: basic(conf.client_id, conf.client_secret!) }, body: '{"token":"x"}', status: 400, error: 'invalid_request' },
    { name: 'introspection: invalid JSON', path: '/token/introspection', headers: { ...json, authorization: basic(conf.client_id, conf.client_secret!) }, body: '{"token":', status: 400, error: 'invalid_request' },
    { name: 'introspection: no token', path: '/token/introspection', headers: { ...form, authorization: basic(conf.client_id, conf.client_secret!) }, body: '', status: 400, error: 'invalid_request' },
    { name: 'introspection: duplicate token', path: '/token/introspection', headers: { ...form, authorization: basic(conf.client_id, conf.client_secret!) }, body: 'token=a&token=b', status: 400, error: 'invalid_request' },
    { name: 'introspection: wrong secret', path: '/token/introspection', headers: { ...form, authorization: basic(conf.client_id, 'wrong') }, body: 'token=a', status: 401, error: 'invalid_client' },
    { name: 'revocation: text/plain', path: '/token/revocation', headers: { 'content-type': 'text/plain' }, body: `token=a&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'revocation: invalid JSON', path: '/token/revocation', headers: json, body: '{{{', status: 400, error: 'invalid_request' },
    { name: 'revocation: duplicate token', path: '/token/revocation', headers: form, body: `token=a&token=b&client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
    { name: 'revocation: no token', path: '/token/revocation', headers: form, body: `client_id=${pub.client_id}`, status: 400, error: 'invalid_request' },
  ];

  it('answers every malformed request with a JSON RFC error, no HTML, no stack trace', async () => {
    const results: Record<string, unknown>[] = [];
    for (const c of cases()) {
      const response = await fetch(`${suite.as.issuer}${c.path}`, { method: c.method ?? 'POST', headers: c.headers, body: c.body });
      const text = await response.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // left empty: the comparison below shows the raw text
      }
      results.push({
        name: c.name,
        status: response.status,
        error: body.error,
        json: /^application\/json/.test(response.headers.get('content-type') ?? ''),
        described: typeof body.error_description === 'string',
        leaks: /<html|<!doctype|\bat [\w.<>]+ \(|node_modules|\.ts:\d+/i.test(text),
        ...(body.error ? {} : { text: text.slice(0, 200) }),
      });
    }
    expect(results).toEqual(cases().map((c) => ({ name: c.name, status: c.status, error: c.error, json: true, described: true, leaks: false })));
  });
});
