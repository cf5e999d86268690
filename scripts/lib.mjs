// Shared by the start and test commands: make sure dependencies are installed and the workspace is
// built, using only Node and npm (pnpm is fetched from the npm registry when it is not installed).
import { spawnSync, execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PNPM_VERSION = '10.34.0';

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Node.js >= 20.19 is required (found ${process.versions.node}).`);
    process.exit(1);
  }
}

function pnpmCommand() {
  try {
    const version = execSync('pnpm --version', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (version.startsWith('10.')) return ['pnpm'];
  } catch {
    // not installed: use npx below
  }
  return ['npx', '-y', `pnpm@${PNPM_VERSION}`];
}

export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...process.env, ...options.env },
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

export function pnpm(args, options) {
  const [cmd, ...pre] = pnpmCommand();
  return run(cmd, [...pre, ...args], options);
}

/** Installs dependencies when node_modules is missing or older than the lockfile. */
export function ensureInstalled() {
  const marker = path.join(root, 'node_modules', '.modules.yaml');
  const lock = path.join(root, 'pnpm-lock.yaml');
  const stale = !fs.existsSync(marker) || fs.statSync(marker).mtimeMs < fs.statSync(lock).mtimeMs;
  if (!stale) return;
  console.log('Installing dependencies (pnpm, from the npm registry)…');
  const code = pnpm(['install', '--frozen-lockfile']);
  if (code !== 0) process.exit(code);
}

export function build() {
  const code = pnpm(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
  if (code !== 0) process.exit(code);
}
