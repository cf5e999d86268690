// 6. The embedded database's socket: the same statements from the owner process (in-process, the
// path every request of `npm start` takes) and from another process through the owner's socket (the
// admin CLI's path), in interleaved rounds. The socket is for other processes only: the owner's own
// statements never touch it, so its cost here is the other processes' alone.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations, connectDatabase } from '@mcp-gw/db';
import { QUICK, closedLoop, printTable, report, stats } from '../lib/common.mjs';

const ROUNDS = QUICK ? 1 : 4;
const ROUND_MS = QUICK ? 400 : 2000;
const STATEMENTS = {
  'SELECT 1': ['SELECT 1 AS one', []],
  'user by primary key': ['SELECT id, email, is_admin FROM app_user WHERE id = $1', ['bench-user-500']],
};

if (process.argv[2] === '--through-socket') {
  // The other process: connects through the owner as the admin CLI does, runs what it is told.
  const db = await connectDatabase(`pglite:${process.argv[3]}`, { poolSize: 1 });
  process.on('message', async ({ sql, params, ms }) => {
    await closedLoop({ concurrency: 1, durationMs: Math.min(ms, 200), fn: () => db.query(sql, params) });
    const run = await closedLoop({ concurrency: 1, durationMs: ms, fn: () => db.query(sql, params) });
    process.send({ latencies: run.latencies, errors: run.errors, via: db.owner ? 'owner socket' : 'opened itself' });
  });
  process.send({ ready: true });
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-bench-socket-'));
  const dataDir = path.join(dir, 'pglite');
  const owner = await connectDatabase(`pglite:${dataDir}`, { embedded: 'own', role: 'bench owner' });
  await applyMigrations(owner);
  await owner.execScript(`INSERT INTO app_user (id, email, name, password_hash, is_admin, created_at, updated_at)
    SELECT 'bench-user-' || i, 'u' || i || '@bench.test', 'u' || i, 'x', false, now(), now() FROM generate_series(1, 1000) AS i`);
  const child = fork(fileURLToPath(import.meta.url), ['--through-socket', dataDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  const ask = (sql, params, ms) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({ sql, params, ms });
    });

  const rows = [];
  for (const [label, [sql, params]] of Object.entries(STATEMENTS)) {
    const inProcess = [];
    const socket = [];
    let via = '';
    await closedLoop({ concurrency: 1, durationMs: Math.min(ROUND_MS, 200), fn: () => owner.query(sql, params) });
    for (let round = 0; round < ROUNDS; round++) {
      inProcess.push(...(await closedLoop({ concurrency: 1, durationMs: ROUND_MS, fn: () => owner.query(sql, params) })).latencies);
      const answer = await ask(sql, params, ROUND_MS);
      if (answer.errors) throw new Error(`${answer.errors} errors through the socket`);
      socket.push(...answer.latencies);
      via = answer.via;
    }
    const a = stats(inProcess);
    const b = stats(socket);
    rows.push({ label, inProcessUs: a.p50 * 1000, socketUs: b.p50 * 1000, inProcessP99Us: a.p99 * 1000, socketP99Us: b.p99 * 1000, ratio: a.p50 / b.p50, via, samples: [inProcess.length, socket.length] });
  }
  child.kill();
  await owner.close();
  fs.rmSync(dir, { recursive: true, force: true });

  printTable(
    '6. A statement in the owner process vs from another process through its socket (p50, one at a time)',
    ['statement', 'in-process µs', 'through socket µs', 'p99 in / socket µs', 'in-process / socket', 'samples'],
    rows.map((r) => [r.label, r.inProcessUs.toFixed(0), r.socketUs.toFixed(0), `${r.inProcessP99Us.toFixed(0)} / ${r.socketP99Us.toFixed(0)}`, `${r.ratio.toFixed(2)}×`, r.samples.join(' / ')]),
  );
  report({
    name: 'embedded-socket',
    title: 'Embedded database: in-process vs through the owner socket',
    rows,
    summary: rows.map((r) => ({ metric: `${r.label}: through the socket (${r.via})`, value: `${r.socketUs.toFixed(0)} µs`, detail: `in-process ${r.inProcessUs.toFixed(0)} µs (${r.ratio.toFixed(2)}×)`, target: '-', verdict: '' })),
  });
}
