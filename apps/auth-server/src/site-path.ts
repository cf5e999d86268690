import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * The issuer's path: '' for an issuer at a host's root, '/oauth' for https://example.com/oauth. Every
 * endpoint and page of this server lives below it, and every path it writes (links, form actions,
 * redirects, cookie paths) starts with it.
 */
export function issuerPath(issuer: string): string {
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  return path === '/' ? '' : path;
}

/**
 * First segments of this server's own routes (below the issuer's path). An issuer path that begins
 * with one would be ambiguous behind a proxy that strips the prefix: refused at start (config.ts).
 */
export const OWN_ROUTE_SEGMENTS = ['admin', 'account', 'console', 'interaction', 'assets', 'auth', 'token', 'reg', 'jwks', 'me', 'session', 'request', 'live', 'ready', 'federation', '.well-known'];

/** The well-known documents clients look for at the host's root with the issuer's path appended (RFC 8414 §3.1, RFC 9728 §3.1). */
const PATH_INSERTED = ['oauth-authorization-server', 'openid-configuration', 'oauth-protected-resource'];

const current = new AsyncLocalStorage<string>();

/** `path` (site-absolute, e.g. '/admin') as written into a page or header: below the issuer's path. */
export function sitePath(path: string): string {
  return `${current.getStore() ?? ''}${path}`;
}

/** The path cookies are scoped to: the issuer's path, or '/' at a host's root. */
export function cookiePath(): string {
  return current.getStore() || '/';
}

/** The request's path below the issuer's path ('/admin/users?x=1'), whatever the proxy did to it. */
export function innerPath(req: Request): string {
  return req.originalUrl.slice(req.baseUrl.length) || '/';
}

/**
 * Puts every request below the issuer's path `base`, for a proxy that keeps the prefix and for one
 * that strips it alike: a request without the prefix gets it back (oidc-provider builds its URLs from
 * the path it is mounted at), the path-inserted well-known documents at the host's root are answered
 * by the documents below the prefix, and the rest of the request runs with `sitePath` prefixing.
 * Probes that bypass the proxy (`/live`, `/ready`) are served too: they get the prefix like the rest.
 */
export function underIssuerPath(base: string): RequestHandler {
  const inserted = new RegExp(`^/\\.well-known/(${PATH_INSERTED.join('|')})${escapeRegExp(base)}(/[^?]*)?(\\?.*)?$`);
  return (req: Request, _res: Response, next: NextFunction) => {
    const url = req.url;
    const wellKnown = inserted.exec(url);
    if (wellKnown) req.url = `${base}/.well-known/${wellKnown[1]}${wellKnown[2] ?? ''}${wellKnown[3] ?? ''}`;
    else if (!(url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`))) req.url = `${base}${url}`;
    req.originalUrl = req.url;
    current.run(base, next);
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
