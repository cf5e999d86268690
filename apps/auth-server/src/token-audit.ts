import type Provider from 'oidc-provider';
import type { AuditLog } from './audit.js';

/**
 * Every token the token endpoint issues, in the audit trail: which client, which grant, which grant
 * type, and whether the access token is bound to the client's key (DPoP, RFC 9449: `cnf.jkt`) or a
 * bearer token anyone holding it can use.
 */
export function auditIssuedTokens(provider: Provider, audit: AuditLog): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
    const body = ctx.body as { access_token?: unknown; token_type?: unknown; refresh_token?: unknown } | undefined;
    if (typeof body?.access_token !== 'string') return;
    let claims: { gid?: string; jti?: string; cnf?: { jkt?: string } } = {};
    try {
      claims = JSON.parse(Buffer.from(body.access_token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    } catch {
      // not a JWT (no resource): nothing more to say than the grant type
    }
    const clientId = ctx.oidc.client?.clientId;
    // Not awaited, as the consent audit: the token response does not wait for the INSERT (record() logs its failures).
    void audit.record({
      actorType: 'client',
      actorId: clientId ?? null,
      action: 'token.issued',
      clientId: clientId ?? null,
      targetType: 'grant',
      targetId: claims.gid,
      ip: ctx.ip,
      details: {
        grant_type: ctx.oidc.params?.grant_type,
        token_type: body.token_type,
        key_bound: Boolean(claims.cnf?.jkt),
        ...(claims.cnf?.jkt ? { jkt: claims.cnf.jkt } : {}),
        refresh_token: typeof body.refresh_token === 'string',
      },
    });
  });
}
