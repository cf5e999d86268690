import { OAuthError, InsufficientScopeError } from './errors.js';

/** RFC 6750 §2.1: the token from `Authorization: Bearer …`; undefined when absent or another scheme. */
export function extractBearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization);
  return match?.[1];
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The `WWW-Authenticate` challenge of RFC 6750 §3 with RFC 9728 §5.1's `resource_metadata`, so an MCP
 * client can discover where to get a token. `scope` tells it what to ask for (never `offline_access`).
 */
export function bearerChallenge(options: { resourceMetadataUrl: string; scope?: readonly string[]; error?: OAuthError }): string {
  const params = [`resource_metadata=${quote(options.resourceMetadataUrl)}`];
  const scope = options.error instanceof InsufficientScopeError ? options.error.requiredScopes : options.scope;
  if (scope?.length) params.push(`scope=${quote(scope.join(' '))}`);
  if (options.error) {
    params.push(`error=${quote(options.error.error)}`);
    params.push(`error_description=${quote(options.error.errorDescription.replace(/[^\x20-\x7e]/g, ''))}`);
  }
  return `Bearer ${params.join(', ')}`;
}
