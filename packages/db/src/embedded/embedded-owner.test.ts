// One owner per embedded folder, every other process through its socket: real PGlite, real sockets,
// node-postgres as the other process's client.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../connect.js';
import { applyMigrations } from '../migrate.js';
import { EmbeddedDatabaseBusy, ownerPaths, readLiveOwner } from './owner-lock.js';

const opened: Database[] = [];
const folders: string[] = [];
afterEach(async () => {
  for (const db of opened.splice(0).reverse()) await db.close().catch(() => {});
  for (const dir of folders.splice(0)) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

function folder(): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-owner-')), 'pglite');
  folders.push(dir);
  return dir;
}

async function open(dir: string, options: Parameters<typeof connectDatabase>[1] = {}): Promise<Database> {
  const db = await connectDatabase(`pglite:${dir}`, options);
  opened.push(db);
  return db;
}

function client(dir: string): pg.Client {
  return new pg.Client({ host: ownerPaths(dir).socketDir, port: 5432, user: 'postgres', database: 'postgres' });
}

describe('the embedded folder has one owner', () => {
  it('a second owner is refused with the owner named; a second process goes through the owner', async () => {
    const dir = folder();
    const owner = await open(dir, { embedded: 'own', role: 'npm start' });
    await owner.execScript('CREATE TABLE notes (id int PRIMARY KEY, body text)');
    const refusal = await connectDatabase(`pglite:${dir}`, { embedded: 'own' }).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(EmbeddedDatabaseBusy);
    expect((refusal as Error).message).toContain(`in use by process ${process.pid} (npm start`);

    const other = await open(dir);
    expect(other.kind).toBe('postgres');
    expect(other.owner?.pid).toBe(process.pid);
    await other.query('INSERT INTO notes VALUES ($1, $2)', [1, 'through the socket']);
    expect(await owner.query('SELECT body FROM notes')).toEqual([{ body: 'through the socket' }]);
    // Migrations through the owner take the PostgreSQL path (advisory lock) and find nothing to do.
    expect((await applyMigrations(owner)).applied.length).toBeGreaterThan(0);
    expect((await applyMigrations(other)).applied).toEqual([]);
  });

  it('the socket and its directory are private to the owner', async () => {
    const dir = folder();
    await open(dir, { embedded: 'own' });
    const paths = ownerPaths(dir);
    expect(fs.statSync(paths.socketDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(paths.socketPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(paths.lockFile).mode & 0o777).toBe(0o600);
  });

  it('a lock left by a killed process is taken over, its stale socket replaced', async () => {
    const dir = folder();
    // The lock of a real process that is gone (it exited without releasing it).
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    const paths = ownerPaths(dir);
    fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(paths.lockFile, JSON.stringify({ pid: child.pid, hostname: os.hostname(), role: 'killed', socketDir: paths.socketDir, startedAt: new Date().toISOString() }));
    fs.writeFileSync(paths.socketPath, ''); // a socket file nobody listens on any more
    expect(readLiveOwner(dir)).toBeUndefined();
    const db = await open(dir, { embedded: 'own' });
    expect(readLiveOwner(dir)?.pid).toBe(process.pid);
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('close() releases the folder for the next owner', async () => {
    const dir = folder();
    const first = await connectDatabase(`pglite:${dir}`, { embedded: 'own' });
    await first.execScript('CREATE TABLE kept (v text); INSERT INTO kept VALUES (\'yes\')');
    await first.close();
    expect(fs.existsSync(ownerPaths(dir).lockFile)).toBe(false);
    const second = await open(dir, { embedded: 'own' });
    expect(await second.query('SELECT v FROM kept')).toEqual([{ v: 'yes' }]);
  });
});

describe('the owner and the other processes share the one backend safely', () => {
  it("a client's open transaction holds the owner's statements until it ends, and is invisible meanwhile", async () => {
    const dir = folder();
    const owner = await open(dir, { embedded: 'own' });
    await owner.execScript('CREATE TABLE counter (n int)');
    const c = client(dir);
    await c.connect();
    await c.query('BEGIN');
    await c.query('INSERT INTO counter VALUES (1)');
    let ownerSaw: unknown;
    const ownerRead = owner.query<{ n: string }>('SELECT count(*)::text AS n FROM counter').then((rows) => (ownerSaw = rows[0]!.n));
    await new Promise((r) => setTimeout(r, 150));
    expect(ownerSaw).toBeUndefined(); // waiting, not reading inside the client's transaction
    await c.query('COMMIT');
    await ownerRead;
    expect(ownerSaw).toBe('1');
    await c.end();
  });

  it('a client that disconnects inside a transaction has it rolled back, and the owner goes on', async () => {
    const dir = folder();
    const owner = await open(dir, { embedded: 'own' });
    await owner.execScript('CREATE TABLE t (v int)');
    const c = client(dir);
    await c.connect();
    await c.query('BEGIN');
    await c.query('INSERT INTO t VALUES (7)');
    c.on('error', () => {}); // the client reports its own connection's end
    c.connection.stream.destroy();
    expect(await owner.query('SELECT count(*)::int AS n FROM t')).toEqual([{ n: 0 }]);
    expect(await owner.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('a client idle inside a transaction is cut off with an error instead of stalling the owner', async () => {
    const dir = folder();
    const db = await open(dir, { embedded: 'own', idleInTransactionMs: 1_000 });
    const c = client(dir);
    await c.connect();
    const errors: Error[] = [];
    c.on('error', (err) => errors.push(err));
    await c.query('BEGIN');
    const started = Date.now();
    // The owner's statement waits for the idle client, then runs once the server cut it off.
    expect(await db.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(900);
    await new Promise((r) => setTimeout(r, 100));
    expect(errors.map((e) => e.message).join(' ')).toMatch(/idle in transaction|Connection terminated/);
  });

  it('clients interleave with each other at statement boundaries, messages split or batched', async () => {
    const dir = folder();
    const owner = await open(dir, { embedded: 'own' });
    await owner.execScript('CREATE TABLE items (id serial PRIMARY KEY, who text)');
    const pool = new pg.Pool({ host: ownerPaths(dir).socketDir, port: 5432, user: 'postgres', database: 'postgres', max: 4 });
    await Promise.all(Array.from({ length: 40 }, (_, i) => pool.query('INSERT INTO items (who) VALUES ($1)', [`p${i}`])));
    await Promise.all(Array.from({ length: 10 }, (_, i) => owner.query('INSERT INTO items (who) VALUES ($1)', [`o${i}`])));
    expect(await owner.query('SELECT count(*)::int AS n FROM items')).toEqual([{ n: 50 }]);
    await pool.end();

    // A query sent one byte at a time still arrives whole.
    const socket = net.connect(ownerPaths(dir).socketPath);
    await new Promise((r) => socket.once('connect', r));
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    const startup = startupPacket();
    const query = Buffer.concat([Buffer.from('Q'), int32(4 + 'SELECT 41 + 1\0'.length), Buffer.from('SELECT 41 + 1\0')]);
    for (const byte of Buffer.concat([startup, query])) {
      socket.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => Buffer.concat(received).includes(Buffer.from('42')));
    socket.destroy();
  });

  it("hears other processes' notifications and writes before they read their answer", async () => {
    const dir = folder();
    const owner = await open(dir, { embedded: 'own' });
    await owner.execScript('CREATE TABLE w (v int)');
    const heard: string[] = [];
    await owner.external!.listen('mcp_gw_test', async (payload) => {
      await new Promise((r) => setTimeout(r, 50)); // the other process must wait for this
      heard.push(`notice:${payload}`);
    });
    owner.external!.onWrite(() => void heard.push('write'));
    const other = await open(dir);
    await other.query('SELECT 1');
    expect(heard).toEqual([]);
    await other.notify('mcp_gw_test', 'revoked c1');
    expect(heard).toEqual(['notice:revoked c1']);
    await other.query('INSERT INTO w VALUES (1)');
    expect(heard).toEqual(['notice:revoked c1', 'write']);
    // A write inside a transaction is heard once it commits.
    await other.withConnection(async (conn) => {
      await conn.query('BEGIN');
      await conn.query('INSERT INTO w VALUES (2)');
      expect(heard).toHaveLength(2);
      await conn.query('COMMIT');
    });
    expect(heard).toEqual(['notice:revoked c1', 'write', 'write']);
  });
});

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function startupPacket(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  return Buffer.concat([int32(8 + params.length), int32(196608), params]);
}

async function waitFor(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
