import { artifactKey, sqlEpochMs, sqlUtcFromEpochMs, type Database, type Prisma, type PrismaClient } from '@mcp-gw/db';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { hashClientSecret, isHashedClientSecret } from './secrets-at-rest.js';

/**
 * Models whose id is an identifier, not a credential: a Grant id is shown to administrators and used
 * by resource servers to check revocation (it is the `gid` claim of every access token), a Client id
 * is public. Every other model's id is a bearer value (refresh token, authorization code, opaque
 * access token, registration access token, session cookie, interaction id, …).
 */
const ID_IS_PUBLIC = new Set(['Grant', 'Client']);
/** Stands for the interaction id inside a stored Interaction's `returnTo` URL. */
const ID_PLACEHOLDER = '{id}';

/**
 * oidc-provider's storage on Prisma: one table for every model, keyed by (model, SHA-256 of the id),
 * with the secondary lookups oidc-provider needs (uid, userCode, grantId) as indexed columns.
 *
 * Nothing usable is stored in clear: payloads of bearer artefacts are stored without their id
 * (`jti`), which find(id) puts back from the id it was asked for; client secrets are stored as
 * salted hashes (provider.ts compares presented secrets against them).
 *
 * The lookups that do not know the id:
 * - findByUid (Session): oidc-provider calls it in two places only, Provider#getInteraction and
 *   checkSessionBinding (models/token_helpers.js), and both read `accountId` and `grantIdFor()`
 *   and nothing else: the id is not needed, so it is not kept (the instance gets a random `jti`
 *   from the Session constructor, which nothing reads or saves).
 * - findByUserCode (DeviceCode): the device flow is disabled (provider.ts); the payload comes back
 *   without its id. Enabling the device flow would need the id sealed here first.
 */
export interface AdapterHooks {
  /**
   * A Grant was deleted by oidc-provider (refresh token reuse, revocation with revokeGrantPolicy):
   * resource servers are told, as when an administrator revokes one. Awaited, so the notice is out
   * before the response that caused it.
   */
  onGrantDestroyed?: (grantId: string) => Promise<void> | void;
  /** A client deleted its own registration (RFC 7592): its grants are gone with it. */
  onClientDestroyed?: (clientId: string, grantIds: string[]) => Promise<void> | void;
}

/** The columns as read back (timestamps as epoch milliseconds: packages/db sql-time.ts). */
interface ArtifactRow {
  payload: AdapterPayload;
  expires_ms: number | null;
  consumed_ms: number | null;
}
const SELECT_ROW = `SELECT payload, ${sqlEpochMs('expires_at')} AS expires_ms, ${sqlEpochMs('consumed_at')} AS consumed_ms FROM oidc_artifact`;

/**
 * oidc-provider's storage. Every sign-in, token and refresh goes through it several times, so it
 * speaks SQL to the connection directly (a quarter of the cost of a Prisma query on the embedded
 * database); the table is still Prisma's (prisma/schema.prisma, `OidcArtifact`).
 */
export function oidcAdapterFactory(db: Pick<Database, 'prisma' | 'query'>, hooks: AdapterHooks = {}) {
  const { prisma } = db;
  /**
   * oidc-provider deletes a Client only when it deletes its own registration (RFC 7592). RFC 7592
   * §2.3: the server SHOULD then invalidate every grant and token issued to it, so it does, at once.
   */
  async function destroyClient(clientId: string): Promise<void> {
    const { grantIds } = await deleteClientWithGrants(prisma, clientId);
    await hooks.onClientDestroyed?.(clientId, grantIds);
  }

  return class OidcAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const params = [
        this.model,
        artifactKey(id),
        JSON.stringify(toStored(this.model, id, payload)),
        payload.grantId ?? null,
        payload.uid ?? null,
        payload.userCode ?? null,
        (this.model === 'Client' ? payload.client_id : payload.clientId) ?? null,
        payload.accountId ?? null,
        expiresIn ? Date.now() + expiresIn * 1000 : null,
        Date.now(),
      ];
      const insert = `INSERT INTO oidc_artifact (model, key, payload, grant_id, uid, user_code, client_id, account_id, expires_at, created_at)
        VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, ${sqlUtcFromEpochMs('$9')}, ${sqlUtcFromEpochMs('$10')})`;
      if (this.model === 'RefreshToken') {
        // Refresh tokens are written once. The successor of a rotated token has a derived id
        // (secrets-at-rest.ts), so two concurrent refreshes save the same one: the first write
        // wins, and a late write can never revive a token that was consumed since.
        await db.query(`${insert} ON CONFLICT (model, key) DO NOTHING`, params);
        return;
      }
      await db.query(
        `${insert} ON CONFLICT (model, key) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid,
          user_code = EXCLUDED.user_code, client_id = EXCLUDED.client_id, account_id = EXCLUDED.account_id, expires_at = EXCLUDED.expires_at, consumed_at = NULL`,
        params,
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const key = artifactKey(id);
      const [row] = await db.query<ArtifactRow>(`${SELECT_ROW} WHERE model = $1 AND key = $2`, [this.model, key]);
      if (row && this.model === 'Client' && typeof row.payload.client_secret === 'string' && !isHashedClientSecret(row.payload.client_secret)) {
        // A client registered before secrets were hashed: hash it now.
        row.payload = toStored(this.model, id, row.payload);
        await db.query('UPDATE oidc_artifact SET payload = $3::jsonb WHERE model = $1 AND key = $2', [this.model, key, JSON.stringify(row.payload)]);
      }
      return fromStored(this.model, id, row);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const [row] = await db.query<ArtifactRow>(`${SELECT_ROW} WHERE model = $1 AND uid = $2 LIMIT 1`, [this.model, uid]);
      return fromStored(this.model, undefined, row);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const [row] = await db.query<ArtifactRow>(`${SELECT_ROW} WHERE model = $1 AND user_code = $2 LIMIT 1`, [this.model, userCode]);
      return fromStored(this.model, undefined, row);
    }

    async consume(id: string): Promise<void> {
      // The first consumption counts: the refresh grace period runs from it and is not extended.
      await db.query(`UPDATE oidc_artifact SET consumed_at = ${sqlUtcFromEpochMs('$3')} WHERE model = $1 AND key = $2 AND consumed_at IS NULL`, [
        this.model,
        artifactKey(id),
        Date.now(),
      ]);
    }

    async destroy(id: string): Promise<void> {
      if (this.model === 'Client') {
        await destroyClient(id);
        return;
      }
      const deleted = await db.query('DELETE FROM oidc_artifact WHERE model = $1 AND key = $2 RETURNING 1 AS gone', [this.model, artifactKey(id)]);
      if (this.model === 'Grant' && deleted.length > 0) await hooks.onGrantDestroyed?.(id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.query('DELETE FROM oidc_artifact WHERE model = $1 AND grant_id = $2', [this.model, grantId]);
    }
  };
}

/**
 * Deletes a client and every grant, code and token issued to it, in one transaction (`alsoInTx` runs
 * inside it). Returns the revoked grant ids (for the revocation notice) and how many rows went.
 */
export async function deleteClientWithGrants(
  prisma: PrismaClient,
  clientId: string,
  alsoInTx?: (tx: Prisma.TransactionClient) => Promise<unknown>,
): Promise<{ grantIds: string[]; artifacts: number }> {
  return prisma.$transaction(async (tx) => {
    const grants = await tx.oidcArtifact.findMany({ where: { model: 'Grant', clientId }, select: { payload: true } });
    const grantIds = grants.map((g) => (g.payload as AdapterPayload).jti).filter((v): v is string => typeof v === 'string');
    const byClient = await tx.oidcArtifact.deleteMany({ where: { clientId } });
    const byGrant = grantIds.length ? await tx.oidcArtifact.deleteMany({ where: { grantId: { in: grantIds } } }) : { count: 0 };
    // The Client row carries its id in clientId too; by key in case an older row does not.
    const client = await tx.oidcArtifact.deleteMany({ where: { model: 'Client', key: artifactKey(clientId) } });
    await alsoInTx?.(tx);
    return { grantIds, artifacts: byClient.count + byGrant.count + client.count };
  });
}

/** The payload as stored: without the bearer id anywhere in it, and with client secrets hashed. */
export function toStored(model: string, id: string, payload: AdapterPayload): AdapterPayload {
  const stored: AdapterPayload = { ...payload };
  if (!ID_IS_PUBLIC.has(model)) delete stored.jti;
  if (model === 'Interaction') {
    if (typeof stored.returnTo === 'string') stored.returnTo = stored.returnTo.split(id).join(ID_PLACEHOLDER);
    // The interaction keeps a copy of the session id (`session.cookie`) that oidc-provider never reads.
    if (stored.session && typeof stored.session === 'object') {
      const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
      stored.session = session as AdapterPayload['session'];
    }
  }
  if (model === 'Client' && typeof stored.client_secret === 'string') stored.client_secret = hashClientSecret(stored.client_secret);
  return stored;
}

function fromStored(model: string, id: string | undefined, row: ArtifactRow | undefined): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expires_ms !== null && row.expires_ms <= Date.now()) return undefined;
  const payload = { ...row.payload };
  if (id !== undefined && !ID_IS_PUBLIC.has(model)) {
    payload.jti = id;
    if (model === 'Interaction' && typeof payload.returnTo === 'string') payload.returnTo = payload.returnTo.split(ID_PLACEHOLDER).join(id);
  }
  return row.consumed_ms !== null ? { ...payload, consumed: Math.floor(row.consumed_ms / 1000) } : payload;
}

/**
 * Rows written before payloads were stored without their ids and client secrets hashed: rewritten
 * at start so that an older database stops holding credentials too. In-flight interactions (an hour
 * at most) whose return URL embeds their id are deleted: those sign-ins start again.
 */
export async function scrubStoredCredentials(prisma: PrismaClient): Promise<number> {
  const interactions = await prisma.$executeRaw`DELETE FROM oidc_artifact WHERE model = 'Interaction' AND payload ? 'jti'`;
  const stripped = await prisma.$executeRaw`UPDATE oidc_artifact SET payload = payload - 'jti' WHERE model NOT IN ('Grant', 'Client') AND payload ? 'jti'`;
  const clients = await prisma.$queryRaw<{ key: string; payload: AdapterPayload }[]>`
    SELECT key, payload FROM oidc_artifact
    WHERE model = 'Client' AND jsonb_typeof(payload->'client_secret') = 'string' AND left(payload->>'client_secret', 8) <> '$sha256$'`;
  for (const { key, payload } of clients) {
    await prisma.oidcArtifact.updateMany({ where: { model: 'Client', key }, data: { payload: toStored('Client', '', payload) as Prisma.InputJsonValue } });
  }
  return interactions + stripped + clients.length;
}

/**
 * Deletes expired artefacts, the bookkeeping that can no longer matter, and audit events older than
 * `auditRetentionDays` (the audit trail would otherwise grow without bound). Returns rows removed.
 */
export async function sweepExpired(prisma: PrismaClient, now = new Date(), auditRetentionDays = 365): Promise<number> {
  const results = await Promise.all([
    prisma.auditEvent.deleteMany({ where: { at: { lt: new Date(now.getTime() - auditRetentionDays * 86_400_000) } } }),
    prisma.oidcArtifact.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.pendingConfirmation.deleteMany({ where: { expiresAt: { lt: now } } }),
    prisma.revokedGrant.deleteMany({ where: { expiresAt: { lt: now } } }),
  ]);
  return results.reduce((sum, r) => sum + r.count, 0);
}
