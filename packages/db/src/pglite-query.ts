import { createRequire } from 'node:module';
import type { PGlite, protocol as PGliteProtocol } from '@electric-sql/pglite';

type Messages = typeof PGliteProtocol.messages;
type DatabaseError = InstanceType<Messages['DatabaseError']>;

export interface PgliteQueryOptions {
  /** 'array' answers each row as an array in column order (as pglite.query() does). */
  rowMode?: 'object' | 'array';
  /** Type parsers by type OID, over PGlite's own. */
  parsers?: Record<number, (value: string, typeId: number) => unknown>;
}

export interface PgliteQueryResult<R> {
  rows: R[];
  fields: { name: string; dataTypeID: number }[];
  affectedRows: number;
}

/**
 * One parameterised statement on the embedded database in a single round trip into PGlite.
 *
 * Why not `pglite.query()`: it makes six separate protocol calls per statement (parse, describe the
 * statement to learn parameter types, bind, describe the portal, execute, sync), parses every reply
 * message in between and copies its whole parser table for each result: ~0.9 ms for a primary-key
 * read. Sending Parse/Bind/Describe/Execute/Sync together, as a PostgreSQL client pipelines them, with
 * parameters in text form and their types inferred by the server (what node-postgres does on the
 * PostgreSQL path, so both kinds see the same SQL the same way) takes ~0.1–0.2 ms; a named prepared
 * statement per SQL text skips parsing and planning after the first run, ~0.05 ms. Results are
 * decoded with PGlite's own type parsers, so rows look exactly as `pglite.query()` returns them.
 * `protocol` is PGlite's module export, passed in so that only the embedded path loads PGlite.
 */
export function createPgliteQuery(pglite: PGlite, protocol: typeof PGliteProtocol) {
  const { serialize, Parser } = protocol;
  const sync = serialize.sync();
  const describePortal = serialize.describe({ type: 'P' });
  const execute = serialize.execute({});
  // SQL text → name of its server-side prepared statement. The application's statements are a small
  // fixed set; past MAX_PREPARED distinct texts the rest run unnamed instead of growing the cache.
  const prepared = new Map<string, string>();
  let nextName = 1;

  function run(sql: string, values: (string | null)[], options: PgliteQueryOptions): PgliteQueryResult<unknown> & { error?: DatabaseError } {
    const parts: Uint8Array[] = [];
    const statement = prepared.get(sql);
    let preparing: string | undefined;
    if (statement === undefined) {
      if (prepared.size < MAX_PREPARED) preparing = `mcpgw_${nextName++}`;
      parts.push(serialize.parse({ name: preparing, text: sql }));
    }
    parts.push(serialize.bind({ statement: statement ?? preparing ?? '', values }), describePortal, execute, sync);
    const reply = pglite.execProtocolRawSync(concat(parts));
    let error: DatabaseError | undefined;
    let fields: { name: string; dataTypeID: number }[] = [];
    let affectedRows = 0;
    const rows: unknown[] = [];
    const asArray = options.rowMode === 'array';
    new Parser().parse(reply, (msg) => {
      if (msg instanceof protocol.messages.DatabaseError) error ??= msg;
      else if (msg.name === 'parseComplete' && preparing) prepared.set(sql, preparing);
      else if (msg.name === 'rowDescription') {
        fields = (msg as InstanceType<Messages['RowDescriptionMessage']>).fields.map(({ name, dataTypeID }) => ({ name, dataTypeID }));
      } else if (msg.name === 'dataRow') {
        const cells = (msg as InstanceType<Messages['DataRowMessage']>).fields;
        rows.push(asArray ? decodeArray(pglite, fields, cells, options.parsers) : decodeRow(pglite, fields, cells, options.parsers));
      } else if (msg.name === 'commandComplete') affectedRows = rowCount((msg as InstanceType<Messages['CommandCompleteMessage']>).text);
    });
    return { rows, fields, affectedRows, error };
  }

  /** `inTransaction`: called from within pglite.transaction(), which already holds the transaction lock. */
  async function statement<R>(sql: string, params: readonly unknown[], options: PgliteQueryOptions, inTransaction: boolean): Promise<PgliteQueryResult<R>> {
    const values = params.map(toTextParam);
    const once = () =>
      // The same locks as pglite.query(): never inside someone else's transaction, never between the
      // protocol steps of another statement.
      pglite._runExclusiveQuery(async () => {
        if (pglite.closed) throw new Error('the embedded database is closed');
        const stale = prepared.get(sql);
        let result = run(sql, values, options);
        if (result.error && stale !== undefined && STALE_STATEMENT_CODES.has(result.error.code ?? '')) {
          // A schema change altered the statement's result type, or something deallocated it: prepare
          // it afresh once. Nothing ran, the statement failed before executing.
          prepared.delete(sql);
          pglite.execProtocolRawSync(concat([serialize.close({ type: 'S', name: stale }), sync]));
          result = run(sql, values, options);
        }
        const { error, ...ok } = result;
        if (error) throw error;
        return ok as PgliteQueryResult<R>;
      });
    return inTransaction ? once() : pglite._runExclusiveTransaction(once);
  }

  return {
    /** One statement; rows as objects keyed by column name. */
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      return (await statement<T>(sql, params, {}, false)).rows;
    },
    /**
     * What Prisma's PGlite adapter uses of a PGlite instance (query, exec, transaction), with its
     * statements on this path: pglite.query()'s result shape, rowMode and parser overrides included.
     */
    forPrisma() {
      return {
        query: <R>(sql: string, params: readonly unknown[] = [], options: PgliteQueryOptions = {}) => statement<R>(sql, params, options, false),
        exec: (sql: string) => pglite.exec(sql),
        transaction: <T>(callback: (tx: unknown) => Promise<T>) =>
          pglite.transaction((tx) =>
            callback({
              query: <R>(sql: string, params: readonly unknown[] = [], options: PgliteQueryOptions = {}) => statement<R>(sql, params, options, true),
              exec: (sql: string) => tx.exec(sql),
              rollback: () => tx.rollback(),
              get closed() {
                return tx.closed;
              },
            }),
          ),
      };
    },
  };
}

function rowCount(commandTag: string): number {
  const parts = commandTag.split(' ');
  if (parts[0] === 'INSERT') return Number(parts[2]) || 0;
  if (parts[0] === 'UPDATE' || parts[0] === 'DELETE' || parts[0] === 'COPY' || parts[0] === 'MERGE') return Number(parts[1]) || 0;
  return 0;
}

const MAX_PREPARED = 500;
/** 0A000: "cached plan must not change result type"; 26000: "prepared statement … does not exist". */
const STALE_STATEMENT_CODES = new Set(['0A000', '26000']);

type Parsers = PgliteQueryOptions['parsers'];

function decodeValue(pglite: PGlite, value: string | null, dataTypeID: number, parsers: Parsers): unknown {
  if (value === null) return null;
  const parser = parsers?.[dataTypeID] ?? pglite.parsers[dataTypeID];
  return parser ? parser(value, dataTypeID) : value;
}

function decodeRow(pglite: PGlite, fields: readonly { name: string; dataTypeID: number }[], values: readonly (string | null)[], parsers: Parsers) {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) row[fields[i].name] = decodeValue(pglite, values[i], fields[i].dataTypeID, parsers);
  return row;
}

function decodeArray(pglite: PGlite, fields: readonly { name: string; dataTypeID: number }[], values: readonly (string | null)[], parsers: Parsers) {
  const row: unknown[] = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) row[i] = decodeValue(pglite, values[i], fields[i].dataTypeID, parsers);
  return row;
}

// node-postgres's own conversion: the PostgreSQL path sends parameters through it, so both kinds of
// database receive the same text for the same value (arrays as array literals, objects as JSON,
// Dates in local time with offset).
const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(value: unknown): string | Buffer | null };

/** A parameter as the text node-postgres would send; binary values in bytea's hex form. */
export function toTextParam(value: unknown): string | null {
  const prepared = pgUtils.prepareValue(value);
  return Buffer.isBuffer(prepared) ? `\\x${prepared.toString('hex')}` : prepared;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
