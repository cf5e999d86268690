import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PrismaClient } from './generated/prisma/client.js';
import { createPgliteQuery } from './pglite-query.js';
import { acquireOwnerLock, EmbeddedDatabaseBusy, readLiveOwner, SOCKET_PORT, type OwnerInfo } from './embedded/owner-lock.js';
import { startWireServer, type Notification } from './embedded/wire-server.js';

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
  /** Set when this process reaches an embedded folder through the process that owns it. */
  readonly owner?: OwnerInfo;
  /** The embedded folder's owner: hears what other processes commit through it. */
  readonly external?: ExternalChanges;
  /** NOTIFY `channel`; through an embedded owner, the owner has handled it when this resolves. */
  notify(channel: string, payload: string): Promise<void>;
  /** Runs `fn` on one dedicated connection (session-level locks, multi-statement transactions). */
  withConnection<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T>;
  /** The embedded database's whole data directory as a tarball (PGlite only), for `initialData`. */
  dumpEmbedded?(): Promise<Blob>;
  close(): Promise<void>;
}

/** What other processes commit through the embedded owner, heard before they read their answer. */
export interface ExternalChanges {
  /** `handler` runs for every notification another process sends on `channel`. */
  listen(channel: string, handler: (payload: string) => void | Promise<void>): Promise<void>;
  /** `handler` runs after every write another process commits. */
  onWrite(handler: () => void | Promise<void>): void;
}

export interface ConnectOptions {
  /**
   * An embedded folder: 'auto' (the default) goes through the process that owns it when one runs and
   * opens it otherwise; 'own' opens it or fails naming the live owner (the running system).
   */
  embedded?: 'auto' | 'own';
  /** What this process is, written in the embedded folder's lock for a second opener to read. */
  role?: string;
  /** The embedded owner: how long another process may sit in an open transaction (it holds the database). */
  idleInTransactionMs?: number;
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
  if (kind === 'postgres') return connectPostgres({ connectionString: target }, options);
  if (target === 'memory') return openEmbedded(undefined, options);
  const dataDir = path.resolve(target);
  if (options.embedded !== 'own') {
    const owner = readLiveOwner(dataDir);
    if (owner) return connectThroughOwner(dataDir, owner, options);
  }
  try {
    return await openEmbedded(dataDir, options);
  } catch (err) {
    // Another process became the owner between our look and our lock: go through it.
    if (err instanceof EmbeddedDatabaseBusy && options.embedded !== 'own') return connectThroughOwner(dataDir, err.owner, options);
    throw err;
  }
}

/** How long a client waits for a live owner's socket (the owner may still be starting). */
const OWNER_SOCKET_WAIT_MS = 30_000;

/** The embedded folder through the process that owns it: PostgreSQL's wire protocol on its socket. */
async function connectThroughOwner(dataDir: string, owner: OwnerInfo, options: ConnectOptions): Promise<Database> {
  const server = { host: owner.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
  const deadline = Date.now() + OWNER_SOCKET_WAIT_MS;
  for (;;) {
    const probe = new (await import('pg')).default.Client(server);
    try {
      await probe.connect();
      await probe.end();
      break;
    } catch (err) {
      await probe.end().catch(() => {});
      const code = (err as NodeJS.ErrnoException).code;
      const starting = (code === 'ENOENT' || code === 'ECONNREFUSED') && readLiveOwner(dataDir) && Date.now() < deadline;
      if (!starting) throw new Error(`the embedded database in ${dataDir} is owned by process ${owner.pid} (${owner.role}), whose socket ${owner.socketDir} does not answer: ${(err as Error).message}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return connectPostgres(server, { ...options, poolSize: Math.min(options.poolSize ?? 2, 4) }, owner);
}

async function connectPostgres(server: import('pg').PoolConfig, options: ConnectOptions, owner?: OwnerInfo): Promise<Database> {
  const pg = await import('pg');
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const pool = new pg.default.Pool({
    ...server,
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
    kind: 'postgres',
    prisma,
    owner,
    async execScript(sql) {
      await pool.query(sql);
    },
    async query(sql, params = []) {
      return (await pool.query(sql, params)).rows;
    },
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
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

/**
 * Opens the embedded database in this process. A folder gets one owner (a lock naming this process,
 * taken before PGlite touches it) that serves it on a private socket to every other process.
 */
async function openEmbedded(dataDir: string | undefined, options: ConnectOptions): Promise<Database> {
  const { PGlite, protocol } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  let lock: ReturnType<typeof acquireOwnerLock> | undefined;
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    lock = acquireOwnerLock(dataDir, options.role ?? path.basename(process.argv[1] ?? 'node'));
  }
  let pglite: InstanceType<typeof PGlite>;
  try {
    pglite = dataDir ? new PGlite(dataDir) : new PGlite(options.initialData ? { loadDataDir: options.initialData } : {});
    await pglite.waitReady;
  } catch (err) {
    lock?.release();
    throw err;
  }
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

  const channels = new Map<string, ((payload: string) => void | Promise<void>)[]>();
  const writeHandlers: (() => void | Promise<void>)[] = [];
  const deliver = async ({ wrote, notifications }: { wrote: boolean; notifications: Notification[] }) => {
    if (wrote) for (const handler of writeHandlers) await handler();
    for (const { channel, payload } of notifications) for (const handler of channels.get(channel) ?? []) await handler(payload);
  };
  const wire = lock ? await startWireServer(pglite, { socketPath: lock.paths.socketPath, onCommitted: deliver, idleInTransactionMs: options.idleInTransactionMs }) : undefined;
  const external: ExternalChanges | undefined = wire && {
    async listen(channel, handler) {
      if (!channels.has(channel)) {
        channels.set(channel, []);
        await pglite.exec(`LISTEN "${channel.replace(/"/g, '""')}"`);
      }
      channels.get(channel)!.push(handler);
    },
    onWrite(handler) {
      writeHandlers.push(handler);
    },
  };
  return {
    kind: 'pglite',
    prisma,
    ...conn,
    external,
    async notify(channel, payload) {
      await statements.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    // PGlite is a single connection already.
    withConnection: (fn) => fn(conn),
    dumpEmbedded: () => pglite.dumpDataDir('gzip') as Promise<Blob>,
    async close() {
      await wire?.close();
      await prisma.$disconnect();
      await pglite.close();
      lock?.release();
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
