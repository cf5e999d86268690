import crypto from 'node:crypto';
import type { PrismaClient } from './generated/prisma/client.js';

/**
 * The stored key of an oidc-provider artefact: a SHA-256 of its id. Codes, tokens and session ids are
 * bearer credentials; storing only their hash means a database dump opens nothing.
 */
export function artifactKey(id: string): string {
  return crypto.createHash('sha256').update(id).digest('base64url');
}

/**
 * Whether the grant an access token was issued under still stands. Revoking a client, a user's grant,
 * or replaying a rotated refresh token deletes the grant, so this is the database's truth for
 * "has this token been revoked" at any replica of any app.
 */
export async function isGrantActive(prisma: PrismaClient, grantId: string, now = new Date()): Promise<boolean> {
  return (await activeGrantExpiry(prisma, grantId, now)) !== undefined;
}

/** When a standing grant expires (null: never); undefined when it does not stand (revoked or expired). */
export async function activeGrantExpiry(prisma: PrismaClient, grantId: string, now = new Date()): Promise<Date | null | undefined> {
  const row = await prisma.oidcArtifact.findUnique({
    where: { model_key: { model: 'Grant', key: artifactKey(grantId) } },
    select: { expiresAt: true },
  });
  if (row === null || (row.expiresAt !== null && row.expiresAt <= now)) return undefined;
  return row.expiresAt;
}

/** oidc_artifact model of a revoked JWT access token (key: artifactKey(jti)); swept at its expiry. */
export const REVOKED_ACCESS_TOKEN = 'RevokedAccessToken';

/** Records that the JWT access token `jti` is revoked until it expires anyway. */
export async function recordRevokedAccessToken(prisma: PrismaClient, token: { jti: string; grantId?: string; clientId?: string; expiresAt: Date }): Promise<void> {
  const key = artifactKey(token.jti);
  const data = { payload: {}, grantId: token.grantId ?? null, clientId: token.clientId ?? null, expiresAt: token.expiresAt };
  await prisma.oidcArtifact.upsert({ where: { model_key: { model: REVOKED_ACCESS_TOKEN, key } }, create: { model: REVOKED_ACCESS_TOKEN, key, ...data }, update: {} });
}

/**
 * Whether an access token stands: its grant exists and has not expired, and the token itself was not
 * revoked (RFC 7009). One round trip. Returns the grant's expiry (null: none), undefined when not.
 */
export async function accessTokenStanding(prisma: PrismaClient, grantId: string, tokenId: string | undefined, now = new Date()): Promise<Date | null | undefined> {
  if (tokenId === undefined) return activeGrantExpiry(prisma, grantId, now);
  const [row] = await prisma.$queryRaw<{ grant_found: boolean; grant_expires_at: Date | null; token_revoked: boolean }[]>`
    SELECT g.key IS NOT NULL AS grant_found, g.expires_at AS grant_expires_at,
      EXISTS (SELECT 1 FROM oidc_artifact r WHERE r.model = ${REVOKED_ACCESS_TOKEN} AND r.key = ${artifactKey(tokenId)}) AS token_revoked
    FROM (SELECT 1) AS one LEFT JOIN oidc_artifact g ON g.model = 'Grant' AND g.key = ${artifactKey(grantId)}`;
  if (!row?.grant_found || row.token_revoked) return undefined;
  const expiresAt = row.grant_expires_at === null ? null : new Date(row.grant_expires_at);
  if (expiresAt !== null && expiresAt <= now) return undefined;
  return expiresAt;
}
