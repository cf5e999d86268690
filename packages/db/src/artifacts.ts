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
