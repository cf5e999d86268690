// Shared helpers for the benchmark children: flags, statistics, tables, verdicts, service probes.
import net from 'node:net';
import os from 'node:os';

export const QUICK = process.argv.includes('--quick');
export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

// Servers started by the benchmarks log nothing (their own logging would be part of the cost otherwise).
process.env.TEST_LOG_LEVEL ??= 'silent';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sorted-copy percentile (nearest rank); values in the caller's unit. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function stats(values) {
  if (values.length === 0) return { n: 0, mean: NaN, p50: NaN, p99: NaN, max: NaN, min: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return { n: sorted.length, mean: sum / sorted.length, p50: at(50), p99: at(99), max: sorted[sorted.length - 1], min: sorted[0] };
}

export function fmt(value, digits = 1) {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

/** Prints a fixed-width table: columns is a list of header names, rows a list of arrays. */
export function printTable(title, columns, rows) {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : String(c ?? '-'))));
  const widths = columns.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

/** "0.93× PASS (target ≥ 0.9×)" style verdicts. Misses never fail the run. */
export function verdict(ok) {
  return ok ? 'PASS' : 'MISS';
}

/** Whether a TCP service answers on host:port within the timeout. */
export function tcpReachable(url, defaultPort, timeoutMs = 1500) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** PostgreSQL reachable and accepting our user (a real query), or the reason it is not. */
export async function postgresProblem(url = PG_URL) {
  if (!(await tcpReachable(url, 5432))) return `PostgreSQL not reachable at ${new URL(url).host}`;
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.query('SELECT 1');
    await client.end();
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${new URL(url).host}: ${err.message}`;
  }
}

/** Redis answering PING, or the reason it is not. */
export function redisProblem(url = REDIS_URL) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (problem) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(1500, () => done(`Redis at ${u.host} did not answer`));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG') ? undefined : `Redis at ${u.host} answered ${d.toString().trim()}`));
    socket.once('error', (err) => done(`Redis not reachable at ${u.host} (${err.code ?? err.message})`));
  });
}

/**
 * Sends this benchmark's result to the runner (IPC), or prints it as JSON with BENCH_PRINT_JSON when run
 * on its own, then ends the process (keep-alive sockets and pools must not keep a finished run alive).
 */
export function report(result) {
  if (process.send) process.send({ type: 'result', result }, () => process.exit(0));
  else {
    if (process.env.BENCH_PRINT_JSON) console.log(JSON.stringify(result, null, 2));
    process.exit(0);
  }
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** Runs fn(workerIndex) in `concurrency` closed loops until `durationMs` elapses; returns latencies (ms). */
export async function closedLoop({ concurrency, durationMs, fn }) {
  const latencies = [];
  let errors = 0;
  let firstError;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await fn(i);
          latencies.push(performance.now() - t);
        } catch (err) {
          errors += 1;
          firstError ??= err;
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { latencies, errors, firstError, elapsedMs: elapsed, perSecond: (latencies.length / elapsed) * 1000 };
}
