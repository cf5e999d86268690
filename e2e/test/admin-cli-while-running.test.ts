// The default install administered while it runs: `npm start` owns its embedded database and the admin
// CLI, run beside it as an operator would, goes through it. Each command must act on the live system
// (what it lists is what the system has, what it revokes stops on the next request), a second start on
// the same folder must be refused without touching it, and killing the owner mid-write must lose
// nothing it acknowledged.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAndRedeem, CookieJar, freePort, registerClient, tokenRequest, type RegisteredClient } from '@mcp-gw/testkit';
import { RawMcpSession } from '../support/jsonrpc-client.js';
import { repoRoot, startSystem, type RunningSystem } from '../support/system.js';

const exec = promisify(execFile);
const REDIRECT = 'http://127.0.0.1:8765/callback';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `pnpm admin …` beside the running system: same data folder, no other configuration. */
async function admin(system: RunningSystem, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { DATABASE_URL: _db, KEY_ENCRYPTION_KEY: _key, REDIS_URL: _redis, ...rest } = process.env;
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(repoRoot, 'apps/auth-server/dist/cli/admin.js'), ...args], {
      cwd: repoRoot,
      env: { ...rest, DATA_DIR: system.dataDir, USER: 'e2e-operator', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function newClient(system: RunningSystem, name: string): Promise<RegisteredClient> {
  return registerClient(system.issuer, { client_name: name, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] });
}

async function consent(system: RunningSystem, client: RegisteredClient) {
  const { tokens } = await authorizeAndRedeem({
    issuer: system.issuer,
    clientId: client.client_id,
    redirectUri: REDIRECT,
    email: system.demoEmail,
    password: system.demoPassword,
    jar: new CookieJar(),
    scope: 'tickets:read tickets:write',
    resource: system.mcpUrl,
  });
  return { access: tokens.access_token, refresh: String(tokens.refresh_token) };
}

async function jwksKids(system: RunningSystem): Promise<string[]> {
  const metadata = (await (await fetch(`${system.issuer}/.well-known/oauth-authorization-server`)).json()) as { jwks_uri: string };
  return ((await (await fetch(metadata.jwks_uri)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

describe('the admin CLI against the running embedded system', () => {
  let system: RunningSystem;

  beforeAll(async () => {
    system = await startSystem();
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('lists a client registered a moment before', async () => {
    const client = await newClient(system, 'registered-just-now');
    const list = await admin(system, ['clients', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { clientId: string }[]).map((c) => c.clientId)).toContain(client.client_id);
  });

  it('revokes a client: its access token is refused and its refresh token dead on the next request', async () => {
    const client = await newClient(system, 'to-revoke');
    const tokens = await consent(system, client);
    const session = new RawMcpSession(system.mcpUrl, tokens.access);
    await session.initialize();
    expect((await session.callTool('whoami', {})).status).toBe(200);
    // A live standalone stream of the session: the revocation must end it, not just refuse new calls.
    const stream = await fetch(system.mcpUrl, { headers: { authorization: `Bearer ${tokens.access}`, accept: 'text/event-stream', 'mcp-session-id': session.sessionId!, 'mcp-protocol-version': '2025-06-18' } });
    expect(stream.status).toBe(200);
    const streamEnded = stream.body!.pipeTo(new WritableStream()).then(
      () => 'ended',
      () => 'ended',
    );

    const revoke = await admin(system, ['clients', 'revoke', client.client_id]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toContain(`revoked client ${client.client_id}`);
    expect(revoke.stdout).toContain('confirmed by 1 MCP server(s)');

    // The very next requests, with no wait: the system heard the CLI before the CLI returned.
    const call = await session.callTool('whoami', {});
    expect(call.status).toBe(401);
    const fresh = await fetch(system.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } } }),
    });
    expect(fresh.status).toBe(401);
    const refresh = await tokenRequest(system.issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh, client_id: client.client_id });
    // The client no longer exists: invalid_client (401, RFC 6749 §5.2), or invalid_grant for its token.
    expect([`401 invalid_client`, `400 invalid_grant`]).toContain(`${refresh.status} ${String(refresh.body.error)}`);
    await expect(Promise.race([streamEnded, new Promise((r) => setTimeout(r, 10_000, 'still open'))])).resolves.toBe('ended');
  });

  it('revokes one grant the same way', async () => {
    const client = await newClient(system, 'grant-to-revoke');
    const tokens = await consent(system, client);
    const grants = await admin(system, ['grants', 'list', '--client', client.client_id, '--json']);
    expect(grants.code, grants.stderr).toBe(0);
    const [grant] = JSON.parse(grants.stdout) as { grantId: string }[];
    const session = new RawMcpSession(system.mcpUrl, tokens.access);
    await session.initialize();
    expect((await session.callTool('whoami', {})).status).toBe(200);
    const revoke = await admin(system, ['grants', 'revoke', grant!.grantId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await session.callTool('whoami', {})).status).toBe(401);
  });

  it('rotates the signing key: the new key is published at jwks_uri at once', async () => {
    const before = await jwksKids(system);
    const rotate = await admin(system, ['keys', 'rotate']);
    expect(rotate.code, rotate.stderr).toBe(0);
    const kid = /new signing key (\S+);/.exec(rotate.stdout)?.[1];
    expect(kid).toBeTruthy();
    expect(before).not.toContain(kid);
    const after = await jwksKids(system);
    expect(after).toContain(kid);
    expect(after).toEqual(expect.arrayContaining(before));
    // The key was sealed with the running system's key, like the others: `keys list` reads them all.
    const keys = await admin(system, ['keys', 'list']);
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout).toContain(kid!);
  });

  it('adds, disables and enables users, and purges unused clients, while it runs', async () => {
    const add = await admin(system, ['users', 'add', 'carol@example.com'], { ADMIN_NEW_PASSWORD: 'carol-password-1' });
    expect(add.code, add.stderr).toBe(0);
    const client = await newClient(system, 'carol-client');
    // Carol signs in to the running system with the password the CLI set.
    await authorizeAndRedeem({ issuer: system.issuer, clientId: client.client_id, redirectUri: REDIRECT, email: 'carol@example.com', password: 'carol-password-1', jar: new CookieJar(), scope: 'tickets:read', resource: system.mcpUrl });
    expect((await admin(system, ['users', 'disable', 'carol@example.com'])).code).toBe(0);
    await expect(
      authorizeAndRedeem({ issuer: system.issuer, clientId: client.client_id, redirectUri: REDIRECT, email: 'carol@example.com', password: 'carol-password-1', jar: new CookieJar(), scope: 'tickets:read', resource: system.mcpUrl }),
    ).rejects.toThrow();
    expect((await admin(system, ['users', 'enable', 'carol@example.com'])).code).toBe(0);
    const list = await admin(system, ['users', 'list']);
    expect(list.stdout).toContain('carol@example.com');
    const purge = await admin(system, ['clients', 'purge-unused']);
    expect(purge.code, purge.stderr).toBe(0);
    expect(purge.stdout).toMatch(/purged \d+ unused registration/);
  });

  it('refuses a second start on the same folder with the owner named, and changes nothing', async () => {
    const before = await admin(system, ['clients', 'list', '--json']);
    const lock = fs.readFileSync(path.join(system.dataDir, 'pglite.owner', 'owner.json'), 'utf8');
    const { DATABASE_URL: _db, ...rest } = process.env;
    const [authPort, mcpPort] = [await freePort(), await freePort()];
    const second = await exec(process.execPath, [path.join(repoRoot, 'apps/all-in-one/dist/main.js')], {
      cwd: repoRoot,
      env: { ...rest, DATA_DIR: system.dataDir, AUTH_PORT: String(authPort), MCP_PORT: String(mcpPort), LOG_LEVEL: 'warn' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? '' }),
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`is in use by process ${system.pid} (npm start`);
    expect(second.stderr).not.toMatch(/Aborted|RuntimeError|at .*\.js:\d+/);
    expect(fs.readFileSync(path.join(system.dataDir, 'pglite.owner', 'owner.json'), 'utf8')).toBe(lock);
    // The running system still serves, and holds what it held.
    expect((await fetch(`${system.issuer}/.well-known/oauth-authorization-server`)).status).toBe(200);
    const after = await admin(system, ['clients', 'list', '--json']);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
  });
});

describe('the owner killed mid-write', () => {
  it('loses nothing it acknowledged, and the next start takes the folder over', async () => {
    const first = await startSystem();
    const acknowledged: string[] = [];
    let writing = true;
    const writers = [0, 1, 2].map(async (w) => {
      for (let i = 0; writing; i++) {
        try {
          acknowledged.push((await newClient(first, `killed-${w}-${i}`)).client_id);
        } catch {
          return; // the owner is gone: this registration was never acknowledged
        }
      }
    });
    while (acknowledged.length < 15) await new Promise((r) => setTimeout(r, 20));
    await first.kill();
    writing = false;
    await Promise.all(writers);

    const second = await startSystem({}, { dataDir: first.dataDir });
    try {
      const list = await admin(second, ['clients', 'list', '--json']);
      expect(list.code, list.stderr).toBe(0);
      const present = new Set((JSON.parse(list.stdout) as { clientId: string }[]).map((c) => c.clientId));
      expect(acknowledged.filter((id) => !present.has(id))).toEqual([]);
      console.log(`owner killed after ${acknowledged.length} acknowledged registrations; all ${acknowledged.length} present after restart`);
    } finally {
      await second.stop();
      fs.rmSync(first.dataDir, { recursive: true, force: true });
    }
  });
});
