// 1. Authenticated tools/call throughput and latency vs the same server with auth off, and vs a bare
// SDK server (the floor), at 1, 16 and 64 concurrent clients, each with its own MCP session.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { QUICK, closedLoop, printTable, report, stats, verdict } from '../lib/common.mjs';
import { McpHttpClient } from '../lib/mcp-client.mjs';

const CONCURRENCY = [1, 16, 64];
const WARMUP_MS = QUICK ? 150 : 1500;
const MEASURE_MS = QUICK ? 500 : 6000;
const TARGET_VS_NOAUTH = 0.9;
const TARGET_VS_FLOOR = 0.8;

const child = fork(fileURLToPath(new URL('../lib/mcp-targets.mjs', import.meta.url)), process.argv.includes('--postgres') ? ['--postgres'] : [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  // BENCH_PROFILE=1 writes a CPU profile of the servers under load (bench/results/profiles/).
  execArgv: ['--expose-gc', ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('../results/profiles/', import.meta.url))}`] : [])],
});
const ready = await new Promise((resolve, reject) => {
  child.once('message', resolve);
  child.once('exit', (code) => reject(new Error(`target servers exited (${code}) before they were ready`)));
});

// get_ticket reads the database (a realistic call); whoami answers from the token alone, like the
// floor's echo, so whoami vs echo is what the product adds per call (auth, session, limits, telemetry).
const getTicket = { tool: 'get_ticket', args: { ticket_id: ready.ticketId } };
const whoami = { tool: 'whoami', args: {} };
const targets = {
  auth: { label: 'get_ticket, auth on', url: ready.targets.auth, token: ready.token, ...getTicket },
  noauth: { label: 'get_ticket, auth off', url: ready.targets.noauth, ...getTicket },
  authWhoami: { label: 'whoami, auth on', url: ready.targets.auth, token: ready.token, ...whoami },
  noauthWhoami: { label: 'whoami, auth off', url: ready.targets.noauth, ...whoami },
  floor: { label: 'floor (bare SDK, echo)', url: ready.targets.floor, tool: 'echo', args: { text: 'hello' } },
  // Not a target: the bare SDK answering whoami's result under whoami's output schema, so that what the
  // answer itself costs in the SDK is measured apart from what the product adds per call.
  floorAnswer: { label: "bare SDK, whoami's answer", url: ready.targets.floorAnswer, tool: 'answer', args: {} },
};

// Each figure compared with another is measured next to it, the two taking turns to go first; an even
// number of rounds, so each of a pair goes first equally often.
const PAIRS = [
  ['auth', 'noauth'],
  ['authWhoami', 'noauthWhoami'],
  ['floor', 'floorAnswer'],
];
const ROUNDS = QUICK ? 2 : 4;
if (PAIRS.flat().sort().join() !== Object.keys(targets).sort().join()) throw new Error('every target belongs to exactly one pair');

/**
 * A full collection in the servers' process before each slice: otherwise a slice pays for the garbage
 * the slice before it left (the database reads of get_ticket leave a lot), and which target follows
 * which is then part of its figure.
 */
function settle() {
  return ask('settle', 'settled');
}

/** The servers' process CPU time so far (µs, user + system): what a call costs the server, whatever the load generator costs. */
async function serverCpu() {
  const { usage } = await ask('cpu', 'cpu');
  return usage.user + usage.system;
}

function ask(type, answer) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.type !== answer) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
}

async function openClients(target, concurrency) {
  const clients = Array.from({ length: concurrency }, () => new McpHttpClient(target.url, { token: target.token }));
  // Sessions opened 16 at a time (an initialize burst is not what is measured).
  for (let i = 0; i < clients.length; i += 16) await Promise.all(clients.slice(i, i + 16).map((c) => c.initialize()));
  const first = await clients[0].callTool(target.tool, target.args);
  if (!first.content?.length) throw new Error(`${target.label}: empty tool result`);
  return clients;
}

/**
 * Every target at one concurrency: each warmed up, then measured in ROUNDS interleaved slices
 * (A B C D … B A D C …) so that drift on the machine (JIT, GC, other load) falls on all of them alike.
 */
async function measureLevel(concurrency) {
  const entries = Object.entries(targets);
  const open = {};
  for (const [key, target] of entries) {
    open[key] = await openClients(target, concurrency);
    const call = (i) => open[key][i].callTool(target.tool, target.args);
    await closedLoop({ concurrency, durationMs: WARMUP_MS, fn: call });
  }
  const acc = Object.fromEntries(entries.map(([key]) => [key, { latencies: [], errors: 0, elapsedMs: 0, cpuUs: 0, firstError: undefined }]));
  for (let round = 0; round < ROUNDS; round++) {
    // What ran just before a slice moves its figure: whoami measured right after get_ticket (the
    // database read leaves the process in another state, even after a full GC) read 5-8 % lower than
    // after another whoami. So a pair's two slices run back to back, swapped every other round: each of
    // the two follows the same neighbours as often as the other, and the pair's ratio carries no order.
    const order = PAIRS.map((pair) => (round % 2 === 0 ? pair : [...pair].reverse())).flat().map((key) => [key, targets[key]]);
    for (const [key, target] of order) {
      const call = (i) => open[key][i].callTool(target.tool, target.args);
      await settle();
      const cpuBefore = await serverCpu();
      const run = await closedLoop({ concurrency, durationMs: MEASURE_MS / ROUNDS, fn: call });
      acc[key].cpuUs += (await serverCpu()) - cpuBefore;
      acc[key].latencies.push(...run.latencies);
      acc[key].errors += run.errors;
      acc[key].elapsedMs += run.elapsedMs;
      acc[key].firstError ??= run.firstError;
    }
  }
  const row = { concurrency };
  for (const [key, target] of entries) {
    await Promise.all(open[key].map((c) => c.close()));
    const a = acc[key];
    if (a.firstError) console.error(`  ${target.label} c=${concurrency}: ${a.errors} errors, first: ${a.firstError.message}`);
    const s = stats(a.latencies);
    row[key] = { requests: a.latencies.length, errors: a.errors, rps: (a.latencies.length / a.elapsedMs) * 1000, p50: s.p50, p99: s.p99, mean: s.mean, serverCpuUs: a.cpuUs / a.latencies.length };
  }
  return row;
}

const results = [];
try {
  for (const concurrency of CONCURRENCY) {
    const row = await measureLevel(concurrency);
    row.vsNoauth = row.auth.rps / row.noauth.rps;
    row.whoamiVsNoauth = row.authWhoami.rps / row.noauthWhoami.rps;
    row.vsFloor = row.authWhoami.rps / row.floor.rps;
    row.answerVsFloor = row.floorAnswer.rps / row.floor.rps;
    row.vsFloorAnswer = row.authWhoami.rps / row.floorAnswer.rps;
    row.getTicketVsFloor = row.auth.rps / row.floor.rps;
    results.push(row);
  }
} finally {
  child.disconnect();
}

const rows = [];
for (const r of results) {
  for (const key of Object.keys(targets)) {
    const m = r[key];
    rows.push([`${r.concurrency}`, targets[key].label, m.rps, m.p50, m.p99, Math.round(m.serverCpuUs), m.requests, m.errors]);
  }
}
printTable(
  `1. tools/call throughput (${ready.database}, ${MEASURE_MS / 1000}s per point in ${ROUNDS} interleaved rounds after ${WARMUP_MS / 1000}s warm-up, a full GC in the servers before each slice, compared servers side by side taking turns to go first; get_ticket ${ready.ticketId}, whoami, echo, whoami's answer on the bare SDK)`,
  ['clients', 'server', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/call', 'requests', 'errors'],
  rows,
);
printTable(
  '   auth-on throughput ratios',
  ['clients', 'get_ticket vs auth off', 'whoami vs auth off', `target`, 'whoami vs floor', 'target', "SDK's whoami answer vs floor", "whoami vs SDK's same answer", 'get_ticket vs floor'],
  results.map((r) => [
    `${r.concurrency}`,
    `${r.vsNoauth.toFixed(2)}× ${verdict(r.vsNoauth >= TARGET_VS_NOAUTH)}`,
    `${r.whoamiVsNoauth.toFixed(2)}× ${verdict(r.whoamiVsNoauth >= TARGET_VS_NOAUTH)}`,
    `≥ ${TARGET_VS_NOAUTH}×`,
    `${r.vsFloor.toFixed(2)}× ${verdict(r.vsFloor >= TARGET_VS_FLOOR)}`,
    `≥ ${TARGET_VS_FLOOR}×`,
    `${r.answerVsFloor.toFixed(2)}×`,
    `${r.vsFloorAnswer.toFixed(2)}×`,
    `${r.getTicketVsFloor.toFixed(2)}× (database read)`,
  ]),
);
console.log(
  "   whoami vs floor = (the bare SDK's cost of whoami's answer: SDK's whoami answer vs floor) × (what the product adds per call: whoami vs SDK's same answer)",
);

report({
  name: 'mcp-throughput',
  title: 'tools/call throughput, auth on vs auth off vs floor',
  database: ready.database,
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  points: results,
  summary: results.flatMap((r) => [
    { metric: `get_ticket auth/auth-off, ${r.concurrency} client(s)`, value: `${r.vsNoauth.toFixed(2)}×`, detail: `${Math.round(r.auth.rps)} vs ${Math.round(r.noauth.rps)} req/s`, target: `≥ ${TARGET_VS_NOAUTH}×`, verdict: verdict(r.vsNoauth >= TARGET_VS_NOAUTH) },
    { metric: `whoami auth/auth-off, ${r.concurrency} client(s)`, value: `${r.whoamiVsNoauth.toFixed(2)}×`, detail: `${Math.round(r.authWhoami.rps)} vs ${Math.round(r.noauthWhoami.rps)} req/s`, target: `≥ ${TARGET_VS_NOAUTH}×`, verdict: verdict(r.whoamiVsNoauth >= TARGET_VS_NOAUTH) },
    { metric: `whoami auth/floor echo, ${r.concurrency} client(s)`, value: `${r.vsFloor.toFixed(2)}×`, detail: `${Math.round(r.authWhoami.rps)} vs ${Math.round(r.floor.rps)} req/s`, target: `≥ ${TARGET_VS_FLOOR}×`, verdict: verdict(r.vsFloor >= TARGET_VS_FLOOR) },
    { metric: `whoami auth/bare SDK same answer, ${r.concurrency} client(s)`, value: `${r.vsFloorAnswer.toFixed(2)}×`, detail: `${Math.round(r.authWhoami.rps)} vs ${Math.round(r.floorAnswer.rps)} req/s; that answer on the bare SDK ${r.answerVsFloor.toFixed(2)}× echo`, target: '-', verdict: '' },
  ]),
});
