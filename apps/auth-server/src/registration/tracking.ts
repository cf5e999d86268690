import type Provider from 'oidc-provider';
import { SQL_NOW_UTC, type Database } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import type { AuditLog } from '../audit.js';
import { isMetadataDocumentClientId } from './client-id-metadata.js';

/**
 * Keeps `client_registration` in step with oidc-provider's clients: how and from where each client
 * registered, and when it was last used (so unused dynamic registrations can be purged).
 */
export function trackRegistrations({ provider, db, audit, logger }: { provider: Provider; db: Pick<Database, 'prisma' | 'query'>; audit: AuditLog; logger: Logger }): void {
  const { prisma } = db;
  const fail = (what: string) => (err: unknown) => logger.error({ err }, `${what} bookkeeping failed`);

  provider.on('registration_create.success', (ctx, client) => {
    // SQL rather than Prisma on the two writes every flow makes (registration, first token): see accounts.ts.
    db.query(
      `INSERT INTO client_registration (client_id, client_name, redirect_uris, registered_via, registered_ip, created_at)
       VALUES ($1, $2, $3, 'dcr', $4, ${SQL_NOW_UTC})
       ON CONFLICT (client_id) DO UPDATE SET client_name = excluded.client_name, redirect_uris = excluded.redirect_uris,
         registered_via = excluded.registered_via, registered_ip = excluded.registered_ip`,
      [client.clientId, client.clientName ?? null, [...(client.redirectUris ?? [])], ctx.ip],
    ).catch(fail('registration'));
    void audit.record({
      actorType: 'client',
      actorId: client.clientId,
      clientId: client.clientId,
      action: 'client.registered',
      targetType: 'client',
      targetId: client.clientId,
      ip: ctx.ip,
      details: { client_name: client.clientName, redirect_uris: client.redirectUris, auth_method: client.clientAuthMethod },
    });
  });

  provider.on('registration_update.success', (_ctx, client) => {
    prisma.clientRegistration
      .updateMany({ where: { clientId: client.clientId }, data: { clientName: client.clientName ?? null, redirectUris: [...(client.redirectUris ?? [])] } })
      .catch(fail('registration update'));
  });

  provider.on('registration_delete.success', (ctx, client) => {
    prisma.clientRegistration.deleteMany({ where: { clientId: client.clientId } }).catch(fail('registration delete'));
    void audit.record({ actorType: 'client', actorId: client.clientId, clientId: client.clientId, action: 'client.deleted', ip: ctx.ip });
  });

  provider.on('grant.success', (ctx) => {
    const client = ctx.oidc.client;
    if (!client) return;
    const clientId = client.clientId;
    if (isMetadataDocumentClientId(clientId)) {
      // CIMD clients are not stored by oidc-provider: keep a row so administrators see them.
      const data = { clientName: client.clientName ?? null, redirectUris: [...(client.redirectUris ?? [])], lastUsedAt: new Date(), revokedAt: null };
      prisma.clientRegistration
        .upsert({ where: { clientId }, create: { clientId, registeredVia: 'cimd', registeredIp: ctx.ip, ...data }, update: data })
        .catch(fail('cimd client'));
      return;
    }
    db.query(`UPDATE client_registration SET last_used_at = ${SQL_NOW_UTC} WHERE client_id = $1`, [clientId]).catch(fail('last-used'));
  });

  provider.on('grant.revoked', (ctx, grantId) => {
    void audit.record({
      actorType: 'system',
      action: 'grant.revoked',
      clientId: ctx.oidc.client?.clientId ?? null,
      targetType: 'grant',
      targetId: grantId,
      details: { route: ctx.oidc.route },
    });
  });
}
