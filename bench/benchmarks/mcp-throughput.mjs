// 1. Authenticated tools/call throughput and latency vs the same server with auth off, and vs a bare
// SDK server (the floor), at 1, 16 and 64 concurrent clients, each with its own MCP session.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { QUICK, closedLoop, printTable, report, stats, verdict } from '../lib/common.mjs';
import { McpHttpClient } from '../lib/mcp-client.mjs';

const CONCURRENCY = [1, 16, 64];
const WARMUP_MS = QUICK ? 150 : 1500;
const MEASURE_MS = QUICK ? 700 : 6000;
const TARGET_VS_NOAUTH = 0.9;
const TARGET_VS_FLOOR = 0.8;

const child = fork(fileURLToPath(new URL('../lib/mcp-targets.mjs', import.meta.url)), process.argv.includes('--postgres') ? ['--postgres'] : [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const ready = await new Promise((resolve, reject) => {
  child.once('message', resolve);
  child.once('exit', (code) => reject(new Error(`target servers exited (${code}) before they were ready`)));
});

const targets = {
  auth: { label: 'MCP server, auth on', url: ready.targets.auth, token: ready.token, tool: 'get_ticket', args: { ticket_id: ready.ticketId } },
  noauth: { label: 'MCP server, auth off', url: ready.targets.noauth, tool: 'get_ticket', args: { ticket_id: ready.ticketId } },
  floor: { label: 'floor (bare SDK, echo)', url: ready.targets.floor, tool: 'echo', args: { text: 'hello' } },
};

async function measure(target, concurrency) {
  const clients = Array.from({ length: concurrency }, () => new McpHttpClient(target.url, { token: target.token }));
  // Sessions opened 16 at a time (an initialize burst is not what is measured).
  for (let i = 0; i < clients.length; i += 16) await Promise.all(clients.slice(i, i + 16).map((c) => c.initialize()));
  const first = await clients[0].callTool(target.tool, target.args);
  if (!first.content?.length) throw new Error(`${target.label}: empty tool result`);
  const call = (i) => clients[i].callTool(target.tool, target.args);
  await closedLoop({ concurrency, durationMs: WARMUP_MS, fn: call });
  const run = await closedLoop({ concurrency, durationMs: MEASURE_MS, fn: call });
  await Promise.all(clients.map((c) => c.close()));
  if (run.firstError) console.error(`  ${target.label} c=${concurrency}: ${run.errors} errors, first: ${run.firstError.message}`);
  const s = stats(run.latencies);
  return { requests: run.latencies.length, errors: run.errors, rps: run.perSecond, p50: s.p50, p99: s.p99, mean: s.mean };
}

const results = [];
try {
  for (const concurrency of CONCURRENCY) {
    const row = { concurrency };
    // The three targets back to back at each level, so drift on the machine hits them alike.
    for (const [key, target] of Object.entries(targets)) row[key] = await measure(target, concurrency);
    row.vsNoauth = row.auth.rps / row.noauth.rps;
    row.vsFloor = row.auth.rps / row.floor.rps;
    results.push(row);
  }
} finally {
  child.disconnect();
}

const rows = [];
for (const r of results) {
  for (const key of Object.keys(targets)) {
    const m = r[key];
    rows.push([`${r.concurrency}`, targets[key].label, m.rps, m.p50, m.p99, m.requests, m.errors]);
  }
}
printTable(
  `1. tools/call throughput (${ready.database}, ${MEASURE_MS / 1000}s per point after ${WARMUP_MS / 1000}s warm-up; get_ticket ${ready.ticketId} / echo)`,
  ['clients', 'server', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'errors'],
  rows,
);
printTable(
  '   auth-on throughput ratios',
  ['clients', 'vs auth off', 'target', 'verdict', 'vs floor', 'target', 'verdict'],
  results.map((r) => [
    `${r.concurrency}`,
    `${r.vsNoauth.toFixed(2)}×`,
    `≥ ${TARGET_VS_NOAUTH}×`,
    verdict(r.vsNoauth >= TARGET_VS_NOAUTH),
    `${r.vsFloor.toFixed(2)}×`,
    `≥ ${TARGET_VS_FLOOR}×`,
    verdict(r.vsFloor >= TARGET_VS_FLOOR),
  ]),
);

report({
  name: 'mcp-throughput',
  title: 'tools/call throughput, auth on vs auth off vs floor',
  database: ready.database,
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  points: results,
  summary: results.flatMap((r) => [
    { metric: `auth/auth-off req/s, ${r.concurrency} client(s)`, value: `${r.vsNoauth.toFixed(2)}×`, detail: `${Math.round(r.auth.rps)} vs ${Math.round(r.noauth.rps)} req/s`, target: `≥ ${TARGET_VS_NOAUTH}×`, verdict: verdict(r.vsNoauth >= TARGET_VS_NOAUTH) },
    { metric: `auth/floor req/s, ${r.concurrency} client(s)`, value: `${r.vsFloor.toFixed(2)}×`, detail: `${Math.round(r.auth.rps)} vs ${Math.round(r.floor.rps)} req/s`, target: `≥ ${TARGET_VS_FLOOR}×`, verdict: verdict(r.vsFloor >= TARGET_VS_FLOOR) },
  ]),
});
