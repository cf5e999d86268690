import crypto from 'node:crypto';
import type { Prisma, PrismaClient } from '@mcp-gw/db';
import type { CallToolResult } from '../mcp/wire-types.js';
import { ConflictError } from '../domain/errors.js';
import type { Principal } from '../auth/principal.js';

export const REPLAY_META_KEY = 'io.mcp-gw/idempotent-replay';

/** Stable JSON (sorted keys) so the same arguments always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function hashArgs(args: Record<string, unknown>): string {
  const { idempotency_key: _ignored, ...rest } = args;
  return crypto.createHash('sha256').update(canonical(rest)).digest('hex');
}

export interface IdempotencyKey {
  scope: string;
  argsHash: string;
}

export function idempotencyKey(principal: Principal, tool: string, key: string, args: Record<string, unknown>): IdempotencyKey {
  return { scope: `${principal.clientId}|${principal.sub}|${tool}|${key}`, argsHash: hashArgs(args) };
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; meta?: { code?: string }; cause?: { code?: string }; message?: string };
  return (
    e?.code === 'P2002' ||
    e?.meta?.code === '23505' ||
    e?.cause?.code === '23505' ||
    (typeof e?.message === 'string' && /unique constraint|23505|duplicate key/i.test(e.message))
  );
}

/**
 * Write-once results per (client, user, tool, key), shared by every process through the database.
 * A retried call with the same key and arguments gets the first result back; the same key with other
 * arguments is refused. The claim row is inserted in the same transaction as the write: a concurrent
 * duplicate blocks on the unique key until the first commits, then fails with a unique violation and
 * returns the committed result (or proceeds, if the first rolled back).
 */
export class IdempotencyStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs: number,
  ) {}

  /** The stored result for this key, if any (throws ConflictError when the arguments differ). */
  async lookup(key: IdempotencyKey): Promise<CallToolResult | undefined> {
    const row = await this.prisma.idempotencyRecord.findUnique({ where: { scope: key.scope } });
    if (!row || row.expiresAt <= new Date()) return undefined;
    return this.replay(row, key);
  }

  private replay(row: { argsHash: string; result: unknown }, key: IdempotencyKey): CallToolResult {
    if (row.argsHash !== key.argsHash) {
      throw new ConflictError(
        'This idempotency_key was already used for a call with different arguments. Use a new idempotency_key for a different request; reuse a key only to retry exactly the same call.',
      );
    }
    const result = row.result as CallToolResult;
    return { ...result, _meta: { ...(result._meta ?? {}), [REPLAY_META_KEY]: true } };
  }

  /** Runs `write` once for this key inside a transaction and stores its result. */
  async run(key: IdempotencyKey, write: (tx: Prisma.TransactionClient) => Promise<CallToolResult>): Promise<CallToolResult> {
    const existing = await this.lookup(key);
    if (existing) return existing;
    const now = new Date();
    // An expired record of the same key is free to be reused.
    await this.prisma.idempotencyRecord.deleteMany({ where: { scope: key.scope, expiresAt: { lte: now } } });
    try {
      return await this.prisma.$transaction(
        async (tx) => {
          await tx.idempotencyRecord.create({
            data: { scope: key.scope, argsHash: key.argsHash, result: {}, expiresAt: new Date(now.getTime() + this.ttlMs) },
          });
          const result = await write(tx);
          await tx.idempotencyRecord.update({ where: { scope: key.scope }, data: { result: result as never } });
          return result;
        },
        { timeout: 15_000, maxWait: 15_000 },
      );
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const row = await this.prisma.idempotencyRecord.findUnique({ where: { scope: key.scope } });
      if (!row) throw err;
      return this.replay(row, key);
    }
  }
}
