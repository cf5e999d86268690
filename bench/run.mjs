// The benchmark suite: `pnpm bench` (full) or `pnpm bench --quick` (about a minute, smoke-level
// figures). Builds the workspace first, runs each benchmark in its own Node process (with
// --expose-gc), prints its table, then a summary, and writes bench/results/latest.json.
// Benchmarks are never part of the tests. A missed target prints MISS; the exit code stays 0.
//   --quick          short runs
//   --skip-build     use the existing dist/ folders
//   --only=a,b       run only these benchmarks (mcp-throughput, oauth-flow, tokens, revocation, session-heap, embedded-socket)
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

const BENCHMARKS = ['mcp-throughput', 'oauth-flow', 'tokens', 'revocation', 'session-heap', 'embedded-socket'];

const suiteStarted = performance.now();
if (!args.includes('--skip-build')) {
  const { ensureInstalled, build } = await import('../scripts/lib.mjs');
  ensureInstalled();
  build();
}
const buildMs = performance.now() - suiteStarted;
const { machine, printTable } = await import('./lib/common.mjs');

const info = machine();
const loadAtStart = os.loadavg().map((l) => l.toFixed(2));
console.log(`Benchmarks${quick ? ' (--quick)' : ''} on ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}; load average ${loadAtStart.join(' ')}`);
if (Number(loadAtStart[0]) > info.cores) console.log(`   note: the machine is busy (load ${loadAtStart[0]} on ${info.cores} cores): figures will be low and noisy`);

function runOne(name) {
  return new Promise((resolve) => {
    const started = performance.now();
    let result;
    const child = fork(path.join(here, 'benchmarks', `${name}.mjs`), quick ? ['--quick'] : [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    child.on('message', (m) => {
      if (m?.type === 'result') result = m.result;
    });
    child.on('exit', (code, signal) => {
      const ms = performance.now() - started;
      if (!result) {
        const reason = `benchmark process ended (${signal ?? code}) without a result`;
        console.log(`\n${name}: failed: ${reason}`);
        result = { name, failed: reason, summary: [{ metric: name, value: 'failed', detail: reason, target: '-', verdict: '' }] };
      }
      resolve({ ...result, seconds: Math.round(ms / 100) / 10 });
    });
  });
}

// --quick runs the last two side by side (neither measures throughput; revocation latency may read a
// little high) to stay within a minute; the full run is strictly one benchmark at a time.
const PARALLEL_WHEN_QUICK = ['revocation', 'session-heap'];
const selected = BENCHMARKS.filter((name) => !only || only.includes(name));
const results = [];
for (const name of selected) {
  if (quick && PARALLEL_WHEN_QUICK.includes(name)) continue;
  results.push(await runOne(name));
}
if (quick) results.push(...(await Promise.all(selected.filter((n) => PARALLEL_WHEN_QUICK.includes(n)).map(runOne))));

const summaryRows = results.flatMap((r) => r.summary.map((s) => [s.metric, s.value, s.detail ?? '', s.target ?? '-', s.verdict ?? '']));
printTable('Summary', ['benchmark', 'result', 'detail', 'target', 'verdict'], summaryRows);
const totalSeconds = (performance.now() - suiteStarted) / 1000;
console.log(`\n${results.map((r) => `${r.name} ${r.seconds}s`).join(', ')}; build ${(buildMs / 1000).toFixed(1)}s; total ${totalSeconds.toFixed(1)}s`);

const out = path.join(here, 'results');
fs.mkdirSync(out, { recursive: true });
const document = {
  date: new Date().toISOString(),
  command: `pnpm bench${args.length ? ` ${args.join(' ')}` : ''}`,
  quick,
  machine: { ...info, loadAverageAtStart: loadAtStart.map(Number), loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) },
  buildSeconds: Math.round(buildMs / 100) / 10,
  totalSeconds: Math.round(totalSeconds * 10) / 10,
  results,
};
fs.writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(document, null, 2)}\n`);
console.log(`Results written to ${path.relative(process.cwd(), path.join(out, 'latest.json')) || 'bench/results/latest.json'}`);
// Exit explicitly: the children are gone, nothing here should keep the loop alive, but never hang.
process.exit(0);
