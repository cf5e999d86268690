import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkRedirectUri, LOOPBACK_HOSTS, loopbackRedirectMatches } from './redirect-uri-policy.js';

// Property-based: the rules hold for generated URIs, not only for the examples in redirect-uri-policy.test.ts.
const segment = fc.stringMatching(/^[A-Za-z0-9_~-]{1,12}$/);
const path = fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`);
const query = fc.option(fc.array(fc.tuple(segment, segment), { minLength: 1, maxLength: 3 }).map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`), { nil: '' });
const loopbackHost = fc.constantFrom(...LOOPBACK_HOSTS);
const port = fc.integer({ min: 1, max: 65_535 });
const optionalPort = fc.option(port.map((p) => `:${p}`), { nil: '' });
const httpsUrl = fc
  .webUrl({ validSchemes: ['https'], withFragments: false, withQueryParameters: true })
  .filter((u) => !u.includes('*') && u.length <= 2000);

describe('checkRedirectUri properties', () => {
  it('accepts https URLs', () => {
    fc.assert(fc.property(httpsUrl, (uri) => {
      expect(checkRedirectUri(uri)).toEqual({ ok: true, kind: 'https' });
    }));
  });

  it('refuses http on any host that is not loopback', () => {
    const httpUrl = fc.webUrl({ validSchemes: ['http'], withFragments: false }).filter((u) => !LOOPBACK_HOSTS.has(new URL(u).hostname));
    fc.assert(fc.property(httpUrl, (uri) => {
      expect(checkRedirectUri(uri).ok).toBe(false);
    }));
  });

  it('accepts http loopback redirects with any port, path and query', () => {
    fc.assert(
      fc.property(loopbackHost, optionalPort, path, query, (host, p, pathname, q) => {
        expect(checkRedirectUri(`http://${host}${p}${pathname}${q}`)).toEqual({ ok: true, kind: 'loopback' });
      }),
    );
  });

  it('refuses anything with a fragment', () => {
    const base = fc.oneof(httpsUrl, fc.tuple(loopbackHost, optionalPort, path).map(([h, p, s]) => `http://${h}${p}${s}`), fc.constant('com.example.app:/cb'));
    fc.assert(fc.property(base, fc.string({ maxLength: 20 }), (uri, fragment) => {
      expect(checkRedirectUri(`${uri}#${fragment}`).ok).toBe(false);
    }));
  });

  it('refuses javascript: and data: URIs whatever their case and content', () => {
    const scheme = fc.constantFrom('javascript', 'data', 'vbscript').chain((s) => fc.mixedCase(fc.constant(s)));
    fc.assert(fc.property(scheme, fc.string({ maxLength: 60 }), (s, rest) => {
      expect(checkRedirectUri(`${s}:${rest}`).ok).toBe(false);
    }));
  });

  it('refuses user information in the authority', () => {
    const userinfo = fc.tuple(segment, fc.option(segment, { nil: undefined })).map(([u, p]) => (p === undefined ? u : `${u}:${p}`));
    const host = fc.oneof(fc.domain(), loopbackHost);
    fc.assert(
      fc.property(fc.constantFrom('https', 'http'), userinfo, host, path, (scheme, info, h, pathname) => {
        expect(checkRedirectUri(`${scheme}://${info}@${h}${pathname}`).ok).toBe(false);
      }),
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.jsonValue()), (value) => {
      checkRedirectUri(value);
    }));
  });
});

describe('loopbackRedirectMatches properties', () => {
  it('ignores the port of a loopback redirect', () => {
    fc.assert(
      fc.property(loopbackHost, optionalPort, optionalPort, path, query, (host, registeredPort, requestedPort, pathname, q) => {
        expect(loopbackRedirectMatches(`http://${host}${requestedPort}${pathname}${q}`, [`http://${host}${registeredPort}${pathname}${q}`])).toBe(true);
      }),
    );
  });

  it('is sensitive to the path, the query and the host', () => {
    fc.assert(
      fc.property(loopbackHost, loopbackHost, optionalPort, optionalPort, path, query, segment, (host, otherHost, a, b, pathname, q, extra) => {
        const registered = [`http://${host}${a}${pathname}${q}`];
        const slash = pathname.endsWith('/') ? '' : '/';
        expect(loopbackRedirectMatches(`http://${host}${b}${pathname}${slash}${extra}${q}`, registered)).toBe(false);
        expect(loopbackRedirectMatches(`http://${host}${b}${pathname}${q ? `${q}&` : '?'}${extra}=1`, registered)).toBe(false);
        if (otherHost !== host) expect(loopbackRedirectMatches(`http://${otherHost}${b}${pathname}${q}`, registered)).toBe(false);
        expect(loopbackRedirectMatches(`https://${host}${b}${pathname}${q}`, registered)).toBe(false);
      }),
    );
  });

  it('never matches a non-loopback URI', () => {
    fc.assert(fc.property(httpsUrl, (uri) => {
      expect(loopbackRedirectMatches(uri, [uri])).toBe(false);
    }));
  });
});
