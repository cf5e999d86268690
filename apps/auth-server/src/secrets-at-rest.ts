import crypto from 'node:crypto';

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
