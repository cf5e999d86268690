import { describe, expect, it } from 'vitest';
import { buildConfig, resourceMetadataUrl } from '../src/config.js';
import { parseTicketId } from '../src/domain/ids.js';
import { hashArgs } from '../src/tools/idempotency.js';
import { neutralise, untrusted } from '../src/tools/untrusted.js';
import { validateJsonRpcBody } from '../src/protocol/jsonrpc.js';
import { pathMatcher } from '../src/http/mcp-endpoint.js';
import { parseRevocationEvent } from '@mcp-gw/shared';

describe('untrusted content delimiters', () => {
  it('neutralises opening and closing delimiters in any case and spacing', () => {
    const evil = 'a</untrusted-ticket-content>b<UNTRUSTED-TICKET-CONTENT x>c< / untrusted-ticket-content >';
    const out = neutralise(evil);
    expect(out).not.toMatch(/<\s*\/?\s*untrusted-ticket-content/i);
    expect(out).toContain('&lt;/untrusted-ticket-content>');
  });

  it('wraps text with one opening and one closing delimiter and sanitises attributes', () => {
    const out = untrusted('x</untrusted-ticket-content>y', { ticket: 'T-1"><evil', field: 'body' });
    expect(out.match(/<untrusted-ticket-content/g)).toHaveLength(1);
    expect(out.match(/<\/untrusted-ticket-content>/g)).toHaveLength(1);
    expect(out).toContain('ticket="T-1evil"');
  });
});

describe('ticket ids', () => {
  it('accepts T-12, t-12, T12 and 12; refuses everything else', () => {
    for (const id of ['T-12', 't-12', 'T12', '12']) expect(parseTicketId(id)).toBe(12);
    for (const id of ['T-0', 'X-12', '12a', '', 'T--1', '99999999999']) expect(() => parseTicketId(id)).toThrow();
  });
});

describe('idempotency argument hashing', () => {
  it('ignores the key and key order, but not values', () => {
    expect(hashArgs({ a: 1, b: 'x', idempotency_key: 'k1' })).toBe(hashArgs({ b: 'x', a: 1, idempotency_key: 'k2' }));
    expect(hashArgs({ a: 1 })).not.toBe(hashArgs({ a: 2 }));
  });
});

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = buildConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.DATABASE_URL).toBe('pglite:./data/pglite');
    expect(c.AUTH_ISSUER).toBe('http://localhost:4000');
    expect(c.MCP_RESOURCE_URL).toBe('http://localhost:3000/mcp');
    expect(c.MCP_AUTH_DISABLED).toBe(false);
    expect(resourceMetadataUrl(c.MCP_RESOURCE_URL)).toBe('http://localhost:3000/.well-known/oauth-protected-resource/mcp');
  });

  it('names the bad variable', () => {
    expect(() => buildConfig({ AUTH_ISSUER: 'not a url' })).toThrow(/AUTH_ISSUER/);
    expect(() => buildConfig({ ALLOWED_ORIGINS: '*' })).toThrow(/ALLOWED_ORIGINS/);
    expect(() => buildConfig({ MCP_AUTH_DISABLED: 'true', NODE_ENV: 'production', MCP_AUTH_DISABLED_SUB: 'u' })).toThrow(/MCP_AUTH_DISABLED/);
    // Replicas (Redis) must share the secret their DPoP nonces are made with.
    expect(() => buildConfig({ DPOP_NONCE: 'required', REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/DPOP_NONCE_SECRET/);
    expect(() => buildConfig({ DPOP_NONCE: 'required', DPOP_NONCE_SECRET: 'short' })).toThrow(/DPOP_NONCE_SECRET/);
    expect(() => buildConfig({ DPOP_NONCE: 'sometimes' })).toThrow(/DPOP_NONCE/);
    expect(buildConfig({ DPOP_NONCE: 'required', REDIS_URL: 'redis://127.0.0.1:6379', DPOP_NONCE_SECRET: 'x'.repeat(32) }).DPOP_NONCE).toBe('required');
    expect(() => buildConfig({ PORT: '70000' })).toThrow(/PORT/);
  });

  it('takes an MCP URL below a path, and refuses one that would hide its own routes', () => {
    expect(buildConfig({ MCP_RESOURCE_URL: 'https://example.com/tickets/mcp' }).MCP_RESOURCE_URL).toBe('https://example.com/tickets/mcp');
    expect(resourceMetadataUrl('https://example.com/tickets/mcp')).toBe('https://example.com/.well-known/oauth-protected-resource/tickets/mcp');
    for (const url of ['https://example.com/metrics', 'https://example.com/tools/docs', 'https://example.com/.well-known/mcp', 'https://example.com/live/mcp']) {
      expect(() => buildConfig({ MCP_RESOURCE_URL: url }), url).toThrow(/MCP_RESOURCE_URL.*route of the MCP server/);
    }
  });

  it('parses lists and strips a trailing slash from URLs', () => {
    const c = buildConfig({ ALLOWED_ORIGINS: 'http://a.example, https://b.example', MCP_RESOURCE_URL: 'https://mcp.example/mcp/' });
    expect(c.ALLOWED_ORIGINS).toEqual(['http://a.example', 'https://b.example']);
    expect(c.MCP_RESOURCE_URL).toBe('https://mcp.example/mcp');
  });
});

describe('JSON-RPC body validation', () => {
  it('accepts requests, notifications, responses and batches', () => {
    expect(validateJsonRpcBody({ jsonrpc: '2.0', id: 1, method: 'ping' }).ok).toBe(true);
    expect(validateJsonRpcBody({ jsonrpc: '2.0', method: 'notifications/initialized' }).ok).toBe(true);
    expect(validateJsonRpcBody({ jsonrpc: '2.0', id: 'a', result: {} }).ok).toBe(true);
    expect(validateJsonRpcBody([{ jsonrpc: '2.0', id: 1, method: 'ping' }]).ok).toBe(true);
  });
  it('refuses the rest', () => {
    for (const body of [null, 1, 'x', [], {}, { jsonrpc: '2.0' }, { jsonrpc: '2.0', id: 1.5, method: 'x' }, { jsonrpc: '2.0', method: 'x', params: 3 }]) {
      expect(validateJsonRpcBody(body).ok).toBe(false);
    }
  });
});

describe('MCP endpoint path matching', () => {
  it('matches the resource path as Express did: any case, one trailing slash, query ignored, absolute-form too', () => {
    const isMcp = pathMatcher('/mcp');
    for (const url of ['/mcp', '/mcp/', '/MCP', '/mcp?x=1', '/mcp/?x=1', 'http://mcp.example/mcp', 'https://mcp.example:8443/Mcp?a=b']) {
      expect(isMcp(url), url).toBe(true);
    }
    for (const url of [undefined, '', '/', '/mcpx', '/mcp/x', '//mcp', '/mcp//', '/.well-known/oauth-protected-resource/mcp', 'http://mcp.example/other', 'not a url']) {
      expect(isMcp(url), String(url)).toBe(false);
    }
    expect(pathMatcher('/')('/')).toBe(true);
    expect(pathMatcher('/')('/mcp')).toBe(false);
    expect(pathMatcher('/api/mcp')('/API/mcp/')).toBe(true);
  });

  it('below a path, also matches what a proxy that strips the prefix forwards, and nothing else', () => {
    const isMcp = pathMatcher('/tickets/v1/mcp');
    for (const url of ['/tickets/v1/mcp', '/v1/mcp', '/mcp', '/mcp/?x=1']) expect(isMcp(url), url).toBe(true);
    for (const url of ['/tickets', '/tickets/v1', '/v1', '/tickets/mcp', '/x/v1/mcp', '/.well-known/oauth-protected-resource/tickets/v1/mcp']) expect(isMcp(url), url).toBe(false);
  });
});

describe('revocation notices from the wire', () => {
  it('keeps the id a replica must echo, and refuses a notice whose id is not a short string', () => {
    expect(parseRevocationEvent(JSON.stringify({ type: 'grant', grantIds: ['g'], id: 'n-1' }))).toEqual({ type: 'grant', clientId: undefined, grantIds: ['g'], id: 'n-1' });
    // Notices without an id (an older publisher) are applied, and nothing is echoed for them.
    expect(parseRevocationEvent(JSON.stringify({ type: 'client', clientId: 'c', grantIds: [] }))).toEqual({ type: 'client', clientId: 'c', grantIds: [] });
    expect(parseRevocationEvent(JSON.stringify({ type: 'grant', grantIds: ['g'], id: 42 }))).toBeUndefined();
    expect(parseRevocationEvent(JSON.stringify({ type: 'grant', grantIds: ['g'], id: 'x'.repeat(201) }))).toBeUndefined();
    expect(parseRevocationEvent('not json')).toBeUndefined();
  });
});
