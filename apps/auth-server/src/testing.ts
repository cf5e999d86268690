// Test support for this app and for the apps that need a real authorization server in their tests.
import { createLogger } from '@mcp-gw/shared';
import type { Database } from '@mcp-gw/db';
import { freePort } from '@mcp-gw/testkit';
import { startAuthServer, type RunningAuthServer } from './app.js';
import { loadAuthServerConfig, type AuthServerConfig } from './config.js';

export interface TestUser {
  id: string;
  email: string;
  password: string;
}

export interface TestAuthServer {
  running: RunningAuthServer;
  config: AuthServerConfig;
  issuer: string;
  user: TestUser;
  createUser(email: string, options?: { isAdmin?: boolean; password?: string }): Promise<TestUser>;
  close(): Promise<void>;
}

/** The configuration of a test or benchmark authorization server on loopback `port`. */
export function testAuthServerConfig(port: number, env: Record<string, string> = {}): AuthServerConfig {
  return loadAuthServerConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    MCP_RESOURCE_URL: 'http://127.0.0.1:3999/mcp',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    ...env,
  });
}

/** A real authorization server on a loopback port, with one user, over the given database. */
export async function startTestAuthServer(
  db: Database,
  env: Record<string, string> = {},
): Promise<TestAuthServer> {
  const config = testAuthServerConfig(await freePort(), env);
  const running = await startAuthServer({ config, db, logger: createLogger('auth-server', config.LOG_LEVEL) });
  const createUser = async (email: string, options: { isAdmin?: boolean; password?: string } = {}) => {
    const password = options.password ?? `pw-${email}-Secret1`;
    // A second server over the same database (restart tests) finds the user already there.
    const existing = await db.prisma.user.findUnique({ where: { email } });
    if (existing) return { id: existing.id, email: existing.email, password };
    const user = await running.accounts.create({ email, password, name: email.split('@')[0]!, isAdmin: options.isAdmin });
    return { id: user.id, email: user.email, password };
  };
  const user = await createUser('alice@example.com', { isAdmin: true });
  return { running, config, issuer: config.ISSUER, user, createUser, close: () => running.close() };
}
