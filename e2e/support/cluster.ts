import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPostgresDatabase, freePort, type PostgresDatabase } from '@mcp-gw/testkit';
import { repoRoot } from './system.js';

const exec = promisify(execFile);

/** The PostgreSQL server the multi-process tests create their databases on. */
export const POSTGRES_URL = process.env.E2E_POSTGRES_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.E2E_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Why PostgreSQL cannot be used, or undefined when it can. */
export async function postgresUnavailable(url = POSTGRES_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//…@')} is unreachable (${(err as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Why Redis cannot be used (a PING over a raw socket), or undefined when it can. */
export function redisUnavailable(url = REDIS_URL): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(3000, () => done(`Redis at ${url} did not answer`));
    socket.once('error', (err) => done(`Redis at ${url} is unreachable (${err.message})`));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG') ? undefined : `Redis at ${url} answered ${d.toString().trim()}`));
  });
}

/** A fresh PostgreSQL database with the migrations applied by the real migrate CLI; drop() removes it. */
export async function createDatabase(): Promise<PostgresDatabase> {
  const database = await createPostgresDatabase(POSTGRES_URL, 'mcpgw_e2e');
  await exec(process.execPath, [path.join(repoRoot, 'packages/db/dist/cli/migrate.js')], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: database.url } });
  return database;
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` with `env`, waits until `ready()` is true (polled), keeps its output for failures.
 * `script` is relative to `cwd`, the repository by default (another directory with the same layout: an image's).
 */
export async function startProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  ready: () => Promise<boolean>,
  { cwd = repoRoot }: { cwd?: string } = {},
): Promise<ManagedProcess> {
  const child = spawn(process.execPath, [path.join(cwd, script)], {
    cwd,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const managed: ManagedProcess = {
    name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    if (await ready().catch(() => false)) return managed;
    await new Promise((r) => setTimeout(r, 200));
  }
  await managed.stop();
  throw new Error(`${name} was not ready in 90 s:\n${out}`);
}

export interface Cluster {
  issuer: string;
  /** The one resource URL every MCP process accepts as audience. */
  resource: string;
  /** Where each MCP process actually listens (…/mcp). */
  mcpUrls: string[];
  databaseUrl: string;
  redisUrl: string | undefined;
  demoEmail: string;
  demoPassword: string;
  processes: ManagedProcess[];
  /** Runs the real admin CLI against the cluster's database (and Redis); rejects on a non-zero exit. */
  cli(args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * One authorization server process and `mcpProcesses` MCP server processes over one fresh PostgreSQL
 * database (and Redis when `redis` is set), each started from its built entry point the way an
 * operator runs replicas.
 */
export async function startCluster(options: { mcpProcesses: number; redis?: boolean; authEnv?: Record<string, string> }): Promise<Cluster> {
  const database = await createDatabase();
  const processes: ManagedProcess[] = [];
  const redisUrl = options.redis ? REDIS_URL : undefined;
  try {
    const authPort = await freePort();
    const mcpPorts: number[] = [];
    for (let i = 0; i < options.mcpProcesses; i++) mcpPorts.push(await freePort());
    const issuer = `http://127.0.0.1:${authPort}`;
    // A resource URL is an identifier: every replica accepts the same one, wherever it listens.
    const resource = `http://127.0.0.1:${mcpPorts[0] ?? 3999}/mcp`;
    const demoEmail = 'admin@example.com';
    const demoPassword = 'Admin-Secret-123';
    const common = { DATABASE_URL: database.url, ...(redisUrl ? { REDIS_URL: redisUrl } : { REDIS_URL: '' }) };
    processes.push(
      await startProcess(
        'auth-server',
        'apps/auth-server/dist/main.js',
        {
          ...common,
          PORT: String(authPort),
          HOST: '127.0.0.1',
          ISSUER: issuer,
          MCP_RESOURCE_URL: resource,
          DEMO_EMAIL: demoEmail,
          DEMO_PASSWORD: demoPassword,
          KEY_ENCRYPTION_KEY: crypto.randomBytes(32).toString('base64'),
          // Many registrations from one loopback address in one test run.
          REGISTRATION_RATE_LIMIT: '100000',
          ...options.authEnv,
        },
        async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).ok,
      ),
    );
    const mcpUrls: string[] = [];
    for (const [i, port] of mcpPorts.entries()) {
      const base = `http://127.0.0.1:${port}`;
      processes.push(
        await startProcess(
          `mcp-server-${String.fromCharCode(65 + i)}`,
          'apps/mcp-server/dist/main.js',
          { ...common, PORT: String(port), HOST: '127.0.0.1', AUTH_ISSUER: issuer, MCP_RESOURCE_URL: resource, ALLOWED_HOSTS: `127.0.0.1:${port}` },
          async () => (await fetch(`${base}/ready`)).ok,
        ),
      );
      mcpUrls.push(`${base}/mcp`);
    }
    return {
      issuer,
      resource,
      mcpUrls,
      databaseUrl: database.url,
      redisUrl,
      demoEmail,
      demoPassword,
      processes,
      cli: (args: string[], env: Record<string, string> = {}) =>
        exec(process.execPath, [path.join(repoRoot, 'apps/auth-server/dist/cli/admin.js'), ...args], {
          cwd: repoRoot,
          env: { ...process.env, ...common, LOG_LEVEL: 'warn', USER: 'e2e-operator', ...env },
          timeout: 60_000,
        }),
      async stop() {
        await Promise.all(processes.map((p) => p.stop()));
        await database.drop();
      },
    };
  } catch (err) {
    await Promise.all(processes.map((p) => p.stop()));
    await database.drop().catch(() => {});
    throw err;
  }
}
