/** GrantStatus on its own, on a real database: when it asks the database and when it may remember. */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, artifactKey, connectDatabase, recordRevokedAccessToken, type Database } from '@mcp-gw/db';
import { GrantStatus } from '../src/auth/grant-status.js';

let db: Database;

beforeAll(async () => {
  // The embedded database is enough here: the class only reads one row.
  db = await connectDatabase('pglite:memory');
  await applyMigrations(db);
});
afterAll(async () => {
  await db?.close();
});

async function grant(expiresInMs = 3600_000): Promise<string> {
  const gid = crypto.randomUUID();
  await db.prisma.oidcArtifact.create({ data: { model: 'Grant', key: artifactKey(gid), payload: {}, grantId: gid, expiresAt: new Date(Date.now() + expiresInMs) } });
  return gid;
}
const deleteRow = (gid: string) => db.prisma.oidcArtifact.deleteMany({ where: { model: 'Grant', key: artifactKey(gid) } });

describe('GrantStatus', () => {
  it('without a live revocation feed asks the database every time', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    const gid = await grant();
    expect(grants.caching).toBe(false);
    expect(await grants.isActive(gid)).toBe(true);
    await deleteRow(gid);
    expect(await grants.isActive(gid)).toBe(false);
  });

  it('with a live feed remembers a standing grant until a notice names it', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    grants.feedUp();
    const gid = await grant();
    expect(await grants.isActive(gid)).toBe(true);
    // Deleted behind its back: still remembered (this is what saves the database round trip)...
    await deleteRow(gid);
    expect(await grants.isActive(gid)).toBe(true);
    // ...until the revocation notice arrives.
    grants.revoked({ type: 'grant', grantIds: [gid] });
    expect(await grants.isActive(gid)).toBe(false);
  });

  it('a revoked access token (RFC 7009) is refused, the other tokens of its grant are not', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    const gid = await grant();
    expect(await grants.isActive(gid, 'token-a')).toBe(true);
    await recordRevokedAccessToken(db.prisma, { jti: 'token-a', grantId: gid, expiresAt: new Date(Date.now() + 60_000) });
    expect(await grants.isActive(gid, 'token-a')).toBe(false);
    expect(await grants.isActive(gid, 'token-b')).toBe(true);
  });

  it('with a live feed, a token notice forgets that token only; a grant notice every token of the grant', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    grants.feedUp();
    const gid = await grant();
    for (const t of ['t1', 't2', 't3']) expect(await grants.isActive(gid, t)).toBe(true);
    await recordRevokedAccessToken(db.prisma, { jti: 't1', grantId: gid, expiresAt: new Date(Date.now() + 60_000) });
    expect(grants.knownActive(gid, 't1')).toBe(true); // remembered until told
    grants.revoked({ type: 'token', grantIds: [], tokenIds: ['t1'] });
    expect(grants.knownActive(gid, 't1')).toBe(false);
    expect(await grants.isActive(gid, 't1')).toBe(false);
    expect(grants.knownActive(gid, 't2')).toBe(true);
    grants.revoked({ type: 'grant', grantIds: [gid] });
    expect(grants.knownActive(gid, 't2')).toBe(false);
    expect(grants.knownActive(gid, 't3')).toBe(false);
    // A token remembered under one grant is not vouched for under another.
    expect(grants.knownActive(await grant(), 't2')).toBe(false);
  });

  it("a client's revocation forgets every grant", async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    grants.feedUp();
    const [a, b] = [await grant(), await grant()];
    expect(await grants.isActive(a)).toBe(true);
    expect(await grants.isActive(b)).toBe(true);
    await deleteRow(a);
    await deleteRow(b);
    grants.revoked({ type: 'client', clientId: 'c', grantIds: [] });
    expect(await grants.isActive(a)).toBe(false);
    expect(await grants.isActive(b)).toBe(false);
  });

  it('the feed going down forgets everything and stops remembering', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    grants.feedUp();
    const gid = await grant();
    expect(await grants.isActive(gid)).toBe(true);
    grants.feedDown();
    expect(grants.caching).toBe(false);
    await deleteRow(gid);
    expect(await grants.isActive(gid)).toBe(false);
  });

  it('a lookup that was in flight when a notice arrived is not remembered', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 30_000 });
    grants.feedUp();
    const gid = await grant();
    const pending = grants.isActive(gid);
    grants.revoked({ type: 'grant', grantIds: [crypto.randomUUID()] });
    expect(await pending).toBe(true);
    await deleteRow(gid);
    expect(await grants.isActive(gid)).toBe(false);
  });

  it('remembers no longer than the time to live, nor past the grant expiry', async () => {
    let now = Date.now();
    const grants = new GrantStatus(db.prisma, { ttlMs: 5_000, now: () => now });
    grants.feedUp();
    const gid = await grant();
    expect(await grants.isActive(gid)).toBe(true);
    await deleteRow(gid);
    now += 5_001;
    expect(await grants.isActive(gid)).toBe(false);

    const short = await grant(2_000);
    now = Date.now();
    expect(await grants.isActive(short)).toBe(true);
    now += 2_001;
    // Past its expiry the database answers (and the row says expired).
    expect(await grants.isActive(short)).toBe(false);
  });

  it('knownActive is true only for a grant remembered as active right now (never a database read)', async () => {
    let now = Date.now();
    const grants = new GrantStatus(db.prisma, { ttlMs: 5_000, now: () => now });
    const gid = await grant();
    // No feed: nothing is remembered, so nothing is known.
    expect(await grants.isActive(gid)).toBe(true);
    expect(grants.knownActive(gid)).toBe(false);
    grants.feedUp();
    expect(grants.knownActive(gid)).toBe(false);
    expect(await grants.isActive(gid)).toBe(true);
    expect(grants.knownActive(gid)).toBe(true);
    // A notice naming it, the time to live passing, the feed going down: each makes it unknown again.
    grants.revoked({ type: 'grant', grantIds: [gid] });
    expect(grants.knownActive(gid)).toBe(false);
    expect(await grants.isActive(gid)).toBe(true);
    now += 5_001;
    expect(grants.knownActive(gid)).toBe(false);
    expect(await grants.isActive(gid)).toBe(true);
    grants.feedDown();
    expect(grants.knownActive(gid)).toBe(false);
  });

  it('a time to live of 0 turns remembering off', async () => {
    const grants = new GrantStatus(db.prisma, { ttlMs: 0 });
    grants.feedUp();
    expect(grants.caching).toBe(false);
    const gid = await grant();
    expect(await grants.isActive(gid)).toBe(true);
    await deleteRow(gid);
    expect(await grants.isActive(gid)).toBe(false);
  });
});
