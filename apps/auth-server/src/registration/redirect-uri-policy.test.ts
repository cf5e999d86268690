import { describe, expect, it } from 'vitest';
import { checkRedirectUri, loopbackRedirectMatches, stripLoopbackPort } from './redirect-uri-policy.js';

describe('checkRedirectUri', () => {
  it.each([
    ['https://app.example/cb', 'https'],
    ['https://app.example:8443/cb?x=1', 'https'],
    ['https://claude.ai/api/mcp/auth_callback', 'https'],
    ['http://localhost/cb', 'loopback'],
    ['http://localhost:8080/cb', 'loopback'],
    ['http://127.0.0.1/', 'loopback'],
    ['http://127.0.0.1:33418/', 'loopback'],
    ['http://[::1]:1234/cb', 'loopback'],
    ['cursor://anysphere.cursor-mcp/oauth/callback', 'private-use'],
    ['com.example.app:/oauth2redirect', 'private-use'],
    ['vscode://vscode.github-authentication/did-authenticate', 'private-use'],
  ])('accepts %s as %s', (uri, kind) => {
    expect(checkRedirectUri(uri)).toEqual({ ok: true, kind });
  });

  it.each([
    ['javascript:alert(1)', /javascript/],
    ['JavaScript:alert(1)', /javascript/],
    ['data:text/html,hi', /data/],
    ['vbscript:msgbox', /vbscript/],
    ['file:///etc/passwd', /file/],
    ['blob:https://app.example/uuid', /blob/],
    ['https://app.example/cb#x', /fragment/],
    ['https://app.example/cb#', /fragment/],
    ['https://*.example.com/cb', /wildcard/],
    ['https://app.example/*', /wildcard/],
    ['http://app.example/cb', /loopback/],
    ['http://localhost.evil.example/cb', /loopback/],
    ['http://127.0.0.2/cb', /loopback/],
    ['http://0.0.0.0/cb', /loopback/],
    ['https://user:pass@app.example/cb', /credentials/],
    ['https://user@app.example/cb', /credentials/],
    ['/relative/cb', /absolute/],
    ['app.example/cb', /absolute/],
    ['https://app.example/c b', /spaces/],
    ['https://app.example/cb\n', /control/],
    ['', /non-empty/],
  ])('refuses %s', (uri, reason) => {
    const verdict = checkRedirectUri(uri);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });

  it('refuses non-strings and very long URIs', () => {
    expect(checkRedirectUri(undefined).ok).toBe(false);
    expect(checkRedirectUri(42).ok).toBe(false);
    expect(checkRedirectUri({ href: 'https://a.example' }).ok).toBe(false);
    expect(checkRedirectUri(`https://app.example/${'a'.repeat(2000)}`).ok).toBe(false);
  });
});

describe('loopback port matching (RFC 8252 §7.3)', () => {
  it('strips the port of loopback http URIs only', () => {
    expect(stripLoopbackPort('http://localhost:1234/cb')).toBe('http://localhost/cb');
    expect(stripLoopbackPort('http://127.0.0.1:1/cb?x=1')).toBe('http://127.0.0.1/cb?x=1');
    expect(stripLoopbackPort('http://[::1]:9/')).toBe('http://[::1]/');
    expect(stripLoopbackPort('https://localhost:1234/cb')).toBeUndefined();
    expect(stripLoopbackPort('http://app.example:1234/cb')).toBeUndefined();
    expect(stripLoopbackPort('not a url')).toBeUndefined();
  });

  it('matches whatever the port, never another path, query, host or scheme', () => {
    const registered = ['http://127.0.0.1/callback', 'http://localhost:3000/cb?x=1'];
    expect(loopbackRedirectMatches('http://127.0.0.1:55555/callback', registered)).toBe(true);
    expect(loopbackRedirectMatches('http://127.0.0.1/callback', registered)).toBe(true);
    expect(loopbackRedirectMatches('http://localhost:4000/cb?x=1', registered)).toBe(true);
    expect(loopbackRedirectMatches('http://127.0.0.1:55555/callback/more', registered)).toBe(false);
    expect(loopbackRedirectMatches('http://127.0.0.1:55555/callback?x=1', registered)).toBe(false);
    expect(loopbackRedirectMatches('http://localhost:55555/callback', registered)).toBe(false);
    expect(loopbackRedirectMatches('http://localhost:4000/cb?x=2', registered)).toBe(false);
    expect(loopbackRedirectMatches('https://127.0.0.1:55555/callback', registered)).toBe(false);
    expect(loopbackRedirectMatches('https://app.example/callback', ['https://app.example/callback'])).toBe(false);
  });
});
