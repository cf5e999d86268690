// 3. Token endpoint refresh per second (embedded and PostgreSQL), and access token validation per
// second in packages/shared (AccessTokenVerifier.verify): cold (new verifier, JWKS fetched) and cached.
import { AccessTokenVerifier } from '@mcp-gw/shared';
import { tokenRequest } from '@mcp-gw/testkit';
import { QUICK, closedLoop, postgresProblem, printTable, report, stats } from '../lib/common.mjs';
import { openDatabase, startAuth } from '../lib/stack.mjs';

const REFRESH_CONCURRENCY = [1, 4];
const REFRESH_MS = QUICK ? 500 : 5000;
const VERIFY_MS = QUICK ? 300 : 4000;

async function refreshes(kind) {
  const database = await openDatabase(kind);
  const auth = await startAuth(database.db);
  try {
    const max = Math.max(...REFRESH_CONCURRENCY);
    // One grant per client (refresh tokens rotate: each client follows its own chain).
    const chains = [];
    for (let i = 0; i < max; i++) {
      const { client, tokens } = await auth.obtainTokens();
      chains.push({ clientId: client.client_id, refreshToken: tokens.refresh_token, accessToken: tokens.access_token });
    }
    const refresh = async (i) => {
      const chain = chains[i];
      const { status, body } = await tokenRequest(auth.issuer, {
        grant_type: 'refresh_token',
        refresh_token: chain.refreshToken,
        client_id: chain.clientId,
        resource: auth.config.MCP_RESOURCE_URL,
      });
      if (status !== 200) throw new Error(`refresh failed: ${status} ${JSON.stringify(body)}`);
      chain.refreshToken = body.refresh_token ?? chain.refreshToken;
      chain.accessToken = body.access_token;
    };
    const rows = [];
    for (const concurrency of REFRESH_CONCURRENCY) {
      await closedLoop({ concurrency, durationMs: QUICK ? 100 : 1000, fn: refresh });
      const run = await closedLoop({ concurrency, durationMs: REFRESH_MS, fn: refresh });
      if (run.firstError) console.error(`  refresh ${kind} c=${concurrency}: ${run.errors} errors, first: ${run.firstError.message}`);
      const s = stats(run.latencies);
      rows.push({ database: kind, concurrency, perSecond: run.perSecond, p50: s.p50, p99: s.p99, requests: run.latencies.length, errors: run.errors });
    }
    return { rows, auth, database, token: chains[0].accessToken };
  } catch (err) {
    await auth.close();
    await database.dispose();
    throw err;
  }
}

const embedded = await refreshes('pglite');
const refreshRows = [...embedded.rows];
const pgProblem = await postgresProblem();
if (pgProblem) console.log(`\n3. PostgreSQL refresh skipped: ${pgProblem}`);
else {
  const pg = await refreshes('postgres');
  refreshRows.push(...pg.rows);
  await pg.auth.close();
  await pg.database.dispose();
}

// Validation against the embedded stack's authorization server (in this process, on loopback).
const { auth } = embedded;
const audience = auth.config.MCP_RESOURCE_URL;
const token = embedded.token;
const remembering = new AccessTokenVerifier({ issuer: auth.issuer, audience });
const check = await remembering.verify(token);
if (!check.grantId) throw new Error('verified token has no grant id');
// Keys cached, signature and claims checked on every call (what every new token costs once).
const signing = new AccessTokenVerifier({ issuer: auth.issuer, audience, jwks: remembering.jwks, verifiedCacheMs: 0 });
// Batches of 64 per timing sample (a remembered verify is about a microsecond).
const BATCH = 64;
async function batched(verifier) {
  const fn = async () => {
    for (let i = 0; i < BATCH; i++) await verifier.verify(token);
  };
  await closedLoop({ concurrency: 1, durationMs: 300, fn });
  const run = await closedLoop({ concurrency: 1, durationMs: VERIFY_MS, fn });
  return { perSecond: run.perSecond * BATCH, errors: run.errors };
}
const warm = await batched(signing);
const remembered = await batched(remembering);
const warmPerSecond = warm.perSecond;
// Cold: a new verifier per token, so metadata discovery + JWKS fetch (2 GETs) + key import + verify.
const coldFn = async () => {
  await new AccessTokenVerifier({ issuer: auth.issuer, audience }).verify(token);
};
await closedLoop({ concurrency: 1, durationMs: 300, fn: coldFn });
const cold = await closedLoop({ concurrency: 1, durationMs: VERIFY_MS, fn: coldFn });
await auth.close();
await embedded.database.dispose();

printTable(
  `3a. Token endpoint: refresh_token grant with rotation (${REFRESH_MS / 1000}s per point)`,
  ['database', 'clients', 'refresh/s', 'p50 ms', 'p99 ms', 'requests', 'errors'],
  refreshRows.map((r) => [r.database, `${r.concurrency}`, r.perSecond, r.p50, r.p99, r.requests, r.errors]),
);
const coldStats = stats(cold.latencies);
const verifyRows = [
  { mode: 'remembered (the same token again: no signature check)', perSecond: remembered.perSecond, meanUs: 1e6 / remembered.perSecond, errors: remembered.errors },
  { mode: 'cached (keys in memory, signature and claims checked)', perSecond: warmPerSecond, meanUs: 1e6 / warmPerSecond, errors: warm.errors },
  { mode: 'cold (new verifier: metadata + JWKS fetched)', perSecond: cold.perSecond, meanUs: coldStats.mean * 1000, p99Us: coldStats.p99 * 1000, errors: cold.errors },
];
printTable(
  `3b. AccessTokenVerifier.verify (RS256, ${VERIFY_MS / 1000}s each, one caller; cold fetches go to the in-process authorization server on loopback)`,
  ['mode', 'verify/s', 'mean µs', 'p99 µs', 'errors'],
  verifyRows.map((r) => [r.mode, r.perSecond, r.meanUs, r.p99Us ?? '-', r.errors]),
);
console.log(`   cached is ${(warmPerSecond / cold.perSecond).toFixed(0)}× cold`);

report({
  name: 'tokens',
  title: 'Token refresh and validation',
  refresh: refreshRows,
  verify: verifyRows,
  postgresSkipped: pgProblem,
  summary: [
    ...refreshRows.map((r) => ({ metric: `refresh/s, ${r.concurrency} client(s) (${r.database})`, value: r.perSecond.toFixed(0), detail: `p50 ${r.p50.toFixed(1)} ms`, target: '-', verdict: '' })),
    ...verifyRows.map((r) => ({ metric: `verify/s ${r.mode.split(' ')[0]}`, value: r.perSecond.toFixed(0), detail: `${r.meanUs.toFixed(0)} µs each`, target: '-', verdict: '' })),
  ],
});
