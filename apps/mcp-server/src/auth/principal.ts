import type { AuthInfo } from '../mcp/sdk.js';

/** Who is calling: the verified access token's facts the app relies on. */
export interface Principal {
  sub: string;
  clientId: string;
  scopes: string[];
  grantId: string | undefined;
  jti: string | undefined;
  expiresAt: number | undefined;
}

// One parsed URL per resource string: parsing it on every authenticated request showed in profiles.
const resourceUrls = new Map<string, URL>();
function resourceUrl(resource: string): URL {
  let url = resourceUrls.get(resource);
  if (!url) {
    url = new URL(resource);
    if (resourceUrls.size < 16) resourceUrls.set(resource, url);
  }
  return url;
}

/** The SDK carries our principal in AuthInfo.extra; these convert both ways. */
export function toAuthInfo(principal: Principal, token: string, resource: string): AuthInfo {
  return {
    token,
    clientId: principal.clientId,
    scopes: principal.scopes,
    expiresAt: principal.expiresAt,
    resource: resourceUrl(resource),
    extra: { sub: principal.sub, grantId: principal.grantId, jti: principal.jti },
  };
}

export function principalFromAuthInfo(auth: AuthInfo | undefined): Principal | undefined {
  if (!auth) return undefined;
  const extra = auth.extra ?? {};
  if (typeof extra.sub !== 'string') return undefined;
  return {
    sub: extra.sub,
    clientId: auth.clientId,
    scopes: auth.scopes,
    grantId: typeof extra.grantId === 'string' ? extra.grantId : undefined,
    jti: typeof extra.jti === 'string' ? extra.jti : undefined,
    expiresAt: auth.expiresAt,
  };
}
