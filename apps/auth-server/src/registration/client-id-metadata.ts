import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '@mcp-gw/shared';
import { checkRedirectUri } from './redirect-uri-policy.js';

/** A client_id that is an https URL names a Client ID Metadata Document (CIMD). */
export function isMetadataDocumentClientId(clientId: string): boolean {
  return /^https:\/\//i.test(clientId);
}

/** The identity a person checks on the consent page for a CIMD client: the document's host. */
export function metadataDocumentHost(clientId: string): string | undefined {
  if (!isMetadataDocumentClientId(clientId)) return undefined;
  return URL.parse(clientId)?.host;
}

/**
 * oidc-provider's CIMD feature (draft-02) already enforces: https client_id, exact client_id match,
 * no shared secrets, 200 only (no redirects), 5 KB, 2.5 s, special-use addresses refused, bounded
 * cache, errors not cached. On top of it, a document's redirect URIs obey the same policy as dynamic
 * registration. `unsafeAllowLoopback` (tests and local development only) lets documents come from
 * loopback servers with self-signed certificates.
 */
export function clientIdMetadataDocumentFeature(options: { enabled: boolean; unsafeAllowLoopback: boolean; logger: Logger }) {
  return {
    enabled: options.enabled,
    ack: 'draft-02',
    cacheDuration: { min: 60, max: 3600 },
    allowFetch: async (_ctx: KoaContextWithOIDC, clientId: string) => {
      options.logger.info({ client_id: clientId }, 'fetching client id metadata document');
      return true;
    },
    allowClient: async (_ctx: KoaContextWithOIDC, client: { clientId: string; redirectUris?: readonly string[] }) => {
      const bad = (client.redirectUris ?? []).map(checkRedirectUri).find((v) => !v.ok);
      if (bad && !bad.ok) {
        options.logger.warn({ client_id: client.clientId, reason: bad.reason }, 'client id metadata document refused');
        return false;
      }
      return true;
    },
  };
}

type FetchOptions = RequestInit & { dispatcher?: unknown };

/**
 * The fetch oidc-provider uses for metadata documents. Normally its own SSRF-protected dispatcher is
 * kept; with `unsafeAllowLoopback` a dispatcher that accepts self-signed certificates and loopback
 * addresses replaces it.
 */
export function metadataFetch(unsafeAllowLoopback: boolean): (url: string | URL, options: FetchOptions) => Promise<Response> {
  if (!unsafeAllowLoopback) return (url, options) => fetch(url, options as RequestInit);
  const Agent = fetchAgentClass();
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  return (url, options) => fetch(url, { ...options, dispatcher: insecure } as RequestInit);
}

/**
 * The Agent class of the undici inside Node's fetch (no undici package of our own: a dispatcher from
 * another undici version may not speak the same handler API). Node registers its global dispatcher
 * when it loads undici, which it does lazily: reading the global `Response` loads it (oidc-provider
 * reaches its own SSRF-protected Agent the same way). Both symbols: Node's undici moved to `.2`.
 */
function fetchAgentClass(): new (options: unknown) => unknown {
  void Response;
  const globals = globalThis as Record<symbol, unknown>;
  const dispatcher = (globals[Symbol.for('undici.globalDispatcher.2')] ?? globals[Symbol.for('undici.globalDispatcher.1')]) as
    | { constructor: new (options: unknown) => unknown }
    | undefined;
  if (!dispatcher) throw new Error("cannot reach the Agent of Node's fetch (undici global dispatcher not found)");
  return dispatcher.constructor;
}
