import { artifactKey, sqlUtcFromEpochMs, type Database } from '@mcp-gw/db';

/** oidc_artifact model of a used ID-JAG (key: artifactKey(iss + jti)); swept with the other expired rows. */
export const USED_ID_JAG = 'UsedIdJag';

/**
 * Records that the assertion `jti` of `issuer` is used; false when it already was. One INSERT … ON
 * CONFLICT DO NOTHING on the shared database, so two replicas racing with the same assertion cannot both win.
 */
export async function claimAssertionOnce(db: Pick<Database, 'query'>, assertion: { issuer: string; jti: string; exp: number }, skewSeconds: number): Promise<boolean> {
  // Kept past `exp` by the accepted skew: until then the verifier would still take the assertion.
  const [row] = await db.query<{ fresh: number }>(
    `INSERT INTO oidc_artifact (model, key, payload, expires_at, created_at) VALUES ($1, $2, '{}'::jsonb, ${sqlUtcFromEpochMs('$3')}, ${sqlUtcFromEpochMs('$4')})
      ON CONFLICT (model, key) DO NOTHING RETURNING 1 AS fresh`,
    [USED_ID_JAG, artifactKey(`${assertion.issuer} ${assertion.jti}`), (assertion.exp + skewSeconds) * 1000, Date.now()],
  );
  return Boolean(row);
}
