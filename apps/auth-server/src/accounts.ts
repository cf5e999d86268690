import crypto from 'node:crypto';
import argon2 from 'argon2';
import type { PrismaClient, User } from '@mcp-gw/db';

// OWASP's argon2id baseline (19 MiB, 2 passes); the hash string carries them, so they can be raised later.
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// Verified against when the email is unknown, so both failures take the same time.
let dummyHash: Promise<string> | undefined;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class AccountService {
  constructor(private readonly prisma: PrismaClient) {
    // Made now, not at the first unknown email: that attempt would otherwise take a hash longer.
    dummyHash ??= argon2.hash(crypto.randomBytes(16).toString('hex'), ARGON2_OPTIONS);
  }

  async create(input: { email: string; password: string; name: string; isAdmin?: boolean }): Promise<User> {
    if (input.password.length < 8) throw new Error('password must be at least 8 characters');
    const passwordHash = await argon2.hash(input.password, ARGON2_OPTIONS);
    return this.prisma.user.create({
      data: { email: normalizeEmail(input.email), name: input.name, passwordHash, isAdmin: input.isAdmin ?? false },
    });
  }

  async setPassword(userId: string, password: string): Promise<void> {
    if (password.length < 8) throw new Error('password must be at least 8 characters');
    await this.prisma.user.update({ where: { id: userId }, data: { passwordHash: await argon2.hash(password, ARGON2_OPTIONS) } });
  }

  /** The user when email and password match an enabled account; otherwise undefined, in the same time. */
  async authenticate(email: string, password: string): Promise<User | undefined> {
    const user = await this.prisma.user.findUnique({ where: { email: normalizeEmail(email) } });
    if (!user) {
      dummyHash ??= argon2.hash(crypto.randomBytes(16).toString('hex'), ARGON2_OPTIONS);
      await argon2.verify(await dummyHash, password).catch(() => false);
      return undefined;
    }
    const ok = await argon2.verify(user.passwordHash, password).catch(() => false);
    if (!ok || user.disabledAt) return undefined;
    await this.prisma.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
    return user;
  }

  find(id: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /**
   * Creates the demo user when the database has no user yet. Returns the password only when it was
   * generated (it is printed once and never stored in clear).
   */
  async ensureDemoUser(email = 'demo@example.com', password?: string): Promise<{ user: User; generatedPassword?: string } | undefined> {
    if ((await this.prisma.user.count()) > 0) return undefined;
    const generated = password ? undefined : crypto.randomBytes(12).toString('base64url');
    const user = await this.create({ email, password: password ?? generated!, name: 'Demo User', isAdmin: true });
    return { user, generatedPassword: generated };
  }
}
