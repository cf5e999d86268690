// oidc-provider lib/models/client.js: Client.prototype.compareClientSecret (called by lib/shared/client_auth.js)
import type Provider from 'oidc-provider';
import { isHashedClientSecret, verifyClientSecret } from '../../secrets-at-rest.js';

/**
 * Makes oidc-provider work with hashed client secrets (the adapter hashes `client_secret` on write).
 *
 * oidc-provider compares a presented secret in one place, Client#compareClientSecret
 * (shared/client_auth.js, for client_secret_basic and client_secret_post), so that method is
 * replaced by a hash verification: no request-scoped state, no rewriting of client metadata. The
 * other uses of `clientSecret` are symmetric keys (HS* signatures, client_secret_jwt, symmetric
 * encryption), none of which is enabled here (clientAuthMethods, enabledJWA defaults, encryption
 * off); enabling one would need the secret in clear and so a different design.
 *
 * RFC 7592 management: a read (GET /reg/:id) or update answers the client's metadata, whose
 * `client_secret` is now the hash: it is left out (the client keeps the secret it was given at
 * registration; RFC 7592 §3 lets the read response differ from it). An update may repeat the
 * secret (§2.2); oidc-provider compares it with the stored value, so a secret that verifies is
 * replaced by the stored hash before that comparison.
 */
export function installClientSecretHashing(provider: Provider): void {
  type ClientLike = { clientSecret?: string };
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: ClientLike, actual: string) {
    return verifyClientSecret(this.clientSecret, actual);
  } as never;

  provider.use(async (ctx, next) => {
    const management = /^\/reg\/([^/]+)$/.exec(ctx.path);
    if (management && ctx.method === 'PUT') {
      const body = (ctx.req as { body?: unknown }).body as Record<string, unknown> | undefined;
      if (body && typeof body === 'object' && typeof body.client_secret === 'string') {
        let clientId: string | undefined;
        try {
          clientId = decodeURIComponent(management[1]!);
        } catch {
          clientId = undefined;
        }
        const client = clientId ? ((await provider.Client.find(clientId)) as ClientLike | undefined) : undefined;
        if (client?.clientSecret && verifyClientSecret(client.clientSecret, body.client_secret)) body.client_secret = client.clientSecret;
      }
    }
    await next();
    if (management && ctx.body && typeof ctx.body === 'object' && isHashedClientSecret((ctx.body as Record<string, unknown>).client_secret)) {
      delete (ctx.body as Record<string, unknown>).client_secret;
    }
  });
}
