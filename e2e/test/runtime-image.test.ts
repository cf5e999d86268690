/**
 * What the container images hold, tested where no container can run. The Dockerfile's prod stages
 * assemble each app with deploy/docker/assemble-runtime.sh (production dependencies only, the
 * compiled output, the schema and migrations, in the repository's layout). This runs that script on
 * the build context (the files git knows, plus the dist folders the build stage leaves) and starts
 * what it assembled as the images start it: `node apps/<app>/dist/main.js` with NODE_ENV=production,
 * the issuer behind TLS. A runtime import of a devDependency, a file the layout leaves out or a
 * migration path that does not resolve fails here rather than at the first `docker compose up`.
 */
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createPostgresDatabase, freePort, startTlsProxy, type PostgresDatabase, type TlsProxy } from '@mcp-gw/testkit';
import { POSTGRES_URL, postgresUnavailable, startProcess, type ManagedProcess } from '../support/cluster.js';
import { repoRoot } from '../support/system.js';

const exec = promisify(execFile);

const pgSkip = await postgresUnavailable();
if (pgSkip && process.env.CI) throw new Error(`${pgSkip}: the runtime image test needs it in CI`);
if (pgSkip) console.warn(`SKIPPED runtime-image: ${pgSkip}`);

const APPS = ['auth-server', 'mcp-server'] as const;
/** Build, test and lint tools: none of them may reach an image. */
/** What only `prisma generate` and the Prisma CLI use (its config loader, engines downloader). */
const GENERATOR_ONLY = /^(prisma|typescript|effect|@prisma\+config|@prisma\+engines|@prisma\+fetch-engine|c12|jiti)(@|$)/;
const DEV_ONLY = /^(vitest|@vitest\+|eslint|@eslint\+|typescript-eslint|@typescript-eslint\+|turbo|tsx|esbuild|playwright|playwright-core|supertest|selfsigned|@types\+|@mcp-gw\+testkit)(@|$)/;

/**
 * A PATH on which `pnpm` is the pnpm this test was started with (`pnpm exec turbo` sets npm_execpath;
 * on a fresh machine that one may come from npx and not be on PATH), else the PATH as it is.
 */
function pathWithPnpm(binDir: string): string {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(path.basename(execPath))) {
    fs.mkdirSync(binDir, { recursive: true });
    const runner = /\.[cm]?js$/.test(execPath) ? `"${process.execPath}" "${execPath}"` : `"${execPath}"`;
    fs.writeFileSync(path.join(binDir, 'pnpm'), `#!/bin/sh\nexec ${runner} "$@"\n`, { mode: 0o755 });
    return `${binDir}${path.delimiter}${process.env.PATH ?? ''}`;
  }
  return process.env.PATH ?? '';
}

/** The Docker build context as `COPY . .` sees it: what git tracks or would (not what it ignores). */
function copyBuildContext(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot })
    .toString()
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(repoRoot, f)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, file), path.join(to, file));
  }
  // What the build stage leaves for the prod stages (COPY --from=build …/dist).
  for (const dist of ['packages/shared/dist', 'packages/db/dist', 'apps/auth-server/dist', 'apps/mcp-server/dist']) {
    fs.cpSync(path.join(repoRoot, dist), path.join(to, dist), { recursive: true });
  }
}

describe.skipIf(!!pgSkip)('the runtime images, assembled as the Dockerfile does and started as they start', { timeout: 300_000 }, () => {
  let work: string;
  const out: Record<(typeof APPS)[number], string> = { 'auth-server': '', 'mcp-server': '' };
  let database: PostgresDatabase;
  let tls: TlsProxy;
  let caFile: string;
  const processes: ManagedProcess[] = [];
  const keyEncryptionKey = crypto.randomBytes(32).toString('base64');
  const email = 'image-test@example.com';
  const password = crypto.randomBytes(12).toString('base64url');
  let authPort: number;
  let mcpPort: number;
  let authEnv: Record<string, string>;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-image-'));
    const context = path.join(work, 'context');
    copyBuildContext(context);
    const PATH = pathWithPnpm(path.join(work, 'bin'));
    // Offline from the same store the workspace was installed from (the image fills its own with `pnpm fetch`).
    const store = execFileSync('pnpm', ['store', 'path'], { cwd: repoRoot, env: { ...process.env, PATH } }).toString().trim();
    for (const app of APPS) {
      out[app] = path.join(work, app);
      await exec('sh', ['deploy/docker/assemble-runtime.sh', app, out[app]], {
        cwd: context,
        env: { ...process.env, PATH, CI: 'true', npm_config_store_dir: store },
        maxBuffer: 16 * 1024 * 1024,
      });
    }
    database = await createPostgresDatabase(POSTGRES_URL, 'mcpgw_image');
    [authPort, mcpPort] = [await freePort(), await freePort()];
    tls = await startTlsProxy(authPort);
    caFile = path.join(work, 'ca.pem');
    fs.writeFileSync(caFile, tls.certificate);
    authEnv = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(authPort),
      ISSUER: tls.origin,
      TRUST_PROXY: 'true',
      MCP_RESOURCE_URL: `http://127.0.0.1:${mcpPort}/mcp`,
      DATABASE_URL: database.url,
      KEY_ENCRYPTION_KEY: keyEncryptionKey,
    };
  });

  afterAll(async () => {
    for (const p of processes.reverse()) await p.stop();
    await tls?.close();
    await database?.drop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('each holds its app, its workspace packages and production dependencies, and no build or test tool', () => {
    for (const app of APPS) {
      expect(fs.existsSync(path.join(out[app], `apps/${app}/dist/main.js`))).toBe(true);
      for (const other of APPS.filter((a) => a !== app)) expect(fs.existsSync(path.join(out[app], `apps/${other}`))).toBe(false);
      expect(fs.readdirSync(path.join(out[app], 'prisma/migrations')).length).toBeGreaterThan(0);
      const installed = fs.readdirSync(path.join(out[app], 'node_modules/.pnpm'));
      expect(installed.filter((name) => DEV_ONLY.test(name))).toEqual([]);
      // Prisma's generator-time peers (its CLI, TypeScript) and what only they pull in are pruned:
      // the apps below run without them.
      expect(installed.filter((name) => GENERATOR_ONLY.test(name))).toEqual([]);
      const dangling = execFileSync('find', [out[app], '-xtype', 'l']).toString();
      expect(dangling).toBe('');
      expect(installed.some((name) => name.startsWith('@modelcontextprotocol+sdk@'))).toBe(app === 'mcp-server');
      expect(installed.some((name) => name.startsWith('oidc-provider@'))).toBe(app === 'auth-server');
      expect(execFileSync('find', [out[app], '-path', '*/dist/*', '-name', '*.test.*']).toString()).toBe('');
    }
  });

  it("the auth-server image's migration runner migrates an empty database, once", async () => {
    const migrate = () => exec(process.execPath, ['packages/db/dist/cli/migrate.js'], { cwd: out['auth-server'], env: { ...process.env, ...authEnv } });
    expect((await migrate()).stdout).toMatch(/applied \d+ migration\(s\)/);
    expect((await migrate()).stdout).toMatch(/database is up to date/);
  });

  it('the authorization server starts from its image in production, behind TLS, and its admin CLI adds a user', async () => {
    processes.push(
      await startProcess('auth-server (image)', 'apps/auth-server/dist/main.js', authEnv, async () => (await fetch(`http://127.0.0.1:${authPort}/ready`)).ok, {
        cwd: out['auth-server'],
      }),
    );
    const { stdout } = await exec(process.execPath, ['apps/auth-server/dist/cli/admin.js', 'users', 'add', email], {
      cwd: out['auth-server'],
      env: { ...process.env, ...authEnv, ADMIN_NEW_PASSWORD: password },
    });
    expect(stdout).toContain(email);
  });

  it('the MCP server starts from its image, loads the keys over TLS, and serves tools to a token issued by the other image', async () => {
    processes.push(
      await startProcess(
        'mcp-server (image)',
        'apps/mcp-server/dist/main.js',
        {
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          PORT: String(mcpPort),
          AUTH_ISSUER: tls.origin,
          MCP_RESOURCE_URL: `http://127.0.0.1:${mcpPort}/mcp`,
          DATABASE_URL: database.url,
          // The proxy's certificate, as a deployment trusts an internal CA.
          NODE_EXTRA_CA_CERTS: caFile,
        },
        // Ready only once the authorization server's keys are loaded (over TLS, through the proxy).
        async () => (await fetch(`http://127.0.0.1:${mcpPort}/ready`)).ok,
        { cwd: out['mcp-server'] },
      ),
    );
    const challenge = await fetch(`http://127.0.0.1:${mcpPort}/mcp`, { method: 'POST' });
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toContain(`resource_metadata="http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp"`);
    const prm = (await (await fetch(`http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp`)).json()) as { authorization_servers: string[] };
    expect(prm.authorization_servers).toEqual([tls.origin]);

    // A real client's flow over TLS: in a process that trusts the proxy's certificate, as the MCP server does.
    const flow = `
      import { obtainTokens } from '@mcp-gw/testkit';
      const issuer = process.env.FLOW_ISSUER;
      const metadata = await (await fetch(issuer + '/.well-known/oauth-authorization-server')).json();
      const { tokens } = await obtainTokens({ issuer, email: process.env.FLOW_EMAIL, password: process.env.FLOW_PASSWORD, resource: process.env.FLOW_RESOURCE, scope: 'tickets:read tickets:write' });
      console.log(JSON.stringify({ issuer: metadata.issuer, accessToken: tokens.access_token }));
    `;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', flow], {
      cwd: path.join(repoRoot, 'e2e'),
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: caFile,
        FLOW_ISSUER: tls.origin,
        FLOW_EMAIL: email,
        FLOW_PASSWORD: password,
        FLOW_RESOURCE: `http://127.0.0.1:${mcpPort}/mcp`,
      },
    });
    const { issuer, accessToken } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { issuer: string; accessToken: string };
    expect(issuer).toBe(tls.origin);

    const client = new Client({ name: 'image-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${mcpPort}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
    });
    await client.connect(transport);
    try {
      const whoami = await client.callTool({ name: 'whoami', arguments: {} });
      expect(whoami.isError).toBeFalsy();
      expect((whoami.structuredContent as { tools_allowed: string[] }).tools_allowed).toContain('create_ticket');
      // A tool that reads the database through the generated Prisma client shipped in the image.
      const projects = await client.callTool({ name: 'list_projects', arguments: {} });
      expect(projects.isError).toBeFalsy();
      expect(projects.structuredContent).toHaveProperty('projects');
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });
});
