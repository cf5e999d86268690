import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { KeyRing } from './key-ring.js';

// Private members of an RSA/EC/OKP/oct JWK: never handed to the verifier.
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/**
 * RFC 7662 for our JWT access tokens. oidc-provider refuses to introspect structured tokens
 * (`unsupported_token_type`), yet clients and resource servers use introspection to learn whether a
 * token is still good. Once oidc-provider has authenticated the calling client and refused, this
 * answers instead: the signature by one of our keys, the issuer, the expiry, and the grant (`gid`) that
 * must still exist, since revoking a refresh token or a grant does not change the JWT itself.
 * A client learns about its own tokens only; anything else is `{ "active": false }`.
 */
export function introspectJwtAccessTokens(provider: Provider, { issuer, keys }: { issuer: string; keys: Pick<KeyRing, 'publicJwks'> }): void {
  // Built from the ring's current public keys on each call (introspection is rare; keys rotate).
  const publicKeys = (...args: Parameters<ReturnType<typeof createLocalJWKSet>>) =>
    createLocalJWKSet({
      keys: keys.publicJwks.map((key) => Object.fromEntries(Object.entries(key).filter(([member]) => !PRIVATE_MEMBERS.has(member))) as JWK),
    })(...args);

  provider.use(async (ctx, next) => {
    await next();
    const refused = ctx.body as { error?: string } | undefined;
    if (ctx.oidc?.route !== 'introspection' || ctx.status !== 400 || refused?.error !== 'unsupported_token_type') return;
    const client = ctx.oidc.client;
    const token = ctx.oidc.params?.token;
    if (!client || typeof token !== 'string') return;

    ctx.status = 200;
    ctx.body = { active: false };
    try {
      const { payload } = await jwtVerify(token, publicKeys, { issuer, typ: 'at+jwt' });
      if (payload.client_id !== client.clientId || typeof payload.gid !== 'string') return;
      const grant = await provider.Grant.find(payload.gid);
      if (!grant || grant.clientId !== payload.client_id || grant.accountId !== payload.sub) return;
      ctx.body = {
        active: true,
        client_id: payload.client_id,
        sub: payload.sub,
        aud: payload.aud,
        scope: payload.scope,
        exp: payload.exp,
        iat: payload.iat,
        iss: payload.iss,
        jti: payload.jti,
        token_type: 'Bearer',
      };
    } catch {
      // Bad signature, expired, not ours: inactive, and nothing more to say.
    }
  });
}
