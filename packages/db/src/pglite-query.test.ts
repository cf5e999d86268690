import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from './connect.js';
import { toTextParam } from './pglite-query.js';
import { applyMigrations } from './migrate.js';
import { sqlEpochMs } from './sql-time.js';

// The embedded database's one-round-trip query path must return what pglite.query() returns and
// fail the way it fails, whatever its prepared-statement cache holds.
describe('embedded database queries', () => {
  let db: Database;
  let reference: PGlite;
  const TABLE = `CREATE TABLE sample (
      id text PRIMARY KEY, n int, big bigint, ratio float8, flag boolean, at timestamp(3), at_tz timestamptz,
      doc jsonb, bytes bytea, tags text[], note text)`;

  beforeAll(async () => {
    db = await connectDatabase('pglite:memory');
    reference = new PGlite();
    await reference.waitReady;
    for (const target of [db.execScript.bind(db), (sql: string) => reference.exec(sql).then(() => {})]) {
      await target(TABLE);
      await target(`INSERT INTO sample VALUES
        ('full', 42, 9007199254740993, 0.25, true, '2026-11-28 10:11:12.345', '2026-11-28 10:11:12.345+02', '{"a":[1,{"b":null}]}',
         '\\x00ff10', '{x,"y z"}', 'héllo ✓'),
        ('empty', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    }
  });
  afterAll(async () => {
    await db?.close();
    await reference?.close();
  });

  it('returns rows exactly as pglite.query() does, every column type we use, nulls included', async () => {
    const sql = 'SELECT *, (extract(epoch FROM at) * 1000)::float8 AS at_ms, count(*) OVER () AS total FROM sample ORDER BY id';
    const ours = await db.query(sql);
    const theirs = (await reference.query(sql)).rows;
    expect(ours).toEqual(theirs);
    expect(ours[1]).toMatchObject({ id: 'full', n: 42, flag: true, doc: { a: [1, { b: null }] }, tags: ['x', 'y z'], note: 'héllo ✓' });
    expect(ours[1]!.at).toBeInstanceOf(Date);
  });

  it('sends parameters as text with their types inferred, as node-postgres does', async () => {
    const rows = await db.query<{ id: string }>(
      'SELECT id FROM sample WHERE n = $1 AND flag = $2 AND ratio = $3 AND big = $4 AND doc = $5::jsonb AND at_tz = $6 AND bytes = $7',
      [42, true, 0.25, 9007199254740993n, JSON.stringify({ a: [1, { b: null }] }), new Date('2026-11-28T08:11:12.345Z'), Uint8Array.from([0, 255, 16])],
    );
    expect(rows).toEqual([{ id: 'full' }]);
    expect(await db.query('SELECT id FROM sample WHERE n IS NOT DISTINCT FROM $1', [null])).toEqual([{ id: 'empty' }]);
    expect(await db.query('SELECT id FROM sample WHERE n IS NOT DISTINCT FROM $1', [undefined])).toEqual([{ id: 'empty' }]);
  });

  it('converts arrays, objects and binary values as node-postgres does on the PostgreSQL path', async () => {
    const tags = ['plain', 'with "quotes"', 'back\\slash', 'comma, brace}', null as unknown as string];
    await db.query('INSERT INTO sample (id, tags, doc, bytes) VALUES ($1, $2, $3, $4)', ['converted', tags, { nested: { list: [1, 'two'] } }, Buffer.from('\x00binary')]);
    const [row] = await db.query<{ tags: string[]; last_is_null: boolean; doc: unknown; bytes: Uint8Array }>(
      'SELECT tags, tags[5] IS NULL AS last_is_null, doc, bytes FROM sample WHERE id = $1',
      ['converted'],
    );
    // (PGlite's array parser reads a NULL element back as the string 'NULL': compare the others.)
    expect(row!.tags.slice(0, 4)).toEqual(tags.slice(0, 4));
    expect(row!.last_is_null).toBe(true);
    expect(row!.doc).toEqual({ nested: { list: [1, 'two'] } });
    expect(Buffer.from(row!.bytes).toString()).toBe('\x00binary');
    expect(toTextParam([[1, 2], [3, null]])).toBe('{{"1","2"},{"3",NULL}}');
    await db.query('DELETE FROM sample WHERE id = $1', ['converted']);
  });

  it('writes and reports RETURNING rows; a failing statement throws PostgreSQL’s error and changes nothing', async () => {
    const insert = 'INSERT INTO sample (id, n) VALUES ($1, $2) RETURNING id, n';
    expect(await db.query(insert, ['w1', 1])).toEqual([{ id: 'w1', n: 1 }]);
    // The same statement again (now prepared) breaking the primary key.
    await expect(db.query(insert, ['w1', 2])).rejects.toMatchObject({ code: '23505', constraint: 'sample_pkey' });
    await expect(db.query('SELEC nonsense')).rejects.toMatchObject({ code: '42601' });
    await expect(db.query('SELECT n FROM sample WHERE id = $1', [])).rejects.toMatchObject({ code: '08P01' });
    // The connection is usable afterwards, and the failed insert left the first row as it was.
    expect(await db.query('SELECT n FROM sample WHERE id = $1', ['w1'])).toEqual([{ n: 1 }]);
    expect(await db.prisma.$queryRawUnsafe('SELECT count(*)::int AS c FROM sample')).toEqual([{ c: 3 }]);
  });

  it('re-prepares a statement whose result type a schema change altered', async () => {
    const sql = 'SELECT * FROM sample WHERE id = $1';
    const before = await db.query(sql, ['w1']);
    await db.query(sql, ['w1']); // prepared by now
    await db.execScript('ALTER TABLE sample ADD COLUMN extra text DEFAULT $$added$$');
    const [after] = await db.query<Record<string, unknown>>(sql, ['w1']);
    expect(after).toEqual({ ...before[0], extra: 'added' });
    await db.execScript('DEALLOCATE ALL');
    expect(await db.query(sql, ['w1'])).toEqual([after]);
  });

  it('never interleaves with Prisma: concurrent statements and a Prisma transaction', async () => {
    await db.execScript('CREATE TABLE counter (id int PRIMARY KEY, v int NOT NULL)');
    await db.query('INSERT INTO counter VALUES (1, 0)');
    const transaction = db.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<{ v: number }[]>('SELECT v FROM counter WHERE id = 1');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await tx.$executeRawUnsafe('UPDATE counter SET v = $1 WHERE id = 1', row!.v + 100);
    });
    const increments = Array.from({ length: 50 }, () => db.query('UPDATE counter SET v = v + 1 WHERE id = 1'));
    await Promise.all([transaction, ...increments]);
    expect(await db.query('SELECT v FROM counter WHERE id = 1')).toEqual([{ v: 150 }]);
  });

  it('answers a closed database with an error, not a crash', async () => {
    const other = await connectDatabase('pglite:memory');
    await other.close();
    await expect(other.query('SELECT 1')).rejects.toThrow();
  });
});

// Prisma's PGlite adapter runs on the same path (connect.ts): what Prisma writes it reads back the same,
// its errors keep their codes, and its transactions commit, roll back and exclude other statements.
describe('Prisma on the embedded database', () => {
  let db: Database;

  beforeAll(async () => {
    db = await connectDatabase('pglite:memory');
    await applyMigrations(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('reads back what it wrote: dates, JSON, string arrays, booleans, big integers, nulls', async () => {
    const expiresAt = new Date('2031-02-03T04:05:06.789Z');
    const payload = { nested: { list: [1, 'two', null], quote: 'say "hi" \\ bye' }, empty: {} };
    await db.prisma.oidcArtifact.create({ data: { model: 'Session', key: 'k1', payload, expiresAt, accountId: null } });
    const artifact = await db.prisma.oidcArtifact.findUnique({ where: { model_key: { model: 'Session', key: 'k1' } } });
    expect(artifact).toMatchObject({ payload, expiresAt, consumedAt: null, accountId: null });
    // Stored as the UTC wall time, whatever the process's time zone (SQL agrees with Prisma).
    const [row] = await db.query<{ ms: number }>(`SELECT ${sqlEpochMs('expires_at')} AS ms FROM oidc_artifact WHERE key = 'k1'`);
    expect(row!.ms).toBe(expiresAt.getTime());

    const redirectUris = ['https://a.example/cb', 'http://127.0.0.1/cb?x="y",z', ''];
    await db.prisma.clientRegistration.create({ data: { clientId: 'c1', redirectUris, registeredVia: 'dcr' } });
    expect((await db.prisma.clientRegistration.findUnique({ where: { clientId: 'c1' } }))?.redirectUris).toEqual(redirectUris);

    const user = await db.prisma.user.create({ data: { email: 'p@example.com', name: 'P', passwordHash: 'x', isAdmin: true } });
    const event = await db.prisma.auditEvent.create({ data: { actorType: 'user', actorId: user.id, action: 'test', outcome: 'success', details: { n: 1 } } });
    expect(typeof event.id).toBe('bigint');
    expect(await db.prisma.auditEvent.findUnique({ where: { id: event.id } })).toMatchObject({ action: 'test', details: { n: 1 } });
    expect(await db.prisma.user.findUnique({ where: { email: 'p@example.com' } })).toMatchObject({ isAdmin: true, disabledAt: null });
  });

  it('keeps PostgreSQL error codes in Prisma errors and counts affected rows', async () => {
    // (The PGlite adapter's errors carry PostgreSQL's code in `cause`, as with pglite.query().)
    await expect(db.prisma.user.create({ data: { email: 'p@example.com', name: 'again', passwordHash: 'x' } })).rejects.toMatchObject({
      cause: { kind: 'postgres', code: '23505' },
    });
    expect(await db.prisma.$executeRawUnsafe(`UPDATE app_user SET name = $1 WHERE email = $2`, 'Renamed', 'p@example.com')).toBe(1);
    expect(await db.prisma.$executeRawUnsafe(`UPDATE app_user SET name = $1 WHERE email = $2`, 'Nobody', 'none@example.com')).toBe(0);
    expect(await db.prisma.$queryRawUnsafe(`SELECT name FROM app_user WHERE email = $1`, 'p@example.com')).toEqual([{ name: 'Renamed' }]);
  });

  it('commits a transaction, rolls back a failed one, and runs other statements only outside it', async () => {
    await db.prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email: 'tx1@example.com', name: 'T1', passwordHash: 'x' } });
    });
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.user.create({ data: { email: 'tx2@example.com', name: 'T2', passwordHash: 'x' } });
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    expect(await db.prisma.user.count({ where: { email: { in: ['tx1@example.com', 'tx2@example.com'] } } })).toBe(1);

    // A statement sent while a transaction is open waits for it instead of joining it.
    let inside!: () => void;
    const opened = new Promise<void>((resolve) => (inside = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email: 'tx3@example.com', name: 'T3', passwordHash: 'x' } });
      inside();
      await held;
      throw new Error('roll back');
    });
    await opened;
    const outside = db.query<{ n: number }>(`SELECT count(*)::int AS n FROM app_user WHERE email = 'tx3@example.com'`);
    release();
    await expect(transaction).rejects.toThrow('roll back');
    expect(await outside).toEqual([{ n: 0 }]);
  });
});
