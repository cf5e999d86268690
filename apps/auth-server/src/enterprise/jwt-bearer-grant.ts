import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { artifactKey, sqlUtcFromEpochMs, type Database } from '@mcp-gw/db';
import { parseScope } from '@mcp-gw/shared';
import type { FederatedAccounts } from '../federation/accounts.js';
import { FederationError } from '../federation/upstream.js';
import { rememberedGrantId } from '../grants.js';
import { IdJagError, type IdJagVerifier } from './id-jag.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

type ResourceServerInfo = ConstructorParameters<Provider['ResourceServer']>[1];

export interface JwtBearerDeps {
  issuer: string;
  db: Pick<Database, 'query'>;
  verifier: IdJagVerifier;
  accounts: FederatedAccounts;
  /** The resource an assertion without `resource` is for. */
  defaultResource: string;
  /** The MCP resources tokens may be for, and the scopes each one takes. */
  resourceScopes: (resource: string) => readonly string[] | undefined;
  resourceServerInfo: (ctx: KoaContextWithOIDC, resource: string) => Promise<ResourceServerInfo>;
}

const invalidGrant = (description: string) => new errors.CustomOIDCProviderError('invalid_grant', description);

/**
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an ID-JAG (MCP enterprise-managed
 * authorization): the company's IdP already decided this person may use this client with this server,
 * so no consent page is shown. The person's account is found or created as a federated sign-in does,
 * and the token belongs to a grant like any other, so the admin sees it and revocation works the same.
 */
export function registerJwtBearerGrant(provider: Provider, deps: JwtBearerDeps): void {
  const handler = async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as { assertion?: string; scope?: string; resource?: string | string[] };
    if (!params.assertion) throw new errors.InvalidRequest('missing required parameter assertion (the ID-JAG)');
    let verified;
    try {
      verified = await deps.verifier.verify(params.assertion, { audience: deps.issuer, clientId: client.clientId });
    } catch (err) {
      if (err instanceof IdJagError) throw invalidGrant(err.message);
      throw err;
    }
    const { idp, claims } = verified;

    const resource = (claims.resource ?? deps.defaultResource).replace(/\/+$/, '');
    const offered = deps.resourceScopes(resource);
    if (!offered || offered.includes('admin')) throw invalidGrant(`the assertion's resource ${resource.slice(0, 200)} is not an MCP server this authorization server issues tokens for`);
    const asked = Array.isArray(params.resource) ? params.resource : params.resource ? [params.resource] : [];
    if (asked.some((r) => r.replace(/\/+$/, '') !== resource)) throw new errors.InvalidTarget('the resource parameter must match the assertion\'s resource');

    // What the IdP granted, within what the resource offers and this IdP may grant at most.
    const granted = parseScope(claims.scope).filter((s) => offered.includes(s));
    const beyond = idp.scopes.length ? granted.filter((s) => !idp.scopes.includes(s)) : [];
    if (beyond.length) throw invalidGrant(`${idp.label} may not grant ${beyond.join(' ')} here (ENTERPRISE_IDP_*_SCOPES allows ${idp.scopes.join(' ')})`);
    const requested = params.scope === undefined ? granted : parseScope(params.scope);
    const scopes = requested.filter((s) => granted.includes(s));
    if (scopes.length === 0) throw new errors.InvalidScope(`none of the requested scopes is in the assertion (it grants: ${granted.join(' ') || 'nothing'})`, requested.join(' '));

    // Once only: the jti is kept until the assertion expires, in the database every replica shares.
    const [fresh] = await deps.db.query<{ fresh: number }>(
      `INSERT INTO oidc_artifact (model, key, payload, expires_at, created_at) VALUES ('IdJagJti', $1, '{}'::jsonb, ${sqlUtcFromEpochMs('$2')}, ${sqlUtcFromEpochMs('$3')})
        ON CONFLICT (model, key) DO NOTHING RETURNING 1 AS fresh`,
      [artifactKey(`${idp.issuer} ${claims.jti}`), (claims.exp + 60) * 1000, Date.now()],
    );
    if (!fresh) throw invalidGrant('the assertion was already used (jti replay)');

    let user;
    try {
      user = await deps.accounts.signIn(
        { id: idp.id, label: idp.label, issuer: idp.issuer, clientId: '', scope: '', allowedDomains: idp.allowedDomains, trustEmail: idp.trustEmail },
        { issuer: idp.issuer, subject: claims.sub, email: claims.email, emailVerified: claims.email_verified, name: claims.name, claims },
        ctx.ip,
      );
    } catch (err) {
      if (err instanceof FederationError) throw invalidGrant(err.userMessage);
      throw err;
    }

    // The person's grant to this client (the one consent would have made), widened to these scopes.
    const grantId = await rememberedGrantId(deps.db, user.id, client.clientId);
    const grant = (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId: user.id, clientId: client.clientId });
    grant.addResourceScope(resource, scopes.join(' '));
    const savedGrantId = await grant.save();

    const token = new provider.AccessToken({ accountId: user.id, client, grantId: savedGrantId, scope: scopes.join(' '), gty: JWT_BEARER });
    token.resourceServer = new provider.ResourceServer(resource, await deps.resourceServerInfo(ctx, resource));
    ctx.oidc.entity('AccessToken', token);
    const accessToken = await token.save();
    ctx.body = { access_token: accessToken, expires_in: token.expiration, token_type: token.tokenType, scope: scopes.join(' ') };
  };
  provider.registerGrantType(JWT_BEARER, handler as never, ['assertion', 'scope', 'resource'], ['resource']);
}
