// Accounts and the audit trail are read and written in SQL on the sign-in path: what Prisma reads back
// must be what it would have written itself (UTC timestamps), in a process whose zone is not UTC.
import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '@mcp-gw/db';
import { createTestDatabase, type TestDatabase } from '@mcp-gw/testkit';
import { ARGON2_OPTIONS, AccountService } from '../src/accounts.js';

let database: TestDatabase;
let accounts: AccountService;
const processZone = process.env.TZ;
const quiet = { error: () => {} };

beforeAll(async () => {
  process.env.TZ = 'America/New_York';
  expect(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset()).toBe(300);
  database = await createTestDatabase();
  accounts = new AccountService(database.db);
});
afterAll(async () => {
  await database?.dispose();
  if (processZone === undefined) delete process.env.TZ;
  else process.env.TZ = processZone;
});

const withinAMinute = (date: Date | null | undefined) => expect(Math.abs((date?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

describe('AccountService', () => {
  it('reads a user exactly as Prisma does', async () => {
    const created = await accounts.create({ email: 'Dana@Example.com', password: 'dana-password', name: 'Dana' });
    await database.db.prisma.user.update({ where: { id: created.id }, data: { disabledAt: new Date('2026-03-08T07:30:00.123Z') } });
    expect(await accounts.find(created.id)).toEqual(await database.db.prisma.user.findUnique({ where: { id: created.id } }));
    expect(await accounts.find('no-such-user')).toBeNull();
    // A disabled account does not sign in, even with its password.
    expect(await accounts.authenticate('dana@example.com', 'dana-password')).toBeUndefined();
  });

  it('hashes with argon2id (19 MiB, 2 passes, 4 lanes) and records the sign-in time in UTC', async () => {
    const created = await accounts.create({ email: 'erin@example.com', password: 'erin-password', name: 'Erin' });
    expect(created.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=2,t=2\$/);
    const signedIn = await accounts.authenticate(' ERIN@example.com', 'erin-password');
    expect(signedIn?.id).toBe(created.id);
    const stored = await database.db.prisma.user.findUniqueOrThrow({ where: { id: created.id } });
    withinAMinute(stored.lastLoginAt);
    withinAMinute(stored.updatedAt);
    expect(stored.passwordHash).toBe(created.passwordHash); // current parameters: not rehashed
  });

  it('rehashes a password stored under older parameters at the next sign-in, and only then', async () => {
    const created = await accounts.create({ email: 'finn@example.com', password: 'finn-password', name: 'Finn' });
    const old = await argon2.hash('finn-password', { ...ARGON2_OPTIONS, parallelism: 1 });
    await database.db.prisma.user.update({ where: { id: created.id }, data: { passwordHash: old } });

    expect(await accounts.authenticate('finn@example.com', 'wrong-password')).toBeUndefined();
    expect((await database.db.prisma.user.findUniqueOrThrow({ where: { id: created.id } })).passwordHash).toBe(old);

    expect((await accounts.authenticate('finn@example.com', 'finn-password'))?.id).toBe(created.id);
    const rehashed = (await database.db.prisma.user.findUniqueOrThrow({ where: { id: created.id } })).passwordHash;
    expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=19456,p=2,t=2\$/);
    expect(await argon2.verify(rehashed, 'finn-password')).toBe(true);
    expect((await accounts.authenticate('finn@example.com', 'finn-password'))?.id).toBe(created.id);
  });
});

describe('AuditLog', () => {
  it('writes every field, with the time in UTC and details as JSON', async () => {
    const audit = new AuditLog(database.db, quiet);
    await audit.record({ actorId: 'user-1', action: 'test.recorded', targetType: 'grant', targetId: 'g-1', clientId: 'c-1', ip: '127.0.0.1', details: { scopes: ['a', 'b'], note: "it's \"quoted\"" } });
    await audit.record({ action: 'test.bare' });
    const [full] = await database.db.prisma.auditEvent.findMany({ where: { action: 'test.recorded' } });
    expect(full).toMatchObject({
      actorType: 'user',
      actorId: 'user-1',
      outcome: 'success',
      targetType: 'grant',
      targetId: 'g-1',
      clientId: 'c-1',
      ip: '127.0.0.1',
      details: { scopes: ['a', 'b'], note: "it's \"quoted\"" },
    });
    withinAMinute(full?.at);
    const [bare] = await database.db.prisma.auditEvent.findMany({ where: { action: 'test.bare' } });
    expect(bare).toMatchObject({ actorType: 'client', actorId: null, details: null, clientId: null });
  });

  it('never fails the caller: a write that cannot be made is logged', async () => {
    const logged: string[] = [];
    const audit = new AuditLog({ query: () => Promise.reject(new Error('database gone')) }, { error: (_obj, msg) => logged.push(msg) });
    await expect(audit.record({ action: 'test.lost' })).resolves.toBeUndefined();
    expect(logged).toEqual(['audit write failed']);
  });
});
