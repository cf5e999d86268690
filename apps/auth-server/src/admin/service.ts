import { artifactKey, type Prisma, type PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import type { AuditLog } from '../audit.js';
import type { RevocationDelivery, RevocationPublisher } from '../revocation-bus.js';
import { deleteClientWithGrants } from '../adapter.js';

export interface Actor {
  type: 'admin' | 'user' | 'system';
  id: string;
  ip?: string | null;
}

export interface GrantSummary {
  grantId: string;
  clientId: string;
  accountId: string;
  userEmail: string | null;
  resources: Record<string, string[]>;
  oidcScopes: string[];
  createdAt: string;
  expiresAt: string | null;
  /** Whether its stored (refresh) tokens are bound to the client's key (DPoP); null: none stored. */
  keyBound: boolean | null;
}

export interface ClientSummary {
  clientId: string;
  clientName: string | null;
  redirectUris: string[];
  registeredVia: string;
  registeredIp: string | null;
  tokenEndpointAuthMethod: string | null;
  applicationType: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  users: string[];
  scopes: string[];
  grantCount: number;
}

interface GrantPayload {
  jti?: string;
  accountId?: string;
  clientId?: string;
  iat?: number;
  exp?: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

export class NotFound extends Error {}

/**
 * What administrators (and users, for their own grants) can see and revoke. Revoking deletes the
 * client or grant and everything issued under it; resource servers check the grant on every request,
 * so the very next call with an old token fails — on every replica, with or without Redis.
 */
export class AdminService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: AuditLog,
    readonly publisher: RevocationPublisher,
    private readonly logger: Logger,
  ) {}

  async listGrants(filter: { clientId?: string; accountId?: string; grantId?: string } = {}): Promise<GrantSummary[]> {
    const rows = await this.prisma.oidcArtifact.findMany({
      where: {
        model: 'Grant',
        ...(filter.clientId ? { clientId: filter.clientId } : {}),
        ...(filter.accountId ? { accountId: filter.accountId } : {}),
        ...(filter.grantId ? { key: artifactKey(filter.grantId) } : {}),
      },
      orderBy: { createdAt: 'desc' },
      take: 1000,
    });
    const live = rows.filter((r) => !r.expiresAt || r.expiresAt > new Date());
    const users = await this.prisma.user.findMany({
      where: { id: { in: [...new Set(live.map((r) => r.accountId).filter((v): v is string => !!v))] } },
      select: { id: true, email: true },
    });
    const emails = new Map(users.map((u) => [u.id, u.email]));
    // A public client's refresh tokens carry the thumbprint of the key they are bound to (jkt).
    const refreshTokens = await this.prisma.oidcArtifact.findMany({
      where: { model: 'RefreshToken', grantId: { in: live.map((r) => r.grantId ?? (r.payload as GrantPayload).jti ?? '') } },
      select: { grantId: true, payload: true },
    });
    const bound = new Map<string, boolean>();
    for (const t of refreshTokens) if (t.grantId) bound.set(t.grantId, (bound.get(t.grantId) ?? false) || typeof (t.payload as { jkt?: unknown }).jkt === 'string');
    return live.map((row) => {
      const payload = row.payload as GrantPayload;
      return {
        grantId: payload.jti ?? '',
        clientId: row.clientId ?? payload.clientId ?? '',
        accountId: row.accountId ?? payload.accountId ?? '',
        userEmail: emails.get(row.accountId ?? '') ?? null,
        resources: Object.fromEntries(Object.entries(payload.resources ?? {}).map(([r, s]) => [r, s.split(' ').filter(Boolean)])),
        oidcScopes: (payload.openid?.scope ?? '').split(' ').filter(Boolean),
        createdAt: row.createdAt.toISOString(),
        expiresAt: row.expiresAt?.toISOString() ?? null,
        keyBound: bound.get(payload.jti ?? '') ?? null,
      };
    });
  }

  async listClients(options: { search?: string } = {}): Promise<ClientSummary[]> {
    const stored = await this.prisma.oidcArtifact.findMany({ where: { model: 'Client' }, orderBy: { createdAt: 'desc' }, take: 2000 });
    // Clients identified by a metadata document are not stored by oidc-provider; their bookkeeping row stands in.
    const documents = await this.prisma.clientRegistration.findMany({ where: { registeredVia: 'cimd', revokedAt: null }, orderBy: { createdAt: 'desc' }, take: 2000 });
    const clients = [
      ...stored,
      ...documents.map((d) => ({
        clientId: d.clientId,
        createdAt: d.createdAt,
        payload: { client_id: d.clientId, client_name: d.clientName ?? undefined, redirect_uris: d.redirectUris, token_endpoint_auth_method: 'none' } as Prisma.JsonValue,
      })),
    ];
    const registrations = await this.prisma.clientRegistration.findMany({ where: { clientId: { in: clients.map((c) => c.clientId ?? '') } } });
    const byId = new Map(registrations.map((r) => [r.clientId, r]));
    const grants = await this.listGrants();
    const search = options.search?.toLowerCase();
    return clients
      .map((row) => {
        const meta = row.payload as Record<string, unknown>;
        const clientId = String(meta.client_id);
        const registration = byId.get(clientId);
        const mine = grants.filter((g) => g.clientId === clientId);
        return {
          clientId,
          clientName: (meta.client_name as string | undefined) ?? null,
          redirectUris: (meta.redirect_uris as string[] | undefined) ?? [],
          registeredVia: registration?.registeredVia ?? 'dcr',
          registeredIp: registration?.registeredIp ?? null,
          tokenEndpointAuthMethod: (meta.token_endpoint_auth_method as string | undefined) ?? null,
          applicationType: (meta.application_type as string | undefined) ?? null,
          createdAt: (registration?.createdAt ?? row.createdAt).toISOString(),
          lastUsedAt: registration?.lastUsedAt?.toISOString() ?? null,
          users: [...new Set(mine.map((g) => g.userEmail ?? g.accountId))],
          scopes: [...new Set(mine.flatMap((g) => Object.values(g.resources).flat()))],
          grantCount: mine.length,
        };
      })
      .filter((c) => !search || c.clientId.toLowerCase().includes(search) || (c.clientName ?? '').toLowerCase().includes(search));
  }

  async getClient(clientId: string): Promise<{ summary: ClientSummary; metadata: Record<string, unknown>; grants: GrantSummary[] }> {
    const row = await this.prisma.oidcArtifact.findUnique({ where: { model_key: { model: 'Client', key: artifactKey(clientId) } } });
    const summary = (await this.listClients()).find((c) => c.clientId === clientId);
    if (!summary) throw new NotFound(`no client ${clientId}`);
    const { client_secret: _secret, ...metadata } = (row?.payload ?? { client_id: clientId, client_name: summary.clientName, redirect_uris: summary.redirectUris }) as Record<string, unknown>;
    return { summary, metadata, grants: await this.listGrants({ clientId }) };
  }

  /** One live grant (for the revocation confirmation page); NotFound when gone or, with onlyAccountId, someone else's. */
  async getGrant(grantId: string, options: { onlyAccountId?: string } = {}): Promise<GrantSummary> {
    const [grant] = await this.listGrants({ grantId, ...(options.onlyAccountId ? { accountId: options.onlyAccountId } : {}) });
    if (!grant) throw new NotFound(`no grant ${grantId}`);
    return grant;
  }

  /** Deletes a client registration and every grant, code and token issued to it. */
  async revokeClient(clientId: string, actor: Actor): Promise<{ grants: number; artifacts: number; servers: RevocationDelivery }> {
    const exists =
      (await this.prisma.oidcArtifact.findUnique({ where: { model_key: { model: 'Client', key: artifactKey(clientId) } }, select: { key: true } })) ??
      (await this.prisma.clientRegistration.findFirst({ where: { clientId, registeredVia: 'cimd', revokedAt: null }, select: { clientId: true } }));
    if (!exists) throw new NotFound(`no client ${clientId}`);
    const { grantIds, artifacts } = await deleteClientWithGrants(this.prisma, clientId, (tx) =>
      tx.clientRegistration.updateMany({ where: { clientId }, data: { revokedAt: new Date() } }),
    );
    const servers = await this.publisher.publish({ type: 'client', clientId, grantIds });
    await this.audit.record({
      actorType: actor.type,
      actorId: actor.id,
      ip: actor.ip,
      action: 'client.revoked',
      targetType: 'client',
      targetId: clientId,
      clientId,
      details: { grants: grantIds.length, artifacts, servers },
    });
    this.logger.info({ clientId, grants: grantIds.length, actor: actor.id, servers }, 'client revoked');
    return { grants: grantIds.length, artifacts, servers };
  }

  /** Revokes one grant (one user's consent to one client) and everything issued under it. */
  async revokeGrant(grantId: string, actor: Actor, options: { onlyAccountId?: string } = {}): Promise<{ servers: RevocationDelivery }> {
    const row = await this.prisma.oidcArtifact.findUnique({ where: { model_key: { model: 'Grant', key: artifactKey(grantId) } } });
    if (!row || (options.onlyAccountId && row.accountId !== options.onlyAccountId)) throw new NotFound(`no grant ${grantId}`);
    await this.prisma.$transaction([
      this.prisma.oidcArtifact.deleteMany({ where: { grantId } }),
      this.prisma.oidcArtifact.deleteMany({ where: { model: 'Grant', key: artifactKey(grantId) } }),
    ]);
    const servers = await this.publisher.publish({ type: 'grant', clientId: row.clientId ?? undefined, grantIds: [grantId] });
    await this.audit.record({
      actorType: actor.type,
      actorId: actor.id,
      ip: actor.ip,
      action: 'grant.revoked',
      targetType: 'grant',
      targetId: grantId,
      clientId: row.clientId,
      details: { accountId: row.accountId, servers },
    });
    return { servers };
  }

  /** Every account, with how it signs in (password, upstream IdPs) and whether it is a service principal. */
  async listUsers() {
    const users = await this.prisma.user.findMany({
      orderBy: { createdAt: 'asc' },
      select: {
        id: true,
        email: true,
        name: true,
        isAdmin: true,
        kind: true,
        disabledAt: true,
        createdAt: true,
        lastLoginAt: true,
        passwordHash: true,
        identities: { select: { provider: true, email: true, lastLoginAt: true }, orderBy: { createdAt: 'asc' } },
      },
    });
    return users.map(({ passwordHash, ...u }) => ({ ...u, localLogin: passwordHash !== null }));
  }

  async listAudit(filter: { action?: string; clientId?: string; actorId?: string; outcome?: string; before?: bigint; limit?: number }) {
    const where: Prisma.AuditEventWhereInput = {
      ...(filter.action ? { action: { startsWith: filter.action } } : {}),
      ...(filter.clientId ? { clientId: filter.clientId } : {}),
      ...(filter.actorId ? { actorId: filter.actorId } : {}),
      ...(filter.outcome ? { outcome: filter.outcome } : {}),
      ...(filter.before ? { id: { lt: filter.before } } : {}),
    };
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const events = await this.prisma.auditEvent.findMany({ where, orderBy: { id: 'desc' }, take: limit + 1 });
    return {
      events: events.slice(0, limit).map((e) => ({ ...e, id: e.id.toString(), at: e.at.toISOString() })),
      nextBefore: events.length > limit ? events[limit - 1]!.id.toString() : null,
    };
  }

  /**
   * Registration hygiene: dynamic clients that never obtained a token within `unusedSeconds`, or
   * were idle longer than `idleSeconds`, are deleted (MCP clients register anew on each connection).
   */
  async purgeUnusedClients(unusedSeconds: number, idleSeconds: number): Promise<string[]> {
    const now = Date.now();
    const stale = await this.prisma.clientRegistration.findMany({
      where: {
        registeredVia: 'dcr',
        revokedAt: null,
        OR: [
          { lastUsedAt: null, createdAt: { lt: new Date(now - unusedSeconds * 1000) } },
          { lastUsedAt: { lt: new Date(now - idleSeconds * 1000) } },
        ],
      },
      select: { clientId: true },
      take: 500,
    });
    // Whatever holds a live grant or token is in use, whatever its bookkeeping says: "last used" is
    // written just after the token response, and a purge in that instant must not revoke the client.
    const inUse = new Set(
      (
        await this.prisma.oidcArtifact.findMany({
          where: {
            model: { in: ['Grant', 'AuthorizationCode', 'AccessToken', 'RefreshToken'] },
            clientId: { in: stale.map((c) => c.clientId) },
            OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now) } }],
          },
          select: { clientId: true },
          distinct: ['clientId'],
        })
      ).map((a) => a.clientId),
    );
    const purged: string[] = [];
    for (const { clientId } of stale.filter((c) => !inUse.has(c.clientId))) {
      try {
        await this.revokeClient(clientId, { type: 'system', id: 'registration-hygiene' });
      } catch (err) {
        if (!(err instanceof NotFound)) throw err;
        await this.prisma.clientRegistration.updateMany({ where: { clientId }, data: { revokedAt: new Date() } });
      }
      purged.push(clientId);
    }
    if (purged.length) this.logger.info({ count: purged.length }, 'unused client registrations purged');
    return purged;
  }
}
