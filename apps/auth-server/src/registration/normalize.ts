import { isKnownScope, parseScope, SCOPES } from '@mcp-gw/shared';
import { checkRedirectUri } from './redirect-uri-policy.js';

export const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;
export const SUPPORTED_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

export class RegistrationError extends Error {
  constructor(
    readonly error: 'invalid_redirect_uri' | 'invalid_client_metadata',
    readonly errorDescription: string,
  ) {
    super(errorDescription);
  }
}

export interface NormalizeResult {
  metadata: Record<string, unknown>;
  /** What was changed to accept a real client's dialect; logged, and visible in the audit trail. */
  adjustments: string[];
}

/**
 * Accepts the registration bodies real MCP clients send (RFC 7591) and turns them into metadata
 * oidc-provider will register, or refuses with the RFC 7591 error code:
 * - redirect URIs checked by our policy (`invalid_redirect_uri`);
 * - grant types we do not support (device code…) dropped, not refused; refresh allowed by default;
 * - unknown scope values (`claudeai`) ignored, never granted;
 * - `application_type` defaulted from the redirect URIs (a private-use or loopback URI means native);
 * - `null` members treated as absent.
 */
export function normalizeRegistration(body: unknown, options: { extraGrantTypes?: readonly string[] } = {}): NormalizeResult {
  const supported: readonly string[] = [...SUPPORTED_GRANT_TYPES, ...(options.extraGrantTypes ?? [])];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RegistrationError('invalid_client_metadata', 'the request body must be a JSON object');
  }
  // RFC 7591 metadata is at most four levels deep (jwks → keys → key → x5c); deeper bodies are
  // junk at best, and an unknown member would otherwise be carried along unchecked.
  if (nestedDeeperThan(body, MAX_METADATA_DEPTH)) {
    throw new RegistrationError('invalid_client_metadata', `client metadata must not be nested more than ${MAX_METADATA_DEPTH} levels deep`);
  }
  const adjustments: string[] = [];
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    // JSON.parse makes `__proto__` an own member; copied by assignment it would become the
    // prototype of `metadata`, and the checks below would read inherited values.
    if (key === '__proto__') throw new RegistrationError('invalid_client_metadata', 'unknown member __proto__');
    if (value !== null) metadata[key] = value;
  }

  const uris = metadata.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0) {
    throw new RegistrationError('invalid_redirect_uri', 'redirect_uris must be a non-empty array');
  }
  if (uris.length > 20) throw new RegistrationError('invalid_redirect_uri', 'at most 20 redirect_uris may be registered');
  const kinds = uris.map((uri, i) => {
    const verdict = checkRedirectUri(uri);
    if (!verdict.ok) throw new RegistrationError('invalid_redirect_uri', `redirect_uris[${i}] ${verdict.reason}`);
    return verdict.kind;
  });

  if (metadata.grant_types !== undefined) {
    if (!Array.isArray(metadata.grant_types) || metadata.grant_types.some((g) => typeof g !== 'string')) {
      throw new RegistrationError('invalid_client_metadata', 'grant_types must be an array of strings');
    }
    // A machine client acts without a person: only an administrator may create one (and decide as whom).
    if (metadata.grant_types.includes('client_credentials')) {
      throw new RegistrationError('invalid_client_metadata', 'client_credentials clients are registered by an administrator (pnpm admin service-clients add), not by dynamic registration');
    }
    const kept = metadata.grant_types.filter((g: string) => supported.includes(g));
    const dropped = metadata.grant_types.filter((g: string) => !kept.includes(g));
    if (dropped.length) adjustments.push(`dropped unsupported grant_types: ${dropped.join(', ')}`);
    if (!kept.includes('authorization_code')) {
      if (!dropped.length) {
        throw new RegistrationError('invalid_client_metadata', 'grant_types must include authorization_code');
      }
      kept.unshift('authorization_code');
    }
    metadata.grant_types = [...new Set(kept)];
  } else {
    metadata.grant_types = [...SUPPORTED_GRANT_TYPES];
  }

  if (metadata.response_types !== undefined) {
    if (!Array.isArray(metadata.response_types) || !metadata.response_types.includes('code')) {
      throw new RegistrationError('invalid_client_metadata', 'response_types must include "code" (the only one supported)');
    }
    if (metadata.response_types.length > 1) adjustments.push('kept only response_types: code');
    metadata.response_types = ['code'];
  }

  const method = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
  if (typeof method !== 'string' || !(SUPPORTED_AUTH_METHODS as readonly string[]).includes(method)) {
    throw new RegistrationError(
      'invalid_client_metadata',
      `token_endpoint_auth_method must be one of: ${SUPPORTED_AUTH_METHODS.join(', ')}`,
    );
  }

  if (metadata.scope !== undefined) {
    if (typeof metadata.scope !== 'string') throw new RegistrationError('invalid_client_metadata', 'scope must be a string');
    const requested = parseScope(metadata.scope);
    const known = requested.filter(isKnownScope);
    if (known.length !== requested.length) {
      adjustments.push(`ignored unknown scope values: ${requested.filter((s) => !isKnownScope(s)).join(', ')}`);
    }
    // oidc-provider refuses a client `scope` naming anything but its OIDC (identity) scopes, and the
    // client `scope` only ever restricts those: resource scopes (what the MCP SDK registers with, taken
    // from the PRM) are decided per resource and on the consent page, so they are not kept here.
    const identity = known.filter((s) => SCOPES[s].audience === 'identity');
    // No identity scope left: the client is not restricted to a subset (the consent page still decides).
    if (identity.length) metadata.scope = identity.join(' ');
    else delete metadata.scope;
  }

  const needsNative = kinds.some((k) => k !== 'https');
  if (metadata.application_type === undefined) {
    metadata.application_type = needsNative ? 'native' : 'web';
  } else if (metadata.application_type === 'web' && kinds.includes('private-use')) {
    adjustments.push('application_type web with a private-use redirect URI registered as native');
    metadata.application_type = 'native';
  } else if (!['web', 'native'].includes(metadata.application_type as string)) {
    throw new RegistrationError('invalid_client_metadata', 'application_type must be web or native');
  }

  if (metadata.client_name !== undefined) {
    if (typeof metadata.client_name !== 'string' || metadata.client_name.length > 200) {
      throw new RegistrationError('invalid_client_metadata', 'client_name must be a string of at most 200 characters');
    }
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
    metadata.client_name = metadata.client_name.replace(/[\x00-\x1f\x7f]/g, '').trim();
  }
  return { metadata, adjustments };
}

const MAX_METADATA_DEPTH = 8;

/** Whether objects or arrays in `value` nest deeper than `limit` (the top-level object is depth 1). */
function nestedDeeperThan(value: unknown, limit: number, depth = 1): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth > limit) return true;
  for (const member of Array.isArray(value) ? value : Object.values(value)) {
    if (nestedDeeperThan(member, limit, depth + 1)) return true;
  }
  return false;
}
