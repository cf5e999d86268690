// The oidc-provider adapter speaks SQL directly: its timestamps must mean what Prisma's mean (UTC in
// TIMESTAMP(3) columns), whatever the process's time zone. The file runs in New York time, so these
// tests fail if either side lets the driver apply the local zone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey } from '@mcp-gw/db';
import { createTestDatabase, type TestDatabase } from '@mcp-gw/testkit';
import { oidcAdapterFactory, sweepExpired } from '../src/adapter.js';

let database: TestDatabase;
let Adapter: ReturnType<typeof oidcAdapterFactory>;

const processZone = process.env.TZ;
beforeAll(async () => {
  process.env.TZ = 'America/New_York';
  expect(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset()).toBe(300);
  database = await createTestDatabase();
  Adapter = oidcAdapterFactory(database.db);
});
afterAll(async () => {
  await database?.dispose();
  if (processZone === undefined) delete process.env.TZ;
  else process.env.TZ = processZone;
});

const row = (model: string, id: string) => database.db.prisma.oidcArtifact.findUniqueOrThrow({ where: { model_key: { model, key: artifactKey(id) } } });

describe('oidc-provider adapter', () => {
  it('writes expiry and consumption as Prisma reads them', async () => {
    const before = Date.now();
    await new Adapter('AuthorizationCode').upsert('code-1', { grantId: 'g-1', accountId: 'a-1', clientId: 'c-1' }, 600);
    const written = await row('AuthorizationCode', 'code-1');
    expect(written.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 600_000 - 5);
    expect(written.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 600_000 + 5);
    expect(written).toMatchObject({ grantId: 'g-1', accountId: 'a-1', clientId: 'c-1', consumedAt: null });
    expect(written.payload).not.toHaveProperty('jti');

    await new Adapter('AuthorizationCode').consume('code-1');
    const consumed = await row('AuthorizationCode', 'code-1');
    expect(consumed.consumedAt!.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(consumed.consumedAt!.getTime()).toBeLessThanOrEqual(Date.now() + 5);
    const found = await new Adapter('AuthorizationCode').find('code-1');
    expect(found).toMatchObject({ jti: 'code-1', grantId: 'g-1', consumed: Math.floor(consumed.consumedAt!.getTime() / 1000) });
  });

  it('does not return what Prisma wrote as expired, and returns what is not', async () => {
    const { prisma } = database.db;
    await prisma.oidcArtifact.create({ data: { model: 'Session', key: artifactKey('s-old'), payload: { accountId: 'a' }, uid: 'u-old', expiresAt: new Date(Date.now() - 60_000) } });
    await prisma.oidcArtifact.create({ data: { model: 'Session', key: artifactKey('s-new'), payload: { accountId: 'b' }, uid: 'u-new', expiresAt: new Date(Date.now() + 60_000) } });
    expect(await new Adapter('Session').find('s-old')).toBeUndefined();
    expect(await new Adapter('Session').findByUid('u-old')).toBeUndefined();
    expect(await new Adapter('Session').find('s-new')).toMatchObject({ accountId: 'b', jti: 's-new' });
    expect(await new Adapter('Session').findByUid('u-new')).toMatchObject({ accountId: 'b' });
  });

  it('writes a refresh token once; a second write changes nothing', async () => {
    await new Adapter('RefreshToken').upsert('rt-1', { grantId: 'g-2', iat: 1 }, 600);
    await new Adapter('RefreshToken').consume('rt-1');
    await new Adapter('RefreshToken').upsert('rt-1', { grantId: 'g-2', iat: 2 }, 600);
    const stored = await new Adapter('RefreshToken').find('rt-1');
    expect(stored).toMatchObject({ iat: 1 });
    expect(stored?.consumed).toBeTypeOf('number');
  });

  it('an upsert of another model replaces the payload and clears consumption', async () => {
    await new Adapter('Interaction').upsert('i-1', { uid: 'i-1', returnTo: 'https://as.example/auth/i-1' }, 600);
    await new Adapter('Interaction').consume('i-1');
    await new Adapter('Interaction').upsert('i-1', { uid: 'i-1', returnTo: 'https://as.example/auth/i-1', result: { login: { accountId: 'x' } } }, 600);
    const found = await new Adapter('Interaction').find('i-1');
    expect(found).toMatchObject({ returnTo: 'https://as.example/auth/i-1', result: { login: { accountId: 'x' } } });
    expect(found).not.toHaveProperty('consumed');
    expect(JSON.stringify((await row('Interaction', 'i-1')).payload)).not.toContain('i-1/');
  });

  it('destroy and revokeByGrantId delete what they name only', async () => {
    await new Adapter('AccessToken').upsert('at-1', { grantId: 'g-3' }, 600);
    await new Adapter('AccessToken').upsert('at-2', { grantId: 'g-4' }, 600);
    await new Adapter('AccessToken').revokeByGrantId('g-3');
    expect(await new Adapter('AccessToken').find('at-1')).toBeUndefined();
    expect(await new Adapter('AccessToken').find('at-2')).toBeDefined();
    await new Adapter('AccessToken').destroy('at-2');
    expect(await new Adapter('AccessToken').find('at-2')).toBeUndefined();
  });
});

describe('the sweep', () => {
  it('removes expired artefacts and audit events past their retention, and nothing else', async () => {
    const { prisma } = database.db;
    const now = new Date();
    await prisma.oidcArtifact.create({ data: { model: 'Session', key: artifactKey('sweep-old'), payload: {}, expiresAt: new Date(now.getTime() - 1000) } });
    await prisma.oidcArtifact.create({ data: { model: 'Session', key: artifactKey('sweep-live'), payload: {}, expiresAt: new Date(now.getTime() + 60_000) } });
    const old = await prisma.auditEvent.create({ data: { action: 'test.old', actorType: 'system', at: new Date(now.getTime() - 31 * 86_400_000) } });
    const recent = await prisma.auditEvent.create({ data: { action: 'test.recent', actorType: 'system', at: new Date(now.getTime() - 29 * 86_400_000) } });

    expect(await sweepExpired(prisma, now, 30)).toBeGreaterThanOrEqual(2);
    expect(await prisma.oidcArtifact.count({ where: { key: artifactKey('sweep-old') } })).toBe(0);
    expect(await prisma.oidcArtifact.count({ where: { key: artifactKey('sweep-live') } })).toBe(1);
    expect(await prisma.auditEvent.count({ where: { id: old.id } })).toBe(0);
    expect(await prisma.auditEvent.count({ where: { id: recent.id } })).toBe(1);
  });
});
