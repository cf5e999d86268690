// 1. Authenticated tools/call throughput and latency vs the same server with auth off, and vs a bare
// SDK server (the floor), at 1, 16 and 64 concurrent clients, each with its own MCP session; and the
// 2026-07-28 stateless requests (no initialize, no session) on the same servers at 16 and 64 clients,
// against the session path and against a bare SDK 2.x createMcpHandler server (the v2 floor).
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUICK, closedLoop, printTable, report, stats, verdict } from '../lib/common.mjs';
import { McpHttpClient } from '../lib/mcp-client.mjs';
import { StatelessMcpClient } from '../lib/stateless-client.mjs';
import { dpopKeyFrom } from '../lib/dpop.mjs';

const CONCURRENCY = [1, 16, 64];
const WARMUP_MS = QUICK ? 150 : 1500;
const MEASURE_MS = QUICK ? 500 : 6000;
const TARGET_VS_NOAUTH = 0.9;
const TARGET_VS_FLOOR = 0.8;
// 2026-07-28: stateless whoami with auth vs SDK 2.x's bare createMcpHandler answering the same result.
const TARGET_STATELESS_VS_V2_FLOOR = 0.8;
// DPoP: an EC signature checked (and one made by the client) per request; whoami DPoP vs Bearer.
const TARGET_DPOP_VS_BEARER = 0.8;
// The stateless rows run at 16 and 64 clients only, to keep the suite's run time: whoami with auth and
// the v2 floor answering whoami's result (the target) at both; the v2 echo floor (16 connections, as
// the issue measured it), get_ticket (bound by the database read, the same at 16 and 64 clients) and
// whoami with auth off at 16.
const STATELESS_LEVELS = [16, 64];

// BENCH_PROFILE=1 writes a CPU profile of the servers under load (bench/results/profiles/), the whole
// run, and one of each target's last measured slice (c<clients>-<target>.cpuprofile; summarise one
// with `node bench/lib/profile-summary.mjs <file>`).
const PROFILE_DIR = process.env.BENCH_PROFILE ? fileURLToPath(new URL('../results/profiles/', import.meta.url)) : undefined;
const child = fork(fileURLToPath(new URL('../lib/mcp-targets.mjs', import.meta.url)), process.argv.includes('--postgres') ? ['--postgres'] : [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  execArgv: ['--expose-gc', ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])],
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
  // The same call by a DPoP client: a proof signed (client) and checked (server) on every request.
  authWhoamiDpop: { label: 'whoami, auth on, DPoP', url: ready.targets.auth, token: ready.dpop.token, dpop: dpopKeyFrom(ready.dpop.privateJwk), levels: [16], ...whoami },
  noauthWhoami: { label: 'whoami, auth off', url: ready.targets.noauth, ...whoami },
  floor: { label: 'floor (bare SDK, echo)', url: ready.targets.floor, tool: 'echo', args: { text: 'hello' } },
  // Not a target: the bare SDK answering whoami's result under whoami's output schema, so that what the
  // answer itself costs in the SDK is measured apart from what the product adds per call.
  floorAnswer: { label: "bare SDK, whoami's answer", url: ready.targets.floorAnswer, tool: 'answer', args: {} },
  // 2026-07-28 stateless requests: each call a plain POST with its own envelope, no session.
  statelessGetTicket: { label: 'get_ticket, auth on, stateless', url: ready.targets.auth, token: ready.token, stateless: true, levels: [16], ...getTicket },
  statelessWhoami: { label: 'whoami, auth on, stateless', url: ready.targets.auth, token: ready.token, stateless: true, levels: STATELESS_LEVELS, ...whoami },
  statelessWhoamiNoauth: { label: 'whoami, auth off, stateless', url: ready.targets.noauth, stateless: true, levels: [16], ...whoami },
  floorV2: { label: 'v2 floor (bare SDK 2.x, echo)', url: ready.targets.floorV2, stateless: true, levels: [16], tool: 'echo', args: { text: 'hello' } },
  // Not a target: the new floor, answering whoami's result under whoami's output schema.
  floorV2Answer: { label: "bare SDK 2.x, whoami's answer", url: ready.targets.floorV2Answer, stateless: true, levels: STATELESS_LEVELS, tool: 'answer', args: {} },
};
const atLevel = (key, concurrency) => !targets[key].levels || targets[key].levels.includes(concurrency);

// The v2 floor's answer is whoami's: same content and structured content as the product's stateless
// whoami (the SDK adds resultType and its serverInfo _meta to both).
{
  const answerOf = async (target) => {
    const client = new StatelessMcpClient(target.url, { token: target.token });
    const { content, structuredContent } = await client.callTool(target.tool, target.args);
    await client.close();
    return JSON.stringify({ content, structuredContent });
  };
  if ((await answerOf(targets.statelessWhoami)) !== (await answerOf(targets.floorV2Answer))) throw new Error("the v2 floor's answer differs from stateless whoami's result");
}

// Each figure compared with another is measured next to it, the two taking turns to go first; an even
// number of rounds, so each of a pair goes first equally often. A group runs back to back, forward
// then reversed. The stateless rows sit inside the session pairs (at 1 client, where they are not
// measured, the groups are the session path's three pairs exactly): each stateless row runs right
// after or before its session counterpart, and the session pair's ends stay as they were, each
// following the group before (get_ticket, for the whoami pair; see measureLevel) as often as the other.
const GROUPS = [
  ['auth', 'statelessGetTicket', 'noauth'],
  ['authWhoami', 'authWhoamiDpop', 'statelessWhoami', 'statelessWhoamiNoauth', 'noauthWhoami'],
  ['floor', 'floorAnswer'],
  ['floorV2', 'floorV2Answer'],
];
const ROUNDS = QUICK ? 2 : 4;
if (GROUPS.flat().sort().join() !== Object.keys(targets).sort().join()) throw new Error('every target belongs to exactly one group');

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

function ask(type, answer, extra = {}) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.type !== answer) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.send({ type, ...extra });
  });
}

async function openClients(target, concurrency) {
  const Client = target.stateless ? StatelessMcpClient : McpHttpClient;
  const clients = Array.from({ length: concurrency }, () => new Client(target.url, { token: target.token, dpop: target.dpop }));
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
  const entries = Object.entries(targets).filter(([key]) => atLevel(key, concurrency));
  const open = {};
  for (const [key, target] of entries) {
    open[key] = await openClients(target, concurrency);
    const call = (i) => open[key][i].callTool(target.tool, target.args);
    await closedLoop({ concurrency, durationMs: WARMUP_MS, fn: call });
  }
  const acc = Object.fromEntries(entries.map(([key]) => [key, { latencies: [], errors: 0, elapsedMs: 0, cpuUs: 0, loadCpuUs: 0, firstError: undefined }]));
  for (let round = 0; round < ROUNDS; round++) {
    // What ran just before a slice moves its figure: whoami measured right after get_ticket (the
    // database read leaves the process in another state, even after a full GC) read 5-8 % lower than
    // after another whoami. So a pair's two slices run back to back, swapped every other round: each of
    // the two follows the same neighbours as often as the other, and the pair's ratio carries no order.
    const order = GROUPS.map((group) => group.filter((key) => atLevel(key, concurrency)))
      .map((group) => (round % 2 === 0 ? group : [...group].reverse()))
      .flat()
      .map((key) => [key, targets[key]]);
    for (const [key, target] of order) {
      const call = (i) => open[key][i].callTool(target.tool, target.args);
      await settle();
      // BENCH_PROFILE: the last round's slice of each target is also profiled on its own.
      const profiled = PROFILE_DIR && round === ROUNDS - 1;
      if (profiled) await ask('profile-start', 'profiling');
      const cpuBefore = await serverCpu();
      const loadBefore = process.cpuUsage();
      const run = await closedLoop({ concurrency, durationMs: MEASURE_MS / ROUNDS, fn: call });
      const load = process.cpuUsage(loadBefore);
      const cpuUs = (await serverCpu()) - cpuBefore;
      acc[key].cpuUs += cpuUs;
      acc[key].loadCpuUs += load.user + load.system;
      if (profiled) {
        const meta = { target: target.label, concurrency, calls: run.latencies.length, elapsedMs: run.elapsedMs, serverCpuUs: cpuUs };
        await ask('profile-stop', 'profiled', { file: path.join(PROFILE_DIR, `c${concurrency}-${key}.cpuprofile`), meta });
      }
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
    row[key] = { requests: a.latencies.length, errors: a.errors, rps: (a.latencies.length / a.elapsedMs) * 1000, p50: s.p50, p99: s.p99, mean: s.mean, serverCpuUs: a.cpuUs / a.latencies.length, loadCpuUs: a.loadCpuUs / a.latencies.length };
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
    if (row.statelessWhoami) {
      row.statelessVsFloorV2Answer = row.statelessWhoami.rps / row.floorV2Answer.rps;
      row.statelessVsSession = row.statelessWhoami.rps / row.authWhoami.rps;
      row.floorV2AnswerVsFloorAnswer = row.floorV2Answer.rps / row.floorAnswer.rps;
      if (row.statelessWhoamiNoauth) row.statelessWhoamiVsNoauth = row.statelessWhoami.rps / row.statelessWhoamiNoauth.rps;
      if (row.floorV2) {
        row.statelessVsFloorV2 = row.statelessWhoami.rps / row.floorV2.rps;
        row.floorV2AnswerVsFloorV2 = row.floorV2Answer.rps / row.floorV2.rps;
        row.floorV2VsFloor = row.floorV2.rps / row.floor.rps;
      }
    }
    if (row.statelessGetTicket) row.statelessGetTicketVsSession = row.statelessGetTicket.rps / row.auth.rps;
    if (row.authWhoamiDpop) row.dpopVsBearer = row.authWhoamiDpop.rps / row.authWhoami.rps;
    results.push(row);
  }
} finally {
  child.disconnect();
}

const rows = [];
for (const r of results) {
  for (const key of Object.keys(targets)) {
    const m = r[key];
    if (!m) continue;
    rows.push([`${r.concurrency}`, targets[key].label, m.rps, m.p50, m.p99, Math.round(m.serverCpuUs), m.requests, m.errors]);
  }
}
printTable(
  `1. tools/call throughput (${ready.database}, ${MEASURE_MS / 1000}s per point in ${ROUNDS} interleaved rounds after ${WARMUP_MS / 1000}s warm-up, a full GC in the servers before each slice, compared servers side by side taking turns to go first; get_ticket ${ready.ticketId}, whoami, echo, whoami's answer on the bare SDK; 2026-07-28 stateless whoami with auth and the SDK 2.x floor answering whoami's result at ${STATELESS_LEVELS.join(' and ')} clients; the SDK 2.x echo floor, stateless get_ticket and stateless whoami auth off at 16)`,
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

// 2026-07-28: the stateless rows beside their session (or SDK 1.x) counterparts, measured in the same slices.
const SIDE_BY_SIDE = [
  ['whoami, auth on', 'statelessWhoami', 'authWhoami'],
  ['whoami, auth off', 'statelessWhoamiNoauth', 'noauthWhoami'],
  ['get_ticket, auth on', 'statelessGetTicket', 'auth'],
  ['floor echo (SDK 2.x vs 1.x)', 'floorV2', 'floor'],
  ["floor, whoami's answer (SDK 2.x vs 1.x)", 'floorV2Answer', 'floorAnswer'],
];
const withStateless = results.filter((r) => r.statelessWhoami);
printTable(
  '   2026-07-28 stateless vs 2025-era session, side by side (server CPU per call in µs)',
  ['clients', 'call', 'stateless req/s', 'p50 ms', 'p99 ms', 'CPU µs', 'session req/s', 'p50 ms', 'p99 ms', 'CPU µs', 'stateless/session', 'CPU Δ µs'],
  withStateless.flatMap((r) =>
    SIDE_BY_SIDE.filter(([, a, b]) => r[a] && r[b]).map(([label, a, b]) => [
      `${r.concurrency}`,
      label,
      r[a].rps,
      r[a].p50,
      r[a].p99,
      Math.round(r[a].serverCpuUs),
      r[b].rps,
      r[b].p50,
      r[b].p99,
      Math.round(r[b].serverCpuUs),
      `${(r[a].rps / r[b].rps).toFixed(2)}×`,
      `${r[a].serverCpuUs >= r[b].serverCpuUs ? '+' : ''}${Math.round(r[a].serverCpuUs - r[b].serverCpuUs)}`,
    ]),
  ),
);
printTable(
  '   2026-07-28 throughput ratios (stateless whoami with auth)',
  ['clients', "vs v2 floor's same answer", 'target', 'vs v2 floor echo', "v2 floor's whoami answer vs v2 echo", 'vs stateless auth off', 'vs session whoami', 'stateless/session get_ticket', 'v2 floor echo vs 1.x floor echo', "v2 vs 1.x floor, whoami's answer"],
  withStateless.map((r) => {
    const x = (v) => (v === undefined ? '-' : `${v.toFixed(2)}×`);
    return [
      `${r.concurrency}`,
      `${x(r.statelessVsFloorV2Answer)} ${verdict(r.statelessVsFloorV2Answer >= TARGET_STATELESS_VS_V2_FLOOR)}`,
      `≥ ${TARGET_STATELESS_VS_V2_FLOOR}×`,
      x(r.statelessVsFloorV2),
      x(r.floorV2AnswerVsFloorV2),
      x(r.statelessWhoamiVsNoauth),
      x(r.statelessVsSession),
      x(r.statelessGetTicketVsSession),
      x(r.floorV2VsFloor),
      x(r.floorV2AnswerVsFloorAnswer),
    ];
  }),
);
console.log(
  "   stateless whoami vs v2 floor echo = (SDK 2.x's cost of whoami's answer: v2 floor's whoami answer vs v2 echo) × (what the product adds per call: vs v2 floor's same answer)",
);

const withDpop = results.filter((r) => r.authWhoamiDpop);
printTable(
  '   DPoP (RFC 9449) vs Bearer: whoami with auth on a session, a fresh proof per request (CPU per call in µs: the servers, and the load generator that signs the proofs)',
  ['clients', 'DPoP req/s', 'p50 ms', 'p99 ms', 'CPU µs', 'load µs', 'Bearer req/s', 'p50 ms', 'p99 ms', 'CPU µs', 'load µs', 'DPoP/Bearer', 'target'],
  withDpop.map((r) => [
    `${r.concurrency}`,
    r.authWhoamiDpop.rps,
    r.authWhoamiDpop.p50,
    r.authWhoamiDpop.p99,
    Math.round(r.authWhoamiDpop.serverCpuUs),
    Math.round(r.authWhoamiDpop.loadCpuUs),
    r.authWhoami.rps,
    r.authWhoami.p50,
    r.authWhoami.p99,
    Math.round(r.authWhoami.serverCpuUs),
    Math.round(r.authWhoami.loadCpuUs),
    `${r.dpopVsBearer.toFixed(2)}× ${verdict(r.dpopVsBearer >= TARGET_DPOP_VS_BEARER)}`,
    `≥ ${TARGET_DPOP_VS_BEARER}×`,
  ]),
);

const callFigures = (m) => `${Math.round(m.rps)} req/s, p50 ${m.p50.toFixed(1)} / p99 ${m.p99.toFixed(1)} ms, ${Math.round(m.serverCpuUs)} µs CPU/call`;
function statelessSummary(r) {
  const n = `${r.concurrency} client(s)`;
  return [
    {
      metric: `stateless whoami auth/v2 floor same answer, ${n}`,
      value: `${r.statelessVsFloorV2Answer.toFixed(2)}×`,
      detail: `${Math.round(r.statelessWhoami.rps)} vs ${Math.round(r.floorV2Answer.rps)} req/s${r.floorV2 ? `; that answer on SDK 2.x ${r.floorV2AnswerVsFloorV2.toFixed(2)}× its echo (${Math.round(r.floorV2.rps)} req/s)` : ''}`,
      target: `≥ ${TARGET_STATELESS_VS_V2_FLOOR}×`,
      verdict: verdict(r.statelessVsFloorV2Answer >= TARGET_STATELESS_VS_V2_FLOOR),
    },
    { metric: `stateless/session whoami auth, ${n}`, value: `${r.statelessVsSession.toFixed(2)}×`, detail: `${callFigures(r.statelessWhoami)} vs ${callFigures(r.authWhoami)}`, target: '-', verdict: '' },
    ...(r.statelessGetTicket
      ? [{ metric: `stateless/session get_ticket auth, ${n}`, value: `${r.statelessGetTicketVsSession.toFixed(2)}×`, detail: `${callFigures(r.statelessGetTicket)} vs ${callFigures(r.auth)}`, target: '-', verdict: '' }]
      : []),
    ...(r.statelessWhoamiNoauth
      ? [{ metric: `stateless whoami auth/auth-off, ${n}`, value: `${r.statelessWhoamiVsNoauth.toFixed(2)}×`, detail: `${Math.round(r.statelessWhoami.rps)} vs ${Math.round(r.statelessWhoamiNoauth.rps)} req/s`, target: '-', verdict: '' }]
      : []),
    ...(r.floorV2
      ? [{ metric: `v2 floor echo/1.x floor echo, ${n}`, value: `${r.floorV2VsFloor.toFixed(2)}×`, detail: `${callFigures(r.floorV2)} vs ${callFigures(r.floor)}`, target: '-', verdict: '' }]
      : []),
  ];
}

report({
  name: 'mcp-throughput',
  title: 'tools/call throughput, auth on vs auth off vs floor; 2026-07-28 stateless vs session vs the SDK 2.x floor',
  database: ready.database,
  warmupMs: WARMUP_MS,
  measureMs: MEASURE_MS,
  points: results,
  labels: Object.fromEntries(Object.entries(targets).map(([key, t]) => [key, t.label])),
  summary: results.flatMap((r) => [
    { metric: `get_ticket auth/auth-off, ${r.concurrency} client(s)`, value: `${r.vsNoauth.toFixed(2)}×`, detail: `${Math.round(r.auth.rps)} vs ${Math.round(r.noauth.rps)} req/s`, target: `≥ ${TARGET_VS_NOAUTH}×`, verdict: verdict(r.vsNoauth >= TARGET_VS_NOAUTH) },
    { metric: `whoami auth/auth-off, ${r.concurrency} client(s)`, value: `${r.whoamiVsNoauth.toFixed(2)}×`, detail: `${Math.round(r.authWhoami.rps)} vs ${Math.round(r.noauthWhoami.rps)} req/s`, target: `≥ ${TARGET_VS_NOAUTH}×`, verdict: verdict(r.whoamiVsNoauth >= TARGET_VS_NOAUTH) },
    { metric: `whoami auth/floor echo, ${r.concurrency} client(s)`, value: `${r.vsFloor.toFixed(2)}×`, detail: `${Math.round(r.authWhoami.rps)} vs ${Math.round(r.floor.rps)} req/s`, target: `≥ ${TARGET_VS_FLOOR}×`, verdict: verdict(r.vsFloor >= TARGET_VS_FLOOR) },
    { metric: `whoami auth/bare SDK same answer, ${r.concurrency} client(s)`, value: `${r.vsFloorAnswer.toFixed(2)}×`, detail: `${Math.round(r.authWhoami.rps)} vs ${Math.round(r.floorAnswer.rps)} req/s; that answer on the bare SDK ${r.answerVsFloor.toFixed(2)}× echo`, target: '-', verdict: '' },
    ...(r.statelessWhoami ? statelessSummary(r) : []),
    ...(r.authWhoamiDpop
      ? [{ metric: `whoami DPoP/Bearer, ${r.concurrency} clients`, value: `${r.dpopVsBearer.toFixed(2)}×`, detail: `${callFigures(r.authWhoamiDpop)} vs ${callFigures(r.authWhoami)}`, target: `≥ ${TARGET_DPOP_VS_BEARER}×`, verdict: verdict(r.dpopVsBearer >= TARGET_DPOP_VS_BEARER) }]
      : []),
  ]),
});
