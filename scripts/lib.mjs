// Shared by every root command (start, test, lint, build, bench, admin…): make sure the exact pnpm of
// `packageManager` is on PATH (fetched from the npm registry when missing), dependencies are installed
// and the workspace is built, using only Node and npm.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The one place that names pnpm's version: package.json's packageManager (a newer pnpm refuses to
// switch to it without a registry signature, so the exact version is what runs).
const PNPM_VERSION = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).packageManager.replace(/^pnpm@/, '');

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`Node.js >= 20.19 is required (found ${process.versions.node}).`);
    process.exit(1);
  }
}

function versionOf(command) {
  const r = spawnSync(command, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'], shell: process.platform === 'win32' });
  return r.status === 0 ? r.stdout.toString().trim() : undefined;
}

let pnpmDir;
/**
 * The folder holding the exact pnpm: the one on PATH when it is that version, else a copy installed
 * once from the npm registry into the user's cache (npm is all a fresh machine has).
 */
function pnpmBinDir() {
  if (pnpmDir !== undefined) return pnpmDir;
  if (versionOf('pnpm') === PNPM_VERSION) return (pnpmDir = '');
  const prefix = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mcp-gw', `pnpm-${PNPM_VERSION}`);
  const bin = path.join(prefix, 'node_modules', '.bin');
  if (versionOf(path.join(bin, 'pnpm')) !== PNPM_VERSION) {
    console.log(`Fetching pnpm ${PNPM_VERSION} from the npm registry into ${prefix}…`);
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, `pnpm@${PNPM_VERSION}`], { stdio: 'inherit' });
    if (r.status !== 0 || versionOf(path.join(bin, 'pnpm')) !== PNPM_VERSION) {
      console.error(`Could not install pnpm ${PNPM_VERSION} with npm (exit ${r.status}).`);
      process.exit(1);
    }
  }
  return (pnpmDir = bin);
}

/** The environment every child gets: the exact pnpm first on PATH, so turbo and scripts find it. */
export function childEnv(extra = {}) {
  const dir = pnpmBinDir();
  const PATH = dir ? `${dir}${path.delimiter}${process.env.PATH ?? ''}` : process.env.PATH;
  return { TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...process.env, PATH, ...extra };
}

export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: options.cwd ?? root, stdio: 'inherit', env: childEnv(options.env) });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

export function pnpm(args, options) {
  const dir = pnpmBinDir();
  return run(dir ? path.join(dir, 'pnpm') : 'pnpm', args, options);
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

/** `turbo run <task>` over the workspace, with the exact pnpm on PATH. */
export function turbo(task, extraArgs = []) {
  return pnpm(['exec', 'turbo', 'run', task, ...extraArgs]);
}

export function build() {
  const code = turbo('build', ['--output-logs=errors-only']);
  if (code !== 0) process.exit(code);
}
