import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { parseScope } from '@mcp-gw/shared';
import type { ServiceClientRegistry } from './registry.js';

/** What getResourceServerInfo answers (provider.ts owns it): the token's audience, format and lifetime. */
type ResourceServerInfo = ConstructorParameters<Provider['ResourceServer']>[1];

export interface ClientCredentialsDeps {
  registry: ServiceClientRegistry;
  /** The resource a request without `resource` is for. */
  defaultResource: string;
  resourceServerInfo: (ctx: KoaContextWithOIDC, resource: string) => Promise<ResourceServerInfo>;
}

/**
 * `grant_type=client_credentials` for service clients only. oidc-provider's own handler issues a token
 * whose subject is the client, with no grant: here the subject is the client's service principal and
 * the token carries the grant that holds what the administrator allowed, so the MCP servers check
 * and revoke it exactly like a person's token (see ServiceClientRegistry).
 */
export function registerClientCredentialsGrant(provider: Provider, deps: ClientCredentialsDeps): void {
  const handler = async (ctx: KoaContextWithOIDC) => {
    const client = ctx.oidc.client!;
    const params = ctx.oidc.params as { scope?: string; resource?: string | string[] };
    const standing = await deps.registry.standing(client.clientId);
    if (!standing) throw new errors.UnauthorizedClient('this client is not a service client, or it was revoked: service clients are registered by an administrator');
    if (standing.disabled) throw new errors.CustomOIDCProviderError('invalid_grant', 'the service principal of this client is disabled');

    const requested = Array.isArray(params.resource) ? params.resource : params.resource ? [params.resource] : [deps.defaultResource];
    if (requested.length !== 1) throw new errors.InvalidTarget('give one resource: a token is for one MCP server');
    const resource = requested[0]!.replace(/\/+$/, '');
    const allowed = standing.resources[resource];
    if (!allowed) throw new errors.InvalidTarget(`this client may get tokens for ${Object.keys(standing.resources).join(', ')} only`);
    const asked = parseScope(params.scope);
    const refused = asked.filter((s) => !allowed.includes(s));
    if (refused.length) throw new errors.InvalidScope(`scope not allowed for this service client: ${refused.join(' ')} (allowed: ${allowed.join(' ')})`, refused.join(' '));
    // No scope asked: everything the administrator allowed (RFC 6749 §3.3 lets the server default).
    const scope = (asked.length ? asked : allowed).join(' ');

    const token = new provider.AccessToken({ accountId: standing.principalId, client, grantId: standing.grantId, scope, gty: 'client_credentials' });
    token.resourceServer = new provider.ResourceServer(resource, await deps.resourceServerInfo(ctx, resource));
    ctx.oidc.entity('AccessToken', token);
    const accessToken = await token.save();
    // token-audit.ts records the issue and registration/tracking.ts the last use, as for every grant.
    ctx.body = { access_token: accessToken, expires_in: token.expiration, token_type: token.tokenType, scope };
  };
  provider.registerGrantType('client_credentials', handler as never, ['scope', 'resource'], ['resource']);
}
