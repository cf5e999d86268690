// oidc-provider lib/shared/reject_structured_tokens.js: the unsupported_token_type refusal of introspection and revocation, answered here instead
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';
import { accessTokenStanding, recordRevokedAccessToken, type Database } from '@mcp-gw/db';
import type { AuditLog } from '../../audit.js';
import type { KeyRing } from '../../key-ring.js';
import type { RevocationPublisher } from '../../revocation-bus.js';

// Private members of an RSA/EC/OKP/oct JWK: never handed to the verifier.
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

export interface JwtAccessTokenDeps {
  issuer: string;
  keys: Pick<KeyRing, 'publicJwks'>;
  db: Database;
  revocations?: RevocationPublisher;
  audit?: AuditLog;
}

/**
 * RFC 7662 introspection and RFC 7009 revocation of our JWT access tokens. oidc-provider refuses both
 * for structured tokens (`unsupported_token_type`), yet clients log out and resource servers ask.
 * Once oidc-provider has authenticated the calling client and refused, these answer instead, for the
 * client's own tokens only (anything else: `{ "active": false }`, or a silent 200 as RFC 7009 §2.2
 * asks for a token the server does not recognise).
 */
export function handleJwtAccessTokens(provider: Provider, deps: JwtAccessTokenDeps): void {
  // Built from the ring's current public keys on each call (introspection is rare; keys rotate).
  const publicKeys = (...args: Parameters<ReturnType<typeof createLocalJWKSet>>) =>
    createLocalJWKSet({
      keys: deps.keys.publicJwks.map((key) => Object.fromEntries(Object.entries(key).filter(([member]) => !PRIVATE_MEMBERS.has(member))) as JWK),
    })(...args);

  /** The token's claims when it is ours, unexpired and issued to `clientId`; undefined otherwise. */
  const ownToken = async (token: string, clientId: string): Promise<(JWTPayload & { gid: string; jti: string; exp: number }) | undefined> => {
    try {
      const { payload } = await jwtVerify(token, publicKeys, { issuer: deps.issuer, typ: 'at+jwt' });
      if (payload.client_id !== clientId || typeof payload.gid !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number') return undefined;
      return payload as JWTPayload & { gid: string; jti: string; exp: number };
    } catch {
      return undefined; // bad signature, expired, not ours
    }
  };

  provider.use(async (ctx, next) => {
    await next();
    const refused = ctx.body as { error?: string } | undefined;
    const route = ctx.oidc?.route;
    if ((route !== 'introspection' && route !== 'revocation') || ctx.status !== 400 || refused?.error !== 'unsupported_token_type') return;
    const client = ctx.oidc.client;
    const token = ctx.oidc.params?.token;
    if (!client || typeof token !== 'string') return;

    if (route === 'revocation') {
      const payload = await ownToken(token, client.clientId);
      if (payload) {
        // Kept until the token would have expired anyway; the MCP servers hear of it before this answers.
        await recordRevokedAccessToken(deps.db.prisma, { jti: payload.jti, grantId: payload.gid, clientId: client.clientId, expiresAt: new Date(payload.exp * 1000) });
        const servers = await deps.revocations?.publish({ type: 'token', clientId: client.clientId, grantIds: [], tokenIds: [payload.jti] });
        await deps.audit?.record({ actorType: 'client', actorId: client.clientId, action: 'token.revoked', clientId: client.clientId, targetType: 'access_token', targetId: payload.jti, ip: ctx.ip, details: { grant: payload.gid, servers } });
      }
      ctx.status = 200;
      ctx.body = '';
      return;
    }

    ctx.status = 200;
    ctx.body = { active: false };
    const payload = await ownToken(token, client.clientId);
    if (!payload) return;
    const grant = await provider.Grant.find(payload.gid);
    if (!grant || grant.clientId !== payload.client_id || grant.accountId !== payload.sub) return;
    if ((await accessTokenStanding(deps.db.prisma, payload.gid, payload.jti)) === undefined) return;
    const cnf = payload.cnf as { jkt?: string } | undefined;
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
      token_type: cnf?.jkt ? 'DPoP' : 'Bearer',
      ...(cnf?.jkt ? { cnf: { jkt: cnf.jkt } } : {}),
    };
  });
}
