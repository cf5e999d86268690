/**
 * Which redirect URIs a client may register: `https` anywhere, `http` only on loopback (RFC 8252 §7.3),
 * private-use schemes for native apps (RFC 8252 §7.1). Never fragments, wildcards, credentials in the
 * URL or schemes that execute or embed content.
 */
const FORBIDDEN_SCHEMES = new Set([
  'javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:', 'filesystem:', 'ftp:', 'ws:', 'wss:', 'mailto:', 'tel:',
]);
export const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export type RedirectUriKind = 'https' | 'loopback' | 'private-use';

export type RedirectUriVerdict = { ok: true; kind: RedirectUriKind } | { ok: false; reason: string };

export function checkRedirectUri(value: unknown): RedirectUriVerdict {
  if (typeof value !== 'string' || value.length === 0) return { ok: false, reason: 'must be a non-empty string' };
  if (value.length > 2000) return { ok: false, reason: 'is longer than 2000 characters' };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\x00-\x1f\x7f]/.test(value)) return { ok: false, reason: 'must not contain spaces or control characters' };
  if (value.includes('#')) return { ok: false, reason: 'must not contain a fragment' };
  if (value.includes('*')) return { ok: false, reason: 'must not contain wildcards' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: 'must be an absolute URI' };
  }
  const scheme = url.protocol.toLowerCase();
  if (FORBIDDEN_SCHEMES.has(scheme)) return { ok: false, reason: `must not use the ${scheme.slice(0, -1)} scheme` };
  if (url.username || url.password) return { ok: false, reason: 'must not contain user credentials' };
  if (scheme === 'https:') {
    if (!url.hostname) return { ok: false, reason: 'must name a host' };
    return { ok: true, kind: 'https' };
  }
  if (scheme === 'http:') {
    if (!LOOPBACK_HOSTS.has(url.hostname)) {
      return { ok: false, reason: 'may use http only on a loopback host (localhost, 127.0.0.1, [::1])' };
    }
    return { ok: true, kind: 'loopback' };
  }
  if (!/^[a-z][a-z0-9+.-]*:$/.test(scheme)) return { ok: false, reason: 'has an invalid scheme' };
  return { ok: true, kind: 'private-use' };
}

/** `http://localhost:1234/cb` → `http://localhost/cb`; undefined when not a loopback http URI. */
export function stripLoopbackPort(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  url.port = '';
  return url.href;
}

/**
 * RFC 8252 §7.3: the port of a loopback redirect is chosen at run time, so it is ignored when
 * matching — for every client, whatever its application_type (some register portless URIs).
 */
export function loopbackRedirectMatches(requested: string, registered: readonly string[]): boolean {
  const stripped = stripLoopbackPort(requested);
  if (stripped === undefined) return false;
  return registered.some((uri) => stripLoopbackPort(uri) === stripped);
}
