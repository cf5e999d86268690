import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PrismaClient } from './generated/prisma/client.js';
import { createPgliteQuery } from './pglite-query.js';

/** The embedded engine's version: its data directories are only valid for the same one. */
export function embeddedEngineVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  return (JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export type DatabaseKind = 'pglite' | 'postgres';

export interface SqlConnection {
  /** Runs a multi-statement SQL script outside Prisma (migrations). */
  execScript(sql: string): Promise<void>;
  /** Runs one parameterised query outside Prisma and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Database extends SqlConnection {
  readonly kind: DatabaseKind;
  readonly prisma: PrismaClient;
  /** Runs `fn` on one dedicated connection (session-level locks, multi-statement transactions). */
  withConnection<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T>;
  /** The embedded database's whole data directory as a tarball (PGlite only), for `initialData`. */
  dumpEmbedded?(): Promise<Blob>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** PostgreSQL: connections in the pool. */
  poolSize?: number;
  /**
   * Embedded, in memory: start from this data directory (a `dumpEmbedded()` tarball) instead of an
   * empty cluster. Skips initdb, about half of PGlite's start-up; used by tests and benchmarks.
   */
  initialData?: Blob;
}

/**
 * Parses DATABASE_URL. `postgres://` / `postgresql://` reach a PostgreSQL server; `pglite:<dir>` (or a
 * bare directory path) is the embedded database kept in that folder; `pglite:memory` lives in memory.
 */
export function parseDatabaseUrl(url: string): { kind: DatabaseKind; target: string } {
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', target: url };
  if (url.startsWith('pglite:')) return { kind: 'pglite', target: url.slice('pglite:'.length) || 'memory' };
  throw new Error(`DATABASE_URL must start with postgres://, postgresql:// or pglite: (got "${url.split(':')[0]}:…")`);
}

/** How long close() waits for connections in use before destroying them (PostgreSQL). */
const CLOSE_GRACE_MS = 2_000;

export async function connectDatabase(url: string, options: ConnectOptions = {}): Promise<Database> {
  const { kind, target } = parseDatabaseUrl(url);
  if (kind === 'postgres') {
    const pg = await import('pg');
    const { PrismaPg } = await import('@prisma/adapter-pg');
    const pool = new pg.default.Pool({
      connectionString: target,
      max: options.poolSize ?? 10,
      // Never wait forever: a lost server or an exhausted pool fails the request instead of hanging it.
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 30_000,
      query_timeout: 35_000,
    });
    // A client losing its server (restart, failover, terminated backend) must not crash the process:
    // idle clients report through the pool, checked-out ones through their own 'error' event; the
    // query in flight rejects either way and the broken client is discarded.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    // Connections handed out and not yet given back: close() ends the ones nobody will return.
    const checkedOut = new Set<import('pg').PoolClient>();
    pool.on('acquire', (client) => checkedOut.add(client));
    pool.on('release', (_err, client) => checkedOut.delete(client));
    const prisma = new PrismaClient({ adapter: releaseBrokenTransactions(new PrismaPg(pool)) });
    return {
      kind,
      prisma,
      async execScript(sql) {
        await pool.query(sql);
      },
      async query(sql, params = []) {
        return (await pool.query(sql, params)).rows;
      },
      async withConnection(fn) {
        const client = await pool.connect();
        try {
          return await fn({
            async execScript(sql) {
              await client.query(sql);
            },
            async query(sql, params = []) {
              return (await client.query(sql, params)).rows;
            },
          });
        } finally {
          client.release();
        }
      },
      async close() {
        await prisma.$disconnect();
        // pool.end() waits for every connection to come back. One may never: a write started just as
        // the engine disconnected leaves its transaction open (Prisma never commits it), and a
        // shutdown would then hang. Give in-flight work a moment, then destroy what is still out.
        const ended = pool.end().catch(() => {});
        const timer = new Promise<'late'>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS, 'late').unref());
        if ((await Promise.race([ended, timer])) === 'late') {
          for (const client of checkedOut) client.release(new Error('database closed'));
          await ended;
        }
      },
    };
  }
  const { PGlite, protocol } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  let dataDir: string | undefined;
  if (target !== 'memory') {
    dataDir = path.resolve(target);
    fs.mkdirSync(dataDir, { recursive: true });
  }
  const pglite = dataDir ? new PGlite(dataDir) : new PGlite(options.initialData ? { loadDataDir: options.initialData } : {});
  await pglite.waitReady;
  // PGlite starts its single backend at client_min_messages=debug3: every statement then formats and
  // sends "parse"/"bind" DEBUG notices nobody reads, about half of a short statement's time.
  await pglite.exec('SET client_min_messages = warning; SET log_min_messages = warning');
  const statements = createPgliteQuery(pglite, protocol);
  // Prisma's statements take the same one-round-trip, prepared path as ours (pglite-query.ts).
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(statements.forPrisma() as never) as never });
  const conn: SqlConnection = {
    async execScript(sql) {
      await pglite.exec(sql);
    },
    query: statements.query,
  };
  return {
    kind,
    prisma,
    ...conn,
    // PGlite is a single connection already.
    withConnection: (fn) => fn(conn),
    dumpEmbedded: () => pglite.dumpDataDir('gzip') as Promise<Blob>,
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}

interface TxLike {
  client: { release(err?: Error | boolean): void };
  executeRaw(query: { sql: string }): Promise<number>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/**
 * Prisma's engine sends ROLLBACK (or COMMIT) and only then releases the transaction's connection; when
 * the connection died mid-transaction that query throws and the connection is never given back, so a
 * few dropped connections exhaust the pool for good. Release (and destroy) such a connection at once.
 */
function releaseBrokenTransactions<F extends { connect(): Promise<unknown> }>(factory: F): F {
  const connect = factory.connect.bind(factory);
  factory.connect = (async () => {
    const adapter = (await connect()) as { startTransaction(isolation?: unknown): Promise<TxLike> };
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolation?: unknown) => {
      const tx = await start(isolation);
      let released = false;
      const once = (fn: () => Promise<void>) => async () => {
        if (released) return;
        released = true;
        await fn();
      };
      const commit = tx.commit.bind(tx);
      const rollback = tx.rollback.bind(tx);
      const executeRaw = tx.executeRaw.bind(tx);
      tx.commit = once(commit);
      tx.rollback = once(rollback);
      tx.executeRaw = async (query) => {
        try {
          return await executeRaw(query);
        } catch (err) {
          if (!released && /^(COMMIT|ROLLBACK)$/i.test(query.sql.trim())) {
            released = true;
            tx.client.release(err as Error);
          }
          throw err;
        }
      };
      return tx;
    };
    return adapter;
  }) as F['connect'];
  return factory;
}
