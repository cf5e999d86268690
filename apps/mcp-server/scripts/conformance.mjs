#!/usr/bin/env node
// Runs MCP's conformance suite against the built server (dist/main.js) and fails on anything not in
// conformance/expected-failures.yaml. The suite needs Node 22 and sends no token: it is fetched from
// the npm registry with a Node 22 binary (npx), and the server runs with MCP_AUTH_DISABLED on a
// temporary embedded database, on a free loopback port.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITE_VERSION = '0.1.16';

function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.on('error', () => resolve(1));
    child.on('exit', (c) => resolve(c ?? 1));
  });
}

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(appDir, 'dist/main.js');
if (!fs.existsSync(main)) {
  console.error('dist/main.js is missing: run the build first (pnpm --filter @mcp-gw/mcp-server build)');
  process.exit(2);
}
const port = await new Promise((resolve) => {
  const srv = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-conformance-'));
const url = `http://localhost:${port}/mcp`;
const server = spawn(process.execPath, [main], {
  env: {
    ...process.env,
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `pglite:${path.join(tmp, 'db')}`,
    MCP_RESOURCE_URL: url,
    MCP_AUTH_DISABLED: 'true',
    MCP_AUTH_DISABLED_SUB: 'conformance-user',
    RATE_LIMIT_READ_PER_MINUTE: '100000',
    RATE_LIMIT_WRITE_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let code = 1;
try {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/live`)).ok) break;
    } catch {}
    if (Date.now() > deadline || server.exitCode !== null) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 500));
  }
  // The suite and a Node 22 binary, installed once from the npm registry into a cache folder.
  const tools = path.join(os.tmpdir(), `mcp-gw-conformance-${SUITE_VERSION}`);
  const bin = (name) => path.join(tools, 'node_modules/.bin', name);
  const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_')));
  if (!fs.existsSync(bin('conformance')) || !fs.existsSync(bin('node'))) {
    fs.mkdirSync(tools, { recursive: true });
    fs.writeFileSync(path.join(tools, 'package.json'), '{"private":true}');
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefix', tools, 'node@22', `@modelcontextprotocol/conformance@${SUITE_VERSION}`], npmEnv);
  }
  code = await run(
    bin('node'),
    [bin('conformance'), 'server', '--url', url, '--expected-failures', path.join(appDir, 'conformance/expected-failures.yaml'), '-o', path.join(tmp, 'results')],
    npmEnv,
  );
} catch (err) {
  console.error(err.message);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);
