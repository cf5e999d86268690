import crypto from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { MCP_SCOPES, parseScope } from '@mcp-gw/shared';
import type { Database } from '@mcp-gw/db';
import { oidcAdapterFactory } from '../adapter.js';
import type { AuditLog } from '../audit.js';
import { resourceUrls, type AuthServerConfig } from '../config.js';

/** A bad request to create a service client: the CLI, page and API show `message` as it is. */
export class ServiceClientError extends Error {
  override name = 'ServiceClientError';
}

/** How a service client proves who it is at the token endpoint. */
export type ServiceClientAuth = { method: 'private_key_jwt'; jwks: { keys: JWK[] } } | { method: 'private_key_jwt'; jwksUri: string } | { method: 'client_secret_basic' };

export interface NewServiceClient {
  /** Shown everywhere: the principal's and the client's name ("CI triage bot"). */
  name: string;
  /** Project keys the principal is a member of: the tools see nothing else. */
  projects: string[];
  /** MCP scopes it may be issued (a subset of the resource's). */
  scopes: string[];
  /** The MCP resource its tokens are for; the main one by default. */
  resource?: string;
  auth: ServiceClientAuth;
}

export interface ServiceClientSummary {
  clientId: string;
  name: string;
  principalId: string;
  principalEmail: string;
  disabled: boolean;
  authMethod: string;
  resource: string | null;
  scopes: string[];
  projects: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

/** What the client_credentials grant needs to know about the calling client. */
export interface ServiceStanding {
  principalId: string;
  disabled: boolean;
  grantId: string;
  /** Resource → the scopes the administrator allowed there. */
  resources: Record<string, string[]>;
}

interface GrantPayload {
  jti: string;
  accountId: string;
  clientId: string;
  resources?: Record<string, string>;
}

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,79}$/u;

/**
 * Machine clients (the `oauth-client-credentials` MCP extension): registered by an administrator,
 * never by open registration. Each acts as its own service principal — an account of kind `service`
 * that is a member of the projects it may touch — through one grant with no expiry, which holds the
 * scopes it may be issued. Revoking the client (or that grant) is what ends it, as for any client.
 */
export class ServiceClientRegistry {
  private readonly Adapter: ReturnType<typeof oidcAdapterFactory>;

  constructor(
    private readonly db: Pick<Database, 'prisma' | 'query'>,
    private readonly config: AuthServerConfig,
    private readonly audit: AuditLog,
  ) {
    this.Adapter = oidcAdapterFactory(db);
  }

  /** Creates the principal, its memberships, the client and its grant; the secret is returned only here. */
  async create(input: NewServiceClient, actor: { type: 'admin'; id: string; ip?: string | null }): Promise<{ clientId: string; clientSecret?: string; principalId: string }> {
    const { prisma } = this.db;
    const name = input.name.trim();
    if (!NAME.test(name)) throw new ServiceClientError('the name must be 1–80 letters, digits, spaces, dots, dashes or underscores');
    const resource = (input.resource ?? this.config.MCP_RESOURCE_URL).replace(/\/+$/, '');
    if (!resourceUrls(this.config).includes(resource)) throw new ServiceClientError(`unknown resource ${resource}: this server issues tokens for ${resourceUrls(this.config).join(', ')}`);
    const scopes = [...new Set(input.scopes.flatMap((s) => parseScope(s.replaceAll(',', ' '))))];
    if (scopes.length === 0) throw new ServiceClientError(`give at least one scope (${MCP_SCOPES.join(', ')})`);
    const unknown = scopes.filter((s) => !(MCP_SCOPES as readonly string[]).includes(s));
    if (unknown.length) throw new ServiceClientError(`unknown scope ${unknown.join(', ')}: a service client may have ${MCP_SCOPES.join(', ')}`);
    const keys = [...new Set(input.projects.flatMap((p) => p.split(',')).map((p) => p.trim().toUpperCase()).filter(Boolean))];
    if (keys.length === 0) throw new ServiceClientError('give at least one project key: a service client sees only its projects');
    const projects = await prisma.project.findMany({ where: { key: { in: keys } }, select: { id: true, key: true } });
    const missing = keys.filter((k) => !projects.some((p) => p.key === k));
    if (missing.length) throw new ServiceClientError(`no project ${missing.join(', ')}`);
    const auth = await checkedAuth(input.auth);

    const clientId = `svc_${crypto.randomBytes(12).toString('base64url')}`;
    const clientSecret = auth.method === 'client_secret_basic' ? crypto.randomBytes(32).toString('base64url') : undefined;
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'service';
    // `.invalid` (RFC 2606) can never be a real mailbox: no IdP can vouch for it, no person owns it.
    const email = `${slug}.${clientId.slice(4, 12).toLowerCase()}@service.invalid`;
    const principal = await prisma.user.create({
      data: { email, name, kind: 'service', passwordHash: null, memberships: { create: projects.map((p) => ({ projectId: p.id, role: 'member' })) } },
    });
    const metadata: Record<string, unknown> = {
      client_id: clientId,
      client_name: name,
      client_id_issued_at: Math.floor(Date.now() / 1000),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: auth.method,
      ...('jwks' in auth ? { jwks: auth.jwks } : {}),
      ...('jwksUri' in auth ? { jwks_uri: auth.jwksUri } : {}),
      ...(clientSecret ? { client_secret: clientSecret } : {}),
    };
    const grantId = crypto.randomBytes(16).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    // No expiry: the administrator's decision stands until revoked.
    const grant = { jti: grantId, kind: 'Grant', iat: now, accountId: principal.id, clientId, resources: { [resource]: scopes.join(' ') } };
    try {
      await new this.Adapter('Client').upsert(clientId, metadata as never);
      await new this.Adapter('Grant').upsert(grantId, grant as never);
      await prisma.clientRegistration.create({ data: { clientId, clientName: name, redirectUris: [], registeredVia: 'admin', registeredIp: actor.ip ?? null } });
    } catch (err) {
      await prisma.oidcArtifact.deleteMany({ where: { clientId } });
      await prisma.user.delete({ where: { id: principal.id } });
      throw err;
    }
    await this.audit.record({
      actorType: actor.type,
      actorId: actor.id,
      ip: actor.ip,
      action: 'client.created',
      targetType: 'client',
      targetId: clientId,
      clientId,
      details: { kind: 'service', principal: principal.id, auth: auth.method, resource, scopes, projects: keys },
    });
    return { clientId, clientSecret, principalId: principal.id };
  }

  /** Every service client still registered, with its principal, scopes and projects. */
  async list(): Promise<ServiceClientSummary[]> {
    const { prisma } = this.db;
    const registrations = await prisma.clientRegistration.findMany({ where: { registeredVia: 'admin', revokedAt: null }, orderBy: { createdAt: 'desc' } });
    const ids = registrations.map((r) => r.clientId);
    const [clients, grants] = await Promise.all([
      prisma.oidcArtifact.findMany({ where: { model: 'Client', clientId: { in: ids } }, select: { clientId: true, payload: true } }),
      prisma.oidcArtifact.findMany({ where: { model: 'Grant', clientId: { in: ids } }, select: { clientId: true, payload: true } }),
    ]);
    const principals = await prisma.user.findMany({
      where: { id: { in: grants.map((g) => (g.payload as unknown as GrantPayload).accountId) }, kind: 'service' },
      include: { memberships: { include: { project: { select: { key: true } } } } },
    });
    return registrations.flatMap((r) => {
      const client = clients.find((c) => c.clientId === r.clientId)?.payload as Record<string, unknown> | undefined;
      const grant = grants.find((g) => g.clientId === r.clientId)?.payload as unknown as GrantPayload | undefined;
      const principal = principals.find((p) => p.id === grant?.accountId);
      if (!client || !principal) return [];
      const [resource, scope] = Object.entries(grant?.resources ?? {})[0] ?? [null, ''];
      return [
        {
          clientId: r.clientId,
          name: principal.name,
          principalId: principal.id,
          principalEmail: principal.email,
          disabled: principal.disabledAt !== null,
          authMethod: String(client.token_endpoint_auth_method),
          resource,
          scopes: scope.split(' ').filter(Boolean),
          projects: principal.memberships.map((m) => m.project.key).sort(),
          createdAt: r.createdAt.toISOString(),
          lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
        },
      ];
    });
  }

  /** The standing of a client at the token endpoint; undefined when it is not a service client (or its grant was revoked). */
  async standing(clientId: string): Promise<ServiceStanding | undefined> {
    const [row] = await this.db.query<{ payload: GrantPayload; kind: string; disabled: boolean }>(
      `SELECT g.payload, u.kind, u.disabled_at IS NOT NULL AS disabled FROM oidc_artifact g JOIN app_user u ON u.id = g.account_id
        WHERE g.model = 'Grant' AND g.client_id = $1 AND u.kind = 'service' LIMIT 1`,
      [clientId],
    );
    if (!row) return undefined;
    return {
      principalId: row.payload.accountId,
      disabled: row.disabled,
      grantId: row.payload.jti,
      resources: Object.fromEntries(Object.entries(row.payload.resources ?? {}).map(([r, s]) => [r, s.split(' ').filter(Boolean)])),
    };
  }
}

/** The key set or URL, checked now: a client that cannot authenticate is refused here, not at its first token. */
async function checkedAuth(auth: ServiceClientAuth): Promise<ServiceClientAuth> {
  if (auth.method === 'client_secret_basic') return auth;
  if ('jwksUri' in auth) {
    const url = URL.parse(auth.jwksUri);
    if (url?.protocol !== 'https:') throw new ServiceClientError('the JWKS URI must be an https URL');
    return { method: 'private_key_jwt', jwksUri: url.href };
  }
  const keys = (auth.jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ServiceClientError('the JWKS must be a JSON object with a non-empty "keys" array');
  const publicKeys: JWK[] = [];
  for (const [i, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null) throw new ServiceClientError(`keys[${i}] is not a JWK`);
    const jwk = key as JWK;
    if ('d' in jwk || jwk.kty === 'oct') throw new ServiceClientError(`keys[${i}] is a private or symmetric key: give the public key only`);
    if (!['RSA', 'EC', 'OKP'].includes(String(jwk.kty))) throw new ServiceClientError(`keys[${i}]: kty must be RSA, EC or OKP`);
    try {
      await importJWK(jwk, jwk.alg ?? (jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'OKP' ? 'EdDSA' : jwk.crv === 'P-384' ? 'ES384' : 'ES256'));
    } catch (err) {
      throw new ServiceClientError(`keys[${i}] is not a usable public key: ${(err as Error).message}`);
    }
    publicKeys.push(jwk);
  }
  return { method: 'private_key_jwt', jwks: { keys: publicKeys } };
}
