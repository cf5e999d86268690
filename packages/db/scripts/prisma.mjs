#!/usr/bin/env node
// Runs Prisma's CLI offline. With `engine: "js"` the native engines are never loaded, but the CLI
// still tries to download them unless these two variables name an existing file.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.resolve(here, '..');
const self = fileURLToPath(import.meta.url);
const env = {
  ...process.env,
  PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? self,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? self,
  // The schema's datasource needs a URL to validate; connections go through prisma.config.ts's adapter.
  PRISMA_CLI_DATABASE_URL: process.env.PRISMA_CLI_DATABASE_URL ?? 'postgresql://embedded/pglite',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
  PRISMA_DISABLE_WARNINGS: '1',
};
const bin = path.join(pkgDir, 'node_modules', '.bin', 'prisma');
const result = spawnSync(bin, [...process.argv.slice(2), '--config', path.join(pkgDir, 'prisma.config.ts')], {
  cwd: pkgDir,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
