#!/usr/bin/env node
// Summarises a V8 .cpuprofile (BENCH_PROFILE=1 writes one per target's last measured slice to
// bench/results/profiles/, with a .meta.json beside it giving the calls it served): where the main
// thread's time went, by phase of a call (rules below, first match wins), by package or area (self
// time) and by function (self time), per call when the calls are known. With a second profile
// (--vs=<file>) the phases and areas are set side by side, the difference per call last: where the
// difference between two kinds of call goes.
//   node bench/lib/profile-summary.mjs <file.cpuprofile> [--vs=<other.cpuprofile>] [--top=20] [--inclusive=name,name@file]
// --inclusive: the time under frames of that name (optionally @ part of their file), counted once per
// sample: the synchronous part only (after an await, the rest runs under the microtask that resumed it).
import fs from 'node:fs';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const opt = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
if (!files[0]) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [--vs=<other.cpuprofile>] [--top=N] [--inclusive=name,name@file]');
  process.exit(2);
}
const top = Number(opt('top') ?? 20);
const inclusive = opt('inclusive')?.split(',').filter(Boolean) ?? [];

/** The package or area a frame belongs to. */
function area({ url, functionName }) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const mcp = /@modelcontextprotocol\+(sdk|server|core|node)@([^/_]+)/.exec(url);
  if (mcp) return `@modelcontextprotocol/${mcp[1]}@${mcp[2]}`;
  const nm = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return nm[1];
  const app = /\/(apps|packages)\/([^/]+)\/(?:dist|src)\/(.*)$/.exec(url);
  if (app) return `${app[2]}/${app[3].split('/').slice(0, -1).join('/') || '.'}`;
  const bench = /\/bench\/(.*)$/.exec(url);
  return bench ? `bench/${bench[1]}` : url;
}

const fn = (name) => (frames) => frames.some((f) => f.functionName === name);
const leafIn = (...prefixes) => (frames) => prefixes.some((p) => area(frames[0]).startsWith(p));
/**
 * Phases of a call, first match wins: the stack ones first (a frame anywhere in the sample's stack),
 * then by the sample's own frame (its area).
 */
const PHASES = [
  ['SDK 2.x: JSON Schema of the called tool, per request (toolInputSchemaJson)', fn('toolInputSchemaJson')],
  ['per-request McpServer construction (factory, registerTool…)', (f) => f.some((x) => ['buildModernServer', 'buildFloorServer', 'buildServer'].includes(x.functionName))],
  ['Node request → web Request (Headers, Request, body)', (f) => f.some((x) => ['webHeaders', 'toWebRequest', '_Request', 'clone'].includes(x.functionName))],
  ['garbage collection', (f) => f[0].functionName === '(garbage collector)'],
  ['zod (validation, other)', leafIn('zod')],
  ['HTTP parse and response write (node:http, net, streams, syscalls)', (f) => leafIn('node:_http', 'node:net', 'node:internal/stream_base_commons', 'node:internal/streams', 'node:events')(f) || ['writev', 'writeUtf8String', 'writeBuffer', 'writeLatin1String'].includes(f[0].functionName)],
  ['web streams, undici Request/Response, AbortSignal, DOMException', leafIn('node:internal/webstreams', 'node:internal/deps', 'node:internal/abort_controller', 'node:internal/per_context', 'node:internal/event_target', 'node:internal/worker')],
  ['SDK 2.x (handler, protocol, server; own frames)', leafIn('@modelcontextprotocol/server', '@modelcontextprotocol/core', '@modelcontextprotocol/node')],
  ['SDK 1.x (transport, protocol, server; own frames)', leafIn('@modelcontextprotocol/sdk')],
  ['the product (auth, endpoint, era dispatch, tools, limits, telemetry)', leafIn('mcp-server/', 'shared/', 'rate-limiter-flexible', 'prom-client', '@opentelemetry', 'jose', 'proxy-addr', 'pino')],
  ['promises, async hooks, microtasks', (f) => leafIn('node:internal/async_hooks', 'node:async_hooks', 'node:internal/process')(f) || ['runMicrotasks', '(program)'].includes(f[0].functionName)],
  ['other', () => true],
];

function load(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const metaFile = file.replace(/\.cpuprofile$/, '.meta.json');
  const meta = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, 'utf8')) : undefined;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const stackOf = (id) => {
    const frames = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) frames.push(byId.get(cur).callFrame);
    return frames; // leaf first
  };
  const busy = [...selfUs].filter(([id]) => byId.get(id).callFrame.functionName !== '(idle)');
  const busyUs = busy.reduce((a, [, us]) => a + us, 0);
  const sum = (keyOf) => {
    const out = new Map();
    for (const [id, us] of busy) {
      const key = keyOf(id);
      if (key !== undefined) out.set(key, (out.get(key) ?? 0) + us);
    }
    return out;
  };
  const phases = sum((id) => {
    const frames = stackOf(id);
    return PHASES.find(([, match]) => match(frames))[0];
  });
  const areas = sum((id) => area(byId.get(id).callFrame));
  const functions = sum((id) => {
    const cf = byId.get(id).callFrame;
    const where = cf.url ? ` ${cf.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '').replace(/.*\/(apps|packages)\//, '')}:${cf.lineNumber + 1}` : '';
    return `${cf.functionName || '(anonymous)'}${where}`;
  });
  const under = (spec) => {
    const [name, file] = spec.split('@');
    let us = 0;
    for (const [id, t] of busy) if (stackOf(id).some((f) => f.functionName === name && (!file || f.url.includes(file)))) us += t;
    return us;
  };
  // Per call when the calls are known (main-thread time; the process CPU per call, GC threads and all, is meta.serverCpuUs / calls).
  const scale = meta?.calls ? 1 / meta.calls : 1 / busyUs;
  return { file, meta, busyUs, phases, areas, functions, under, scale, unit: meta?.calls ? 'µs/call' : 'share' };
}

const a = load(files[0]);
const b = opt('vs') ? load(opt('vs')) : undefined;
const fmt = (p, us) => (p.unit === 'share' ? `${((us * p.scale) * 100).toFixed(1)} %` : `${(us * p.scale).toFixed(0)}`);
const describe = (p) =>
  `${p.file}: ${(p.busyUs / 1000).toFixed(0)} ms busy${p.meta ? `, ${p.meta.calls} calls (${p.meta.target}, ${p.meta.concurrency} clients): ${(p.busyUs / p.meta.calls).toFixed(0)} µs main thread per call, ${(p.meta.serverCpuUs / p.meta.calls).toFixed(0)} µs process CPU per call` : ''}`;
console.log(describe(a));
if (b) console.log(`vs ${describe(b)}`);

function table(title, key, limit) {
  const names = [...new Set([...a[key].keys(), ...(b ? b[key].keys() : [])])];
  const value = (p, n) => p[key].get(n) ?? 0;
  const order = b ? (n) => -Math.abs(value(a, n) * a.scale - value(b, n) * b.scale) : (n) => -value(a, n);
  names.sort((x, y) => order(x) - order(y));
  console.log(`\n${title} (${a.unit}${b ? `: A, B, A − B` : ''})`);
  for (const n of names.slice(0, limit)) {
    const cols = [fmt(a, value(a, n))];
    if (b) cols.push(fmt(b, value(b, n)), a.unit === 'share' ? '' : `${(value(a, n) * a.scale - value(b, n) * b.scale).toFixed(0)}`);
    console.log(`  ${cols.map((c) => c.padStart(8)).join(' ')}  ${n}`);
  }
}
table('by phase of a call', 'phases', PHASES.length);
table('self time by area', 'areas', top);
table('self time by function', 'functions', top);
if (inclusive.length) {
  console.log(`\ninclusive, synchronous part (${a.unit}${b ? ': A, B' : ''})`);
  for (const spec of inclusive) console.log(`  ${[fmt(a, a.under(spec)), ...(b ? [fmt(b, b.under(spec))] : [])].map((c) => c.padStart(8)).join(' ')}  ${spec}`);
}
