import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerPath, sitePath, underIssuerPath } from '../src/site-path.js';

describe('the issuer path', () => {
  it('is the issuer URL path without a trailing slash, empty at a host root', () => {
    expect(issuerPath('https://example.com')).toBe('');
    expect(issuerPath('https://example.com/')).toBe('');
    expect(issuerPath('https://example.com/oauth/')).toBe('/oauth');
    expect(issuerPath('https://example.com/realms/company')).toBe('/realms/company');
  });

  describe('underIssuerPath', () => {
    let server: http.Server;
    let origin: string;
    beforeAll(async () => {
      const inner = express();
      inner.use((req, res) => void res.json({ path: req.url, base: req.baseUrl, original: req.originalUrl, link: sitePath('/admin') }));
      const site = express();
      site.use(underIssuerPath('/oauth'));
      site.use('/oauth', inner);
      server = http.createServer(site);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const seen = async (path: string) => (await (await fetch(origin + path)).json()) as Record<string, string>;

    it('serves a request that kept the prefix below it', async () => {
      expect(await seen('/oauth/token?x=1')).toEqual({ path: '/token?x=1', base: '/oauth', original: '/oauth/token?x=1', link: '/oauth/admin' });
    });
    it('puts the prefix back on a request a proxy stripped it from', async () => {
      expect(await seen('/token')).toEqual({ path: '/token', base: '/oauth', original: '/oauth/token', link: '/oauth/admin' });
      expect((await seen('/')).original).toBe('/oauth/');
    });
    it('answers the path-inserted well-known documents with the ones below the prefix', async () => {
      expect((await seen('/.well-known/oauth-authorization-server/oauth')).path).toBe('/.well-known/oauth-authorization-server');
      expect((await seen('/.well-known/openid-configuration/oauth')).path).toBe('/.well-known/openid-configuration');
      expect((await seen('/.well-known/oauth-protected-resource/oauth/admin/api')).path).toBe('/.well-known/oauth-protected-resource/admin/api');
    });
    it('does not take a longer path that merely starts with the prefix for it', async () => {
      expect((await seen('/oauthx/token')).original).toBe('/oauth/oauthx/token');
    });
  });
});
