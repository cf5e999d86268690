// Child process of the throughput benchmark: the servers under load, apart from the load generator
// (each gets its own core on a 2-core machine). One embedded database (or PostgreSQL with --postgres),
// one authorization server, the MCP server with auth, the same MCP server with auth off, the floor, and
// the floor answering whoami's result; and the same two floors on SDK 2.x (2026-07-28, stateless).
// Sends { type: 'ready', ... } over IPC, then serves until the parent disconnects.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { openDatabase, seed, startAuth, startMcp } from './stack.mjs';
import { startFloorServer } from './floor-server.mjs';
import { startFloorServerV2 } from './floor-server-v2.mjs';
import { TOOLS } from '@mcp-gw/mcp-server';
import { authorize, freePort, registerClient } from '@mcp-gw/testkit';
import { createDpopKey, dpopProof } from './dpop.mjs';
import { McpHttpClient } from './mcp-client.mjs';

const kind = process.argv.includes('--postgres') ? 'postgres' : 'pglite';
const database = await openDatabase(kind);
const mcpPort = await freePort();
const auth = await startAuth(database.db, { mcpResourceUrl: `http://127.0.0.1:${mcpPort}/mcp` });
const ticketId = await seed(database.db, auth.user.id);
const authed = await startMcp(database.db, { issuer: auth.issuer, port: mcpPort });
const noauth = await startMcp(database.db, { authDisabledSub: auth.user.id });
// As the embedded launcher (`npm start`) runs them: revocations reach the MCP server in-process, and
// on the embedded database that feed is complete, so standing grants are remembered.
auth.admin.publisher.onLocal((event) => authed.mcp.revoke(event));
if (kind === 'pglite') authed.mcp.addRevocationFeed();
const floor = await startFloorServer();
const { tokens } = await auth.obtainTokens(authed.resource);
// A DPoP client's token: the same flow, the code redeemed with a proof of its key (RFC 9449 §5).
const dpopKey = createDpopKey();
const dpopToken = await (async () => {
  const redirectUri = 'http://127.0.0.1:8765/callback';
  const client = await registerClient(auth.issuer, { client_name: 'bench dpop', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'] });
  const { code, verifier } = await authorize({ issuer: auth.issuer, clientId: client.client_id, redirectUri, email: auth.user.email, password: auth.user.password, scope: 'tickets:read tickets:write', resource: authed.resource });
  const response = await fetch(`${auth.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: dpopProof(dpopKey, { method: 'POST', url: `${auth.issuer}/token` }) },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: client.client_id, resource: authed.resource }),
  });
  const body = await response.json();
  if (body.token_type !== 'DPoP') throw new Error(`no DPoP token: ${JSON.stringify(body)}`);
  return body.access_token;
})();
// The floor again, answering exactly what whoami answers for this token, under whoami's output schema.
const probe = new McpHttpClient(authed.mcpUrl, { token: tokens.access_token });
await probe.initialize();
const whoamiResult = await probe.callTool('whoami');
await probe.close();
const whoamiAnswer = { result: whoamiResult, outputShape: TOOLS.find((t) => t.name === 'whoami').output };
const floorAnswer = await startFloorServer({ answer: whoamiAnswer });
// The 2026-07-28 floors: SDK 2.x's createMcpHandler, echo, and whoami's same result (content and
// structuredContent; the SDK adds resultType and its serverInfo _meta, as it does for the product).
const floorV2 = await startFloorServerV2();
const floorV2Answer = await startFloorServerV2({ answer: whoamiAnswer });

process.send({
  type: 'ready',
  database: kind,
  ticketId,
  token: tokens.access_token,
  dpop: { token: dpopToken, privateJwk: dpopKey.privateJwk },
  targets: { auth: authed.mcpUrl, noauth: noauth.mcpUrl, floor: floor.mcpUrl, floorAnswer: floorAnswer.mcpUrl, floorV2: floorV2.mcpUrl, floorV2Answer: floorV2Answer.mcpUrl },
});

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  await Promise.allSettled([authed.close(), noauth.close(), floor.close(), floorAnswer.close(), floorV2.close(), floorV2Answer.close()]);
  await auth.close().catch(() => {});
  await database.dispose().catch(() => {});
  process.exit(0);
};
process.on('disconnect', shutdown);
// The parent asks for a full collection between measured slices (see settle() in mcp-throughput.mjs),
// and for its CPU time around each slice (all servers are in this process, one slice runs at a time).
// With BENCH_PROFILE, the parent also asks for a CPU profile of single measured slices (one target at
// a time), written where it says: what one kind of call costs, apart from the rest of the run.
let profiler;
async function profile(m) {
  if (m.type === 'profile-start') {
    if (!profiler) {
      profiler = new inspector.Session();
      profiler.connect();
      await post('Profiler.enable');
    }
    await post('Profiler.setSamplingInterval', { interval: 200 });
    await post('Profiler.start');
    process.send({ type: 'profiling' });
  } else {
    const { profile: result } = await post('Profiler.stop');
    fs.mkdirSync(path.dirname(m.file), { recursive: true });
    fs.writeFileSync(m.file, JSON.stringify(result));
    // What the summary needs to put the profile per call (profile-summary.mjs reads it).
    if (m.meta) fs.writeFileSync(m.file.replace(/\.cpuprofile$/, '.meta.json'), `${JSON.stringify(m.meta)}\n`);
    process.send({ type: 'profiled' });
  }
}
const post = (method, params) => new Promise((resolve, reject) => profiler.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
process.on('message', (m) => {
  if (m?.type === 'profile-start' || m?.type === 'profile-stop') {
    void profile(m);
  } else if (m?.type === 'settle') {
    globalThis.gc?.();
    process.send({ type: 'settled' });
  } else if (m?.type === 'cpu') {
    process.send({ type: 'cpu', usage: process.cpuUsage() });
  }
});
process.on('SIGTERM', shutdown);
