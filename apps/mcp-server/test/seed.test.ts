import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, connectDatabase, type Database } from '@mcp-gw/db';
import { addUserToDemoProjects, purgeExpired, seedDemoTickets } from '../src/index.js';
import { createPostgresDatabase, openEmbeddedDatabase } from '@mcp-gw/testkit';

let db: Database;
let drop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const pg = process.env.TEST_DATABASE_URL ? await createPostgresDatabase(process.env.TEST_DATABASE_URL, 'mcp_test') : undefined;
  drop = pg?.drop;
  db = pg ? await connectDatabase(pg.url) : await openEmbeddedDatabase();
  if (pg) await applyMigrations(db);
});
afterAll(async () => {
  await db?.close();
  await drop?.();
});

const user = (email: string) => db.prisma.user.create({ data: { email, name: email.split('@')[0]!, passwordHash: 'x' } });

describe('demo data', () => {
  it('creates three projects, about fifteen tickets with comments and memberships, once', async () => {
    const a = await user('owner@example.com');
    const b = await user('member@example.com');
    const first = await seedDemoTickets(db, { userIds: [a.id, b.id] });
    expect(first.created).toBe(true);
    expect(await db.prisma.project.count()).toBe(3);
    const tickets = await db.prisma.ticket.count();
    expect(tickets).toBeGreaterThanOrEqual(12);
    expect(await db.prisma.ticketComment.count()).toBeGreaterThan(10);
    expect(await db.prisma.projectMember.count({ where: { userId: b.id } })).toBe(3);
    expect(new Set((await db.prisma.ticket.findMany()).map((t) => t.status))).toEqual(new Set(['open', 'pending', 'closed']));

    const again = await seedDemoTickets(db, { userIds: [a.id] });
    expect(again.created).toBe(false);
    expect(await db.prisma.ticket.count()).toBe(tickets);
  });

  it('adds a later user to the demo projects, idempotently', async () => {
    const c = await user('late@example.com');
    expect((await addUserToDemoProjects(db, c.id)).sort()).toEqual(['MOB', 'OPS', 'WEB']);
    await addUserToDemoProjects(db, c.id);
    expect(await db.prisma.projectMember.count({ where: { userId: c.id } })).toBe(3);
  });
});

describe('maintenance', () => {
  it('purges only expired idempotency records and confirmations', async () => {
    const past = new Date(Date.now() - 1000);
    const future = new Date(Date.now() + 3600_000);
    await db.prisma.idempotencyRecord.createMany({
      data: [
        { scope: 'c|u|t|old', argsHash: 'h', result: {}, expiresAt: past },
        { scope: 'c|u|t|new', argsHash: 'h', result: {}, expiresAt: future },
      ],
    });
    await db.prisma.pendingConfirmation.createMany({
      data: [
        { token: 'old', sub: 'u', clientId: 'c', action: 'close_ticket', args: {}, expiresAt: past },
        { token: 'new', sub: 'u', clientId: 'c', action: 'close_ticket', args: {}, expiresAt: future },
      ],
    });
    expect(await purgeExpired(db.prisma)).toEqual({ idempotency: 1, confirmations: 1 });
    expect((await db.prisma.idempotencyRecord.findMany()).map((r) => r.scope)).toEqual(['c|u|t|new']);
    expect((await db.prisma.pendingConfirmation.findMany()).map((r) => r.token)).toEqual(['new']);
  });
});
