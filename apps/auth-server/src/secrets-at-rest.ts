import crypto from 'node:crypto';
import type Provider from 'oidc-provider';

/**
 * Client secrets at rest: only a salted SHA-256 of the secret is stored.
 *
 * Why SHA-256 and not argon2: every client secret is generated here (oidc-provider's secretFactory,
 * 512 random bits; a client cannot choose its own), so guessing one from its hash is out of reach
 * whatever the hash speed, while a slow KDF would cost tens of milliseconds of CPU on every
 * authenticated /token, /token/introspection and /token/revocation request. The salt keeps equal
 * secrets (there are none, but imported ones could be) from having equal hashes.
 */
const PREFIX = '$sha256$';
const HASHED = /^\$sha256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/;

export function isHashedClientSecret(value: unknown): value is string {
  return typeof value === 'string' && HASHED.test(value);
}

/** `$sha256$<salt>$<digest>`; a value that is already a hash is returned unchanged. */
export function hashClientSecret(secret: string): string {
  if (isHashedClientSecret(secret)) return secret;
  const salt = crypto.randomBytes(16).toString('base64url');
  return `${PREFIX}${salt}$${digest(salt, secret)}`;
}

/** Whether `presented` is the secret `stored` (a hash, or a plaintext secret of a static client) stands for. */
export function verifyClientSecret(stored: string | undefined, presented: unknown): boolean {
  if (typeof stored !== 'string' || !stored || typeof presented !== 'string' || !presented) return false;
  let expected: Buffer;
  let actual: Buffer;
  if (isHashedClientSecret(stored)) {
    const [, , salt, hash] = stored.split('$') as [string, string, string, string];
    expected = Buffer.from(hash, 'base64url');
    actual = Buffer.from(digest(salt, presented), 'base64url');
  } else {
    // Compare digests so the comparison is constant-time whatever the lengths.
    expected = crypto.createHash('sha256').update(stored).digest();
    actual = crypto.createHash('sha256').update(presented).digest();
  }
  return crypto.timingSafeEqual(expected, actual);
}

function digest(salt: string, secret: string): string {
  return crypto.createHash('sha256').update(salt).update('\0').update(secret).digest('base64url');
}

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
