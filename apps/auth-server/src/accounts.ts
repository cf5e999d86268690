import crypto from 'node:crypto';
import argon2 from 'argon2';
import { SQL_NOW_UTC, sqlEpochMs, type Database, type User } from '@mcp-gw/db';

// OWASP's argon2id memory and passes (19 MiB, t=2) in 2 lanes: the same memory and work for an attacker
// as one lane, about half the wall time of a sign-in where two cores are free. More lanes than cores
// is slower, not faster (verify on 2 cores: 1 lane 44 ms, 2 lanes 25 ms, 4 lanes 35 ms). The hash
// string carries its parameters; a sign-in with a hash made under other ones rehashes it.
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 2 } as const;

// The two lookups every sign-in and every authorization step makes, in SQL: through Prisma they cost
// several times more on the embedded database.
const USER_COLUMNS = `id, email, name, password_hash, is_admin, kind, ${sqlEpochMs('disabled_at')} AS disabled_ms, ${sqlEpochMs('email_verified_at')} AS email_verified_ms,
  ${sqlEpochMs('created_at')} AS created_ms, ${sqlEpochMs('updated_at')} AS updated_ms, ${sqlEpochMs('last_login_at')} AS last_login_ms`;

interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  is_admin: boolean;
  kind: string;
  disabled_ms: number | null;
  email_verified_ms: number | null;
  created_ms: number;
  updated_ms: number;
  last_login_ms: number | null;
}

const dateOrNull = (ms: number | null) => (ms === null ? null : new Date(ms));
function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    isAdmin: row.is_admin,
    kind: row.kind,
    disabledAt: dateOrNull(row.disabled_ms),
    emailVerifiedAt: dateOrNull(row.email_verified_ms),
    createdAt: new Date(row.created_ms),
    updatedAt: new Date(row.updated_ms),
    lastLoginAt: dateOrNull(row.last_login_ms),
  };
}

// Verified against when the email is unknown, so both failures take the same time.
let dummyHash: Promise<string> | undefined;

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class AccountService {
  constructor(private readonly db: Pick<Database, 'prisma' | 'query'>) {
    // Made now, not at the first unknown email: that attempt would otherwise take a hash longer.
    dummyHash ??= argon2.hash(crypto.randomBytes(16).toString('hex'), ARGON2_OPTIONS);
  }

  async create(input: { email: string; password: string; name: string; isAdmin?: boolean }): Promise<User> {
    if (input.password.length < 8) throw new Error('password must be at least 8 characters');
    const passwordHash = await argon2.hash(input.password, ARGON2_OPTIONS);
    return this.db.prisma.user.create({
      data: { email: normalizeEmail(input.email), name: input.name, passwordHash, isAdmin: input.isAdmin ?? false },
    });
  }

  async setPassword(userId: string, password: string): Promise<void> {
    if (password.length < 8) throw new Error('password must be at least 8 characters');
    await this.db.prisma.user.update({ where: { id: userId }, data: { passwordHash: await argon2.hash(password, ARGON2_OPTIONS) } });
  }

  /** The user when email and password match an enabled account; otherwise undefined, in the same time. */
  async authenticate(email: string, password: string): Promise<User | undefined> {
    const [row] = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM app_user WHERE email = $1`, [normalizeEmail(email)]);
    const user = row && toUser(row);
    // An account without a local password (it signs in upstream) fails like an unknown email.
    if (!user?.passwordHash) {
      dummyHash ??= argon2.hash(crypto.randomBytes(16).toString('hex'), ARGON2_OPTIONS);
      await argon2.verify(await dummyHash, password).catch(() => false);
      return undefined;
    }
    const ok = await argon2.verify(user.passwordHash, password).catch(() => false);
    if (!ok || user.disabledAt) return undefined;
    const rehash = argon2.needsRehash(user.passwordHash, ARGON2_OPTIONS) ? await argon2.hash(password, ARGON2_OPTIONS) : null;
    await this.db.query(
      `UPDATE app_user SET last_login_at = ${SQL_NOW_UTC}, updated_at = ${SQL_NOW_UTC},
         password_hash = coalesce($2, password_hash) WHERE id = $1`,
      [user.id, rehash],
    );
    return user;
  }

  async find(id: string): Promise<User | null> {
    const [row] = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM app_user WHERE id = $1`, [id]);
    return row ? toUser(row) : null;
  }

  /** The OpenID Connect claims of an account (ID token, userinfo): email_verified only where an IdP vouched. */
  static claims(user: User): { sub: string; email: string; email_verified: boolean; name: string } {
    return { sub: user.id, email: user.email, email_verified: user.emailVerifiedAt !== null, name: user.name };
  }

  /**
   * Creates the demo user when the database has no user yet. Returns the password only when it was
   * generated (it is printed once and never stored in clear).
   */
  async ensureDemoUser(email = 'demo@example.com', password?: string): Promise<{ user: User; generatedPassword?: string } | undefined> {
    if ((await this.db.prisma.user.count()) > 0) return undefined;
    const generated = password ? undefined : crypto.randomBytes(12).toString('base64url');
    const user = await this.create({ email, password: password ?? generated!, name: 'Demo User', isAdmin: true });
    return { user, generatedPassword: generated };
  }
}
