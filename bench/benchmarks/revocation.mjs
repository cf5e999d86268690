// 4. Revocation reaching every replica: two MCP server processes (dist/main.js) on PostgreSQL + Redis,
// the authorization server in this process on the same database and Redis. Each round: a token, a
// session and a tool call on both replicas, AdminService.revokeGrant, then both replicas polled until
// the token (or its session) is refused.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@mcp-gw/testkit';
import { QUICK, REDIS_URL, postgresProblem, printTable, redisProblem, report, sleep, stats, verdict } from '../lib/common.mjs';
import { McpHttpClient } from '../lib/mcp-client.mjs';
import { NO_LIMITS_MCP, openDatabase, seed, startAuth } from '../lib/stack.mjs';

const ROUNDS = QUICK ? 2 : 20;
const TARGET_WORST_MS = 1000;
const GIVE_UP_MS = 10_000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const problem = (await postgresProblem()) ?? (await redisProblem());
if (problem) {
  console.log(`\n4. Revocation across replicas: skipped: ${problem}`);
  report({ name: 'revocation', title: 'Revocation reaching every replica', skipped: problem, summary: [{ metric: 'revocation worst ms', value: 'skipped', detail: problem, target: `≤ ${TARGET_WORST_MS}`, verdict: '' }] });
  process.exit(0);
}

const database = await openDatabase('postgres');
const ports = [await freePort(), await freePort()];
const resource = `http://127.0.0.1:${ports[0]}/mcp`; // one public resource URL, as behind a load balancer
const auth = await startAuth(database.db, { mcpResourceUrl: resource, redisUrl: REDIS_URL });
const ticketId = await seed(database.db, auth.user.id);

const replicas = ports.map((port) => {
  const child = spawn(process.execPath, [path.join(root, 'apps/mcp-server/dist/main.js')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      REDIS_URL,
      AUTH_ISSUER: auth.issuer,
      MCP_RESOURCE_URL: resource,
      ...NO_LIMITS_MCP,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { port, child, url: `http://127.0.0.1:${port}/mcp` };
});

async function waitReady(replica) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (replica.child.exitCode !== null) throw new Error(`replica on ${replica.port} exited (${replica.child.exitCode})`);
    try {
      const res = await fetch(`http://127.0.0.1:${replica.port}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`replica on ${replica.port} not ready after 30 s`);
}

/**
 * Polls one replica with a tool call on its session until it refuses (401 token, 404 session).
 * `round.returnedAt` is set when the revoke call returned: a poll sent after it and still served
 * breaks the promise that the next request is refused.
 */
async function untilRefused(client, t0, round) {
  let polls = 0;
  let servedAfterReturn = 0;
  while (performance.now() - t0 < GIVE_UP_MS) {
    polls += 1;
    const id = client.nextId++;
    const sentAfterReturn = round.returnedAt !== undefined;
    const res = await client.post({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'get_ticket', arguments: { ticket_id: ticketId } } });
    if (res.status === 401 || res.status === 404) return { ms: performance.now() - t0, status: res.status, polls, servedAfterReturn };
    if (sentAfterReturn) servedAfterReturn += 1;
  }
  return { ms: Infinity, status: 'still served', polls, servedAfterReturn };
}

const rounds = [];
try {
  await Promise.all(replicas.map(waitReady));
  // Interleaved: a grant revoked by an administrator, then one access token revoked by its client (RFC 7009).
  for (let round = 0; round < 2 * ROUNDS; round++) {
    const kind = round % 2 === 0 ? 'grant' : 'access token';
    const { client, tokens } = await auth.obtainTokens(resource);
    const gid = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString()).gid;
    const clients = replicas.map((r) => new McpHttpClient(r.url, { token: tokens.access_token }));
    for (const c of clients) {
      await c.initialize();
      await c.callTool('get_ticket', { ticket_id: ticketId });
    }
    const t0 = performance.now();
    const round_ = { returnedAt: undefined };
    const revoke =
      kind === 'grant'
        ? auth.admin.revokeGrant(gid, { type: 'system', id: 'bench' }).then(({ servers }) => servers)
        : fetch(`${auth.issuer}/token/revocation`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token: tokens.access_token, token_type_hint: 'access_token', client_id: client.client_id }),
          }).then(async (res) => {
            if (res.status !== 200) throw new Error(`RFC 7009 revocation answered ${res.status}`);
            await res.arrayBuffer();
            return undefined;
          });
    const revoking = revoke.then((servers) => {
      round_.returnedAt = performance.now();
      return { ms: round_.returnedAt - t0, servers };
    });
    const refused = await Promise.all(clients.map((c) => untilRefused(c, t0, round_)));
    const { ms: revokeCallMs, servers } = await revoking;
    await Promise.all(clients.map((c) => c.close({ deleteSession: false })));
    rounds.push({ kind, revokeCallMs, servers, replicas: refused, worstMs: Math.max(...refused.map((r) => r.ms)) });
  }
} finally {
  for (const r of replicas) r.child.kill('SIGTERM');
  await Promise.all(replicas.map((r) => (r.child.exitCode === null ? new Promise((resolve) => r.child.once('exit', resolve)) : undefined)));
  await auth.close();
  await database.dispose();
}

const figures = (kind) => {
  const of = rounds.filter((r) => r.kind === kind);
  return {
    of,
    worst: stats(of.map((r) => r.worstMs)),
    perReplica: stats(of.flatMap((r) => r.replicas.map((x) => x.ms))),
    revokeCall: stats(of.map((r) => r.revokeCallMs)),
    servedAfterReturn: of.reduce((n, r) => n + r.replicas.reduce((m, x) => m + x.servedAfterReturn, 0), 0),
  };
};
const grant = figures('grant');
const token = figures('access token');
const { worst, revokeCall } = grant;
const statuses = rounds.flatMap((r) => r.replicas.map((x) => x.status)).reduce((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
printTable(
  `4. Revocation reaching both replicas (${ROUNDS} rounds each; PostgreSQL + Redis; from the revoke call to the replica refusing)`,
  ['measure', 'median ms', 'worst ms', 'mean ms'],
  [
    ['grant: both replicas refuse', worst.p50, worst.max, worst.mean],
    ['grant: each replica', grant.perReplica.p50, grant.perReplica.max, grant.perReplica.mean],
    ['grant: revokeGrant call itself', revokeCall.p50, revokeCall.max, revokeCall.mean],
    ['access token (RFC 7009): both replicas refuse', token.worst.p50, token.worst.max, token.worst.mean],
    ['access token: each replica', token.perReplica.p50, token.perReplica.max, token.perReplica.mean],
    ['access token: POST /token/revocation itself', token.revokeCall.p50, token.revokeCall.max, token.revokeCall.mean],
  ],
);
console.log(`   refusals seen: ${Object.entries(statuses).map(([s, n]) => `${s === '401' ? '401 (token refused)' : s === '404' ? '404 (session closed)' : s} ×${n}`).join(', ')}`);
const servedAfterReturn = grant.servedAfterReturn + token.servedAfterReturn;
const unconfirmed = grant.of.filter((r) => r.servers.confirmed < r.servers.notified).length;
console.log(`   replicas told / confirmed before revokeGrant returned: ${grant.of.map((r) => `${r.servers.notified}/${r.servers.confirmed}`).join(' ')}${unconfirmed ? ` (${unconfirmed} round(s) short of a confirmation)` : ''}`);
console.log(`   calls served to the revoked token after the revoke call returned: grant ${grant.servedAfterReturn}, access token ${token.servedAfterReturn} (must be 0): ${verdict(servedAfterReturn === 0)}`);
const worstOfAll = Math.max(worst.max, token.worst.max);
console.log(`   worst ${worstOfAll.toFixed(1)} ms (target ≤ ${TARGET_WORST_MS} ms): ${verdict(worstOfAll <= TARGET_WORST_MS)}`);

report({
  name: 'revocation',
  title: 'Revocation reaching every replica',
  rounds,
  medianMs: worst.p50,
  worstMs: worst.max,
  accessToken: { medianMs: token.worst.p50, worstMs: token.worst.max, revokeCallMedianMs: token.revokeCall.p50, servedAfterReturn: token.servedAfterReturn },
  summary: [
    { metric: 'revocation on both replicas, worst ms', value: worst.max.toFixed(1), detail: `median ${worst.p50.toFixed(1)} ms over ${ROUNDS} rounds`, target: `≤ ${TARGET_WORST_MS}`, verdict: verdict(worst.max <= TARGET_WORST_MS) },
    { metric: 'access token (RFC 7009) on both replicas, worst ms', value: token.worst.max.toFixed(1), detail: `median ${token.worst.p50.toFixed(1)} ms; the revocation call ${token.revokeCall.p50.toFixed(1)} ms`, target: `≤ ${TARGET_WORST_MS}`, verdict: verdict(token.worst.max <= TARGET_WORST_MS) },
    { metric: 'calls served after the revoke returned', value: String(servedAfterReturn), detail: `grant ${grant.servedAfterReturn}, access token ${token.servedAfterReturn}; revoke call median ${revokeCall.p50.toFixed(1)} ms (waits for both replicas' confirmations)`, target: '0', verdict: verdict(servedAfterReturn === 0) },
  ],
});
