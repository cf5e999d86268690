import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '@mcp-gw/db';
import { parseScope } from '@mcp-gw/shared';
import type { AuditLog } from '../audit.js';
import type { FederatedAccounts } from '../federation/accounts.js';
import { FederationError } from '../federation/upstream.js';
import { rememberedGrantId } from '../grants.js';
import { claimAssertionOnce } from './assertion-replay.js';
import type { EnterpriseIdpConfig } from './config.js';
import { ID_JAG_SKEW_SECONDS, IdJagError, type IdJagVerifier } from './id-jag.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

type ResourceServerInfo = ConstructorParameters<Provider['ResourceServer']>[1];

export interface JwtBearerDeps {
  issuer: string;
  db: Pick<Database, 'query'>;
  verifier: IdJagVerifier;
  accounts: FederatedAccounts;
  audit?: AuditLog;
  /** The scopes an MCP resource takes; undefined for anything that is not one of our MCP servers. */
  resourceScopes: (resource: string) => readonly string[] | undefined;
  resourceServerInfo: (ctx: KoaContextWithOIDC, resource: string) => Promise<ResourceServerInfo>;
}

/** A refusal of the assertion itself: `invalid_grant`, with what was wrong in `error_description`. */
class AssertionRefused extends errors.CustomOIDCProviderError {
  constructor(
    description: string,
    readonly idp?: EnterpriseIdpConfig,
  ) {
    super('invalid_grant', description);
  }
}

/**
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an ID-JAG (MCP enterprise-managed
 * authorization): the company's IdP already decided this person may use this client with this server,
 * so no consent page is shown. The person's account is found or created as a federated sign-in does,
 * and the token belongs to a grant like any other, so the admin sees it and revocation works the same.
 */
export function registerJwtBearerGrant(provider: Provider, deps: JwtBearerDeps): void {
  const issue = async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as { assertion?: string; scope?: string; resource?: string | string[] };
    // The ID-JAG is a bearer artefact: only a client that proves who it is may redeem one (profile §6.5.1).
    if (client.clientAuthMethod === 'none') throw new errors.UnauthorizedClient('the jwt-bearer grant needs a confidential client (token_endpoint_auth_method other than none)');
    // RFC 9449 §5.2: such a client wants DPoP-bound tokens only, and this grant issues bearer tokens.
    if (client.dpopBoundAccessTokens) throw new errors.InvalidRequest('this client requires DPoP-bound access tokens, which the jwt-bearer grant does not issue');
    if (!params.assertion) throw new errors.InvalidRequest('missing required parameter assertion (the ID-JAG)');

    let verified;
    try {
      verified = await deps.verifier.verify(params.assertion, { audience: deps.issuer, clientId: client.clientId });
    } catch (err) {
      if (err instanceof IdJagError) throw new AssertionRefused(err.message);
      throw err;
    }
    const { idp, claims } = verified;

    // aud and resource are a bound pair (profile §6.6.2): the resource must be one of our MCP servers.
    const resource = claims.resource.replace(/\/+$/, '');
    const offered = deps.resourceScopes(resource);
    if (!offered) throw new AssertionRefused(`the assertion's resource ${resource.slice(0, 200)} is not an MCP server this authorization server issues tokens for`, idp);
    const asked = Array.isArray(params.resource) ? params.resource : params.resource ? [params.resource] : [];
    if (asked.some((r) => r.replace(/\/+$/, '') !== resource)) throw new errors.InvalidTarget('the resource parameter must match the assertion\'s resource');

    const scopes = grantedScopes(idp, offered, resource, claims.scope, params.scope);

    if (!(await claimAssertionOnce(deps.db, { issuer: idp.issuer, jti: claims.jti, exp: claims.exp }, ID_JAG_SKEW_SECONDS))) {
      throw new AssertionRefused('the assertion was already used (jti replay)', idp);
    }

    let user;
    try {
      user = await deps.accounts.signIn(idp, { issuer: idp.issuer, subject: claims.sub, email: claims.email, emailVerified: claims.email_verified, name: claims.name, claims }, ctx.ip);
    } catch (err) {
      if (err instanceof FederationError) throw new AssertionRefused(err.userMessage, idp);
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
    // token-audit.ts records the issue (grant_type jwt-bearer); no refresh token: the client asks its IdP for a new ID-JAG.
    ctx.body = { access_token: accessToken, expires_in: token.expiration, token_type: token.tokenType, scope: scopes.join(' ') };
  };

  const handler = async (ctx: KoaContextWithOIDC) => {
    try {
      await issue(ctx);
    } catch (err) {
      if (err instanceof AssertionRefused) {
        const clientId = ctx.oidc.client?.clientId ?? null;
        void deps.audit?.record({ actorType: 'client', actorId: clientId, action: 'token.assertion_refused', outcome: 'denied', clientId, ip: ctx.ip, details: { idp: err.idp?.id, reason: err.error_description } });
      }
      throw err;
    }
  };
  provider.registerGrantType(JWT_BEARER, handler as never, ['assertion', 'scope', 'resource'], ['resource']);
}

/**
 * The token's scopes (profile §6.2.1): those both requested and in the assertion. The assertion may
 * name only scopes of its resource, and at most what ENTERPRISE_IDP_<ID>_SCOPES lets that IdP grant.
 * An assertion without `scope` leaves the choice to the request, within that same ceiling.
 */
function grantedScopes(idp: EnterpriseIdpConfig, offered: readonly string[], resource: string, claim: string | undefined, requestParam: string | undefined): string[] {
  const asserted = claim === undefined ? undefined : parseScope(claim);
  const unknown = asserted?.filter((s) => !offered.includes(s)) ?? [];
  if (unknown.length) throw new AssertionRefused(`the assertion grants ${unknown.join(' ').slice(0, 200)}, which ${resource} does not offer (it offers ${offered.join(' ')})`, idp);
  const beyond = idp.scopes.length ? (asserted ?? []).filter((s) => !idp.scopes.includes(s)) : [];
  if (beyond.length) throw new AssertionRefused(`${idp.label} may not grant ${beyond.join(' ')} here (its ENTERPRISE_IDP_*_SCOPES allows ${idp.scopes.join(' ')})`, idp);
  const ceiling = asserted ?? (idp.scopes.length ? idp.scopes : offered);
  const requested = requestParam === undefined ? asserted : parseScope(requestParam);
  if (!requested?.length) throw new errors.InvalidScope('no scope: the assertion names none and the request asks for none', '');
  const scopes = requested.filter((s) => ceiling.includes(s));
  if (scopes.length === 0) throw new errors.InvalidScope(`none of the requested scopes may be granted (the assertion allows: ${ceiling.join(' ') || 'nothing'})`, requested.join(' '));
  return scopes;
}
