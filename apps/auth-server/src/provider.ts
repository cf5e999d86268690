import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { KeyRing } from './key-ring.js';
import { ADMIN_SCOPE, ALL_SCOPES, type Logger } from '@mcp-gw/shared';
import type { Database } from '@mcp-gw/db';
import { adminApiResource, OIDC_CLAIMS, OIDC_CONFIGURED_SCOPES, rememberedGrantId, resourceServerScopes } from './grants.js';
import { oidcAdapterFactory } from './adapter.js';
import { AccountService } from './accounts.js';
import { resourceUrls, type AuthServerConfig } from './config.js';
import { SUPPORTED_AUTH_METHODS } from './registration/normalize.js';
import { clientIdMetadataDocumentFeature, metadataFetch } from './registration/client-id-metadata.js';
import { renderErrorPage } from './views/pages.js';
import type { AuditLog } from './audit.js';
import { CONSOLE_CALLBACK_PATH, CONSOLE_CLIENT_ID } from './admin/session.js';
import { issuerPath } from './site-path.js';
import { dpopFeature } from './dpop-nonces.js';
import { installOidcExtensions, RefreshSuccessors } from './oidc/extensions/index.js';
import { auditIssuedTokens } from './token-audit.js';
import type { RevocationPublisher } from './revocation-bus.js';
import { registerClientCredentialsGrant } from './service-clients/client-credentials-grant.js';
import type { ServiceClientRegistry } from './service-clients/registry.js';
import type { FederatedAccounts } from './federation/accounts.js';
import { ID_JAG_PROFILE, registerJwtBearerGrant } from './enterprise/jwt-bearer-grant.js';
import { IdJagVerifier } from './enterprise/id-jag.js';

export interface ProviderDeps {
  config: AuthServerConfig;
  db: Database;
  accounts: AccountService;
  keys: KeyRing;
  cookieKeys: string[];
  logger: Logger;
  /** Told about grants oidc-provider deletes itself (refresh token reuse, token revocation). */
  revocations?: RevocationPublisher;
  /** Records access tokens revoked by their clients (RFC 7009). */
  audit?: AuditLog;
  /** Who may use client_credentials, as whom, with what. */
  serviceClients: ServiceClientRegistry;
  /** Finds or creates the person an enterprise IdP's assertion names (as federated sign-in does). */
  federatedAccounts: FederatedAccounts;
}

export function createProvider({ config, db, accounts, keys, cookieKeys, logger, revocations, audit, serviceClients, federatedAccounts }: ProviderDeps): Provider {
  const mcpResources = resourceUrls(config);
  const adminResource = adminApiResource(config);
  const secure = config.ISSUER.startsWith('https://');
  const resourceServerInfo = async (resourceIndicator: string) => {
    const scopes = resourceServerScopes(config, resourceIndicator);
    if (!scopes) throw new errors.InvalidTarget(`unknown resource: this server issues tokens for ${[...mcpResources, adminResource].join(', ')}`);
    return {
      audience: resourceIndicator.replace(/\/+$/, ''),
      accessTokenFormat: 'jwt' as const,
      accessTokenTTL: config.ACCESS_TOKEN_TTL,
      jwt: { sign: { alg: 'RS256' as const } },
      scope: scopes.join(' '),
    };
  };

  const configuration: Configuration = {
    adapter: oidcAdapterFactory(db, {
      onGrantDestroyed: async (grantId) => void (await revocations?.publish({ type: 'grant', grantIds: [grantId] })),
      onClientDestroyed: async (clientId, grantIds) => void (await revocations?.publish({ type: 'client', clientId, grantIds })),
    }),
    // The admin area and the account page sign in through this first-party client.
    clients: [
      {
        client_id: CONSOLE_CLIENT_ID,
        client_name: 'Account console',
        redirect_uris: [`${config.ISSUER}${CONSOLE_CALLBACK_PATH}`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        scope: 'openid',
      },
    ],
    loadExistingGrant: async (ctx) => {
      const { client, session, provider: p } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const fromSession = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (fromSession) {
        const grant = await p.Grant.find(fromSession);
        if (grant) return grant;
      }
      if (client.clientId === CONSOLE_CLIENT_ID) {
        // First party: signing in to our own console needs no consent.
        const grant = new p.Grant({ clientId: client.clientId, accountId: session.accountId });
        grant.addOIDCScope('openid');
        await grant.save();
        return grant;
      }
      const grantId = await rememberedGrantId(db, session.accountId, client.clientId);
      return grantId ? p.Grant.find(grantId) : undefined;
    },
    jwks: { keys: keys.privateJwks as never },
    cookies: {
      keys: cookieKeys,
      long: { signed: true, secure, sameSite: 'lax', httpOnly: true, path: issuerPath(config.ISSUER) || '/' },
      short: { signed: true, secure, sameSite: 'lax', httpOnly: true, path: issuerPath(config.ISSUER) || '/' },
    },
    scopes: OIDC_CONFIGURED_SCOPES,
    claims: OIDC_CLAIMS,
    responseTypes: ['code'],
    // private_key_jwt: service clients (registered by an administrator; open registration offers the others).
    clientAuthMethods: [...SUPPORTED_AUTH_METHODS, 'private_key_jwt'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    ttl: {
      AccessToken: config.ACCESS_TOKEN_TTL,
      AuthorizationCode: config.AUTHORIZATION_CODE_TTL,
      RefreshToken: config.REFRESH_TOKEN_TTL,
      Session: config.SESSION_TTL,
      Grant: config.GRANT_TTL,
      Interaction: 3600,
      IdToken: 3600,
    },
    // MCP clients expect a refresh token without asking for offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // The grant id lets resource servers refuse tokens of a revoked grant on the very next request.
    extraTokenClaims: async (_ctx, token) => (token.kind === 'AccessToken' ? { gid: token.grantId } : undefined),
    findAccount: async (_ctx, sub) => {
      const user = await accounts.find(sub);
      if (!user || user.disabledAt) return undefined;
      return {
        accountId: user.id,
        claims: async () => AccountService.claims(user),
      };
    },
    interactions: { url: (_ctx, interaction) => `${issuerPath(config.ISSUER)}/interaction/${interaction.uid}` },
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    // scopes_supported is set by the middleware below: oidc-provider only fills absent members from here.
    discovery: {
      service_documentation: `${config.ISSUER}/`,
    },
    fetch: metadataFetch(config.UNSAFE_CIMD_ALLOW_LOOPBACK) as never,
    features: {
      clientIdMetadataDocument: clientIdMetadataDocumentFeature({
        enabled: config.CIMD_ENABLED,
        unsafeAllowLoopback: config.UNSAFE_CIMD_ALLOW_LOOPBACK,
        logger,
      }) as never,
      devInteractions: { enabled: false },
      dPoP: dpopFeature(config),
      // Must stay off unless adapter.ts keeps device codes' ids for findByUserCode (sealed).
      deviceFlow: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      revocation: {
        enabled: true,
        // A client may only revoke what was issued to it (RFC 7009 §2.1).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // A client may introspect tokens issued to itself, and only those (public clients too: RFC 7662
        // §2.1 leaves the authorization of the caller to the server). Anyone can register a confidential
        // client, so being one proves nothing about a right to read other clients' tokens.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, client) => (client?.clientId === CONSOLE_CLIENT_ID ? undefined : config.MCP_RESOURCE_URL),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => resourceServerInfo(resourceIndicator),
      },
    },
    renderError: async (ctx: KoaContextWithOIDC, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage({
        error: String(out.error ?? 'server_error'),
        description: String(out.error_description ?? 'The request could not be processed.'),
      });
    },
  };
  void ADMIN_SCOPE;

  const provider = new Provider(config.ISSUER, configuration);
  provider.proxy = config.TRUST_PROXY;

  // oidc-provider advertises only its OIDC `scopes` (identity ones); the resource scopes live in
  // getResourceServerInfo. Clients (claude.ai) ask for what scopes_supported lists: list the catalogue.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'discovery' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      (ctx.body as Record<string, unknown>).scopes_supported = ALL_SCOPES.map((s) => s.name);
      // draft-ietf-oauth-identity-assertion-authz-grant §7.2: how MCP clients learn ID-JAGs are taken here.
      if (config.ENTERPRISE_IDPS.length) (ctx.body as Record<string, unknown>).authorization_grant_profiles_supported = [ID_JAG_PROFILE];
    }
  });

  // Successor ids of rotated refresh tokens are keyed by KEY_ENCRYPTION_KEY (in development without one, the cookie keys).
  const successorKey = config.KEY_ENCRYPTION_KEY ? Buffer.from(config.KEY_ENCRYPTION_KEY, 'base64') : cookieKeys[0]!;
  if (audit) auditIssuedTokens(provider, audit);
  registerClientCredentialsGrant(provider, {
    registry: serviceClients,
    defaultResource: config.MCP_RESOURCE_URL,
    resourceServerInfo: (_ctx, resource) => resourceServerInfo(resource),
  });
  if (config.ENTERPRISE_IDPS.length) {
    registerJwtBearerGrant(provider, {
      issuer: config.ISSUER,
      db,
      verifier: new IdJagVerifier(config.ENTERPRISE_IDPS),
      accounts: federatedAccounts,
      audit,
      resourceScopes: (resource) => (mcpResources.includes(resource) ? resourceServerScopes(config, resource) : undefined),
      resourceServerInfo: (_ctx, resource) => resourceServerInfo(resource),
    });
  }
  installOidcExtensions(provider, {
    issuer: config.ISSUER,
    keys,
    db,
    revocations,
    audit,
    refreshGrace: { graceSeconds: config.REFRESH_TOKEN_REUSE_GRACE, successors: new RefreshSuccessors(successorKey) },
  });

  // Koa answers a method or path no route serves (GET /token, /reg/x/y) with a text/plain 404;
  // clients parse JSON on these paths, so they get an RFC 6749 error body like every other answer.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status === 404 && (ctx.body === null || ctx.body === undefined) && /^\/(token|reg|jwks|me|\.well-known)(\/|$)/.test(ctx.path)) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: `${ctx.method} ${ctx.path} is not served here` };
      ctx.status = 404;
    }
  });

  provider.on('server_error', (_ctx, err) => logger.error({ err }, 'oidc-provider server_error'));
  return provider;
}
