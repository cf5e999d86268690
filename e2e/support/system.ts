import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@mcp-gw/testkit';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningSystem {
  /** The one thing a user is given: the MCP server URL printed at start. */
  mcpUrl: string;
  issuer: string;
  demoEmail: string;
  demoPassword: string;
  dataDir: string;
  pid: number;
  output: () => string;
  /** SIGTERM, then removes the data folder (unless it was given). */
  stop(): Promise<void>;
  /** SIGKILL: the process dies at once, wherever it is. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Start on this data folder (kept on stop) instead of a fresh one. */
  dataDir?: string;
}

/** The environment, or a function of the ports the two servers will listen on (for ISSUER and co.). */
export type SystemEnv = Record<string, string> | ((ports: { auth: number; mcp: number }) => Record<string, string>);

/**
 * Starts the built system exactly as `npm start` does after building (apps/all-in-one on the embedded
 * database), in a fresh data folder, and reads the URL and demo login from what it prints.
 */
export async function startSystem(systemEnv: SystemEnv = {}, options: StartOptions = {}): Promise<RunningSystem> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-e2e-'));
  const [authPort, mcpPort] = [await freePort(), await freePort()];
  const env = typeof systemEnv === 'function' ? systemEnv({ auth: authPort, mcp: mcpPort }) : systemEnv;
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'apps/all-in-one/dist/main.js')], {
    cwd: repoRoot,
    env: { ...process.env, DATA_DIR: dataDir, AUTH_PORT: String(authPort), MCP_PORT: String(mcpPort), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`system did not start in 240 s:\n${out}`)), 240_000);
    const check = () => {
      if (/Demo login:.*\n/.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`system exited with ${code}:\n${out}`));
    });
  });
  const mcpUrl = /MCP server URL[^:]*:\s+(\S+)/.exec(banner)![1]!;
  const issuer = /Authorization server:\s+(\S+)/.exec(banner)![1]!;
  const [, demoEmail, demoPassword] = /Demo login:\s+(\S+) \/ (\S+)/.exec(banner)!;
  return {
    mcpUrl,
    issuer,
    demoEmail: demoEmail!,
    demoPassword: demoPassword!,
    dataDir,
    pid: child.pid!,
    output: () => out,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
