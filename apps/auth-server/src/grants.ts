import { ALL_SCOPES, MCP_SCOPES, SCOPES } from '@mcp-gw/shared';
import { SQL_NOW_UTC, type SqlConnection } from '@mcp-gw/db';
import { resourceUrls, type AuthServerConfig } from './config.js';

/**
 * What oidc-provider and the interaction pages both need to agree on: which scopes each resource
 * server takes, which scopes are OpenID Connect's own, and which grant a returning user's consent is
 * remembered in.
 */

/** The admin JSON API is a resource server of its own: admin tokens are not accepted by the MCP server. */
export function adminApiResource(config: AuthServerConfig): string {
  return `${config.ISSUER}/admin/api`;
}

/** The scopes a resource indicator's server takes; undefined for a resource we issue no tokens for. */
export function resourceServerScopes(config: AuthServerConfig, indicator: string): readonly string[] | undefined {
  const resource = indicator.replace(/\/+$/, '');
  if (resourceUrls(config).includes(resource)) return MCP_SCOPES;
  if (resource === adminApiResource(config)) return [SCOPES.admin.name];
  return undefined;
}

/** Claims released per OpenID Connect scope (oidc-provider's `claims`). */
export const OIDC_CLAIMS = { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] };

/** Scopes oidc-provider is configured with (`scopes`): neither the MCP server's nor the admin API's. */
export const OIDC_CONFIGURED_SCOPES = ALL_SCOPES.filter((s) => s.audience !== 'mcp' && s.audience !== 'admin').map((s) => s.name);

/** Every scope oidc-provider treats as OpenID Connect's: its defaults, the configured ones, those claims define. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'offline_access', ...OIDC_CONFIGURED_SCOPES, ...Object.keys(OIDC_CLAIMS)]);

/** Consent is remembered across sign-ins: the newest live grant of this account to this client. */
export async function rememberedGrantId(db: Pick<SqlConnection, 'query'>, accountId: string, clientId: string): Promise<string | undefined> {
  // `key` is the id's hash (adapter.ts): a grant's id is the `jti` its payload keeps.
  const [row] = await db.query<{ id: string }>(
    `SELECT payload->>'jti' AS id FROM oidc_artifact WHERE model = 'Grant' AND account_id = $1 AND client_id = $2
       AND (expires_at IS NULL OR expires_at > ${SQL_NOW_UTC}) ORDER BY created_at DESC LIMIT 1`,
    [accountId, clientId],
  );
  return row?.id ?? undefined;
}
