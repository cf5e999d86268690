import crypto from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { PrismaClient } from '@mcp-gw/db';
import type { SecretBox } from './crypto-box.js';

export const SIGNING_ALG = 'RS256';

/**
 * Signing keys live in the database so tokens survive restarts and every replica signs with the same
 * keys. The newest active key signs; retired keys stay published until every token they signed expired.
 */
export class SigningKeyStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox,
  ) {}

  /** Every key (newest first) with what a key ring needs; creates the first one when there is none. */
  async loadAll(): Promise<StoredKey[]> {
    if (!(await this.prisma.signingKey.count({ where: { status: 'active' } }))) await this.rotate();
    const rows = await this.prisma.signingKey.findMany({ orderBy: { createdAt: 'desc' } });
    return rows.map((r) => ({
      kid: r.kid,
      createdAt: r.createdAt.getTime(),
      active: r.status === 'active',
      privateJwk: JSON.parse(this.box.open(r.privateJwk)) as JWK,
      publicJwk: r.publicJwk as JWK,
    }));
  }

  /** Creates a new signing key; the previous ones are retired (still published, no longer signing). */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048, extractable: true });
    const kid = crypto.randomUUID();
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
    return this.prisma.$transaction(async (tx) => {
      const previous = await tx.signingKey.findMany({ where: { status: 'active' }, select: { kid: true } });
      await tx.signingKey.updateMany({ where: { status: 'active' }, data: { status: 'retired', retiredAt: new Date() } });
      await tx.signingKey.create({
        data: { kid, alg: SIGNING_ALG, publicJwk, privateJwk: this.box.seal(JSON.stringify(privateJwk)), status: 'active' },
      });
      return { kid, retired: previous.map((p) => p.kid) };
    });
  }

  /** Deletes retired keys older than `retainSeconds` (longer than any token they signed can live). */
  async pruneRetired(retainSeconds: number): Promise<number> {
    const { count } = await this.prisma.signingKey.deleteMany({
      where: { status: 'retired', retiredAt: { lt: new Date(Date.now() - retainSeconds * 1000) } },
    });
    return count;
  }
}

export interface StoredKey {
  kid: string;
  createdAt: number;
  active: boolean;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Cookie signing keys: from the environment, or generated once and kept (sealed) in the database. */
export async function loadCookieKeys(prisma: PrismaClient, box: SecretBox, fromEnv: string[] | undefined): Promise<string[]> {
  if (fromEnv?.length) return fromEnv;
  const name = 'cookie_keys';
  const existing = await prisma.serverSecret.findUnique({ where: { name } });
  if (existing) return JSON.parse(box.open(existing.value)) as string[];
  const keys = [crypto.randomBytes(32).toString('base64url')];
  // Two replicas starting together: the first insert wins, the other reads it back.
  await prisma.serverSecret.createMany({ data: [{ name, value: box.seal(JSON.stringify(keys)) }], skipDuplicates: true });
  const stored = await prisma.serverSecret.findUniqueOrThrow({ where: { name } });
  return JSON.parse(box.open(stored.value)) as string[];
}
