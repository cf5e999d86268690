import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mcpdoCli, node22 } from '@mcp-gw/inspector-runner';
import { freePort } from '@mcp-gw/testkit';

export interface McpdoResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed (every command runs with --format json). */
  json: any;
}

export interface Mcpdo {
  /** The loopback redirect URI mcpdo registers and listens on while a sign-in is pending. */
  callbackUrl: string;
  /** Its private storage: daemon socket, catalog, OAuth store, secrets file. */
  dir: string;
  run(...args: string[]): Promise<McpdoResult>;
  /** Stops its daemon and any sign-in helper still waiting, and removes its storage. */
  stop(): Promise<void>;
}

/** Whether pid is still one of mcpdo's processes (its daemon renames itself mcpdod). */
const alive = (pid: number) => {
  try {
    return /mcpdo|mcp-bin/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * The MCP Inspector's command-line client as a person runs it from a shell without a TTY: its own
 * home and storage folder (so its daemon and OAuth store belong to this test alone), the secrets in
 * a file instead of an OS keychain, no browser opened (it prints the sign-in URL instead), and a
 * callback port of its own (MCP_OAUTH_CALLBACK_URL; the default is http://127.0.0.1:6276/oauth/callback,
 * which two runs at once would fight over). Node 22 from the inspector-runner package; nothing is
 * downloaded.
 */
export async function startMcpdo(): Promise<Mcpdo> {
  // Short: the daemon's Unix socket path must stay under 108 bytes.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpdo-'));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const callbackUrl = `http://127.0.0.1:${await freePort()}/oauth/callback`;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    // What the test runner sets is no part of a person's shell; nothing graphical is reachable.
    if (/^(VITEST|NODE_OPTIONS|NODE_ENV|TEST|DISPLAY|WAYLAND_DISPLAY|DBUS_SESSION_BUS_ADDRESS|BROWSER|MCP_)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, {
    HOME: home,
    MCP_STORAGE_DIR: dir,
    MCP_INSPECTOR_SECRET_STORE: 'file',
    MCP_AUTO_OPEN_ENABLED: 'false',
    MCP_OAUTH_CALLBACK_URL: callbackUrl,
    NO_COLOR: '1',
  });
  const run = (...args: string[]) =>
    new Promise<McpdoResult>((resolve, reject) => {
      const child = spawn(node22, [mcpdoCli, '--format', 'json', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        let json: unknown;
        try {
          json = stdout.trim() ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      });
    });
  return {
    callbackUrl,
    dir,
    run,
    async stop() {
      const pids: number[] = [];
      const status = await run('daemon', 'status').catch(() => undefined);
      const daemonPid = status?.json?.pid ?? status?.json?.status?.pid;
      if (typeof daemonPid === 'number') pids.push(daemonPid);
      const lock = path.join(dir, 'mcpdod.lock');
      if (fs.existsSync(lock)) pids.push(Number(fs.readFileSync(lock, 'utf8').trim()));
      for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('pending-auth-'))) {
        const pid = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')).pid;
        if (typeof pid === 'number') pids.push(pid);
      }
      await run('daemon', 'stop').catch(() => undefined);
      const deadline = Date.now() + 10_000;
      while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
