import { artifactKey, type Prisma, type PrismaClient } from '@mcp-gw/db';
import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage on Prisma: one table for every model, keyed by (model, SHA-256 of the id),
 * with the secondary lookups oidc-provider needs (uid, userCode, grantId) as indexed columns.
 */
export function prismaAdapterFactory(prisma: PrismaClient) {
  return class PrismaOidcAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const columns = {
        payload: payload as Prisma.InputJsonValue,
        grantId: payload.grantId ?? null,
        uid: payload.uid ?? null,
        userCode: payload.userCode ?? null,
        clientId: (this.model === 'Client' ? payload.client_id : payload.clientId) ?? null,
        accountId: payload.accountId ?? null,
        expiresAt,
      };
      const key = artifactKey(id);
      await prisma.oidcArtifact.upsert({
        where: { model_key: { model: this.model, key } },
        create: { model: this.model, key, ...columns },
        update: { ...columns, consumedAt: null },
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const row = await prisma.oidcArtifact.findUnique({ where: { model_key: { model: this.model, key: artifactKey(id) } } });
      return toPayload(row);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const row = await prisma.oidcArtifact.findFirst({ where: { model: this.model, uid } });
      return toPayload(row);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const row = await prisma.oidcArtifact.findFirst({ where: { model: this.model, userCode } });
      return toPayload(row);
    }

    async consume(id: string): Promise<void> {
      await prisma.oidcArtifact.updateMany({
        where: { model: this.model, key: artifactKey(id) },
        data: { consumedAt: new Date() },
      });
    }

    async destroy(id: string): Promise<void> {
      await prisma.oidcArtifact.deleteMany({ where: { model: this.model, key: artifactKey(id) } });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await prisma.oidcArtifact.deleteMany({ where: { model: this.model, grantId } });
    }
  };
}

function toPayload(
  row: { payload: Prisma.JsonValue; expiresAt: Date | null; consumedAt: Date | null } | null,
): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return undefined;
  const payload = row.payload as AdapterPayload;
  return row.consumedAt ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) } : payload;
}

/** Deletes expired artefacts and the bookkeeping that can no longer matter. Returns rows removed. */
export async function sweepExpired(prisma: PrismaClient, now = new Date()): Promise<number> {
  const results = await Promise.all([
    prisma.oidcArtifact.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.pendingConfirmation.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.revokedGrant.deleteMany({ where: { expiresAt: { lt: now } } }),
  ]);
  return results.reduce((sum, r) => sum + r.count, 0);
}
