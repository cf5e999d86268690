// Child process of the throughput benchmark: the servers under load, apart from the load generator
// (each gets its own core on a 2-core machine). One embedded database (or PostgreSQL with --postgres),
// one authorization server, the MCP server with auth, the same MCP server with auth off, the floor, and
// the floor answering whoami's result.
// Sends { type: 'ready', ... } over IPC, then serves until the parent disconnects.
import { openDatabase, seed, startAuth, startMcp } from './stack.mjs';
import { startFloorServer } from './floor-server.mjs';
import { TOOLS } from '@mcp-gw/mcp-server';
import { freePort } from '@mcp-gw/testkit';
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
// The floor again, answering exactly what whoami answers for this token, under whoami's output schema.
const probe = new McpHttpClient(authed.mcpUrl, { token: tokens.access_token });
await probe.initialize();
const whoamiResult = await probe.callTool('whoami');
await probe.close();
const floorAnswer = await startFloorServer({ answer: { result: whoamiResult, outputShape: TOOLS.find((t) => t.name === 'whoami').output } });

process.send({
  type: 'ready',
  database: kind,
  ticketId,
  token: tokens.access_token,
  targets: { auth: authed.mcpUrl, noauth: noauth.mcpUrl, floor: floor.mcpUrl, floorAnswer: floorAnswer.mcpUrl },
});

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  await Promise.allSettled([authed.close(), noauth.close(), floor.close(), floorAnswer.close()]);
  await auth.close().catch(() => {});
  await database.dispose().catch(() => {});
  process.exit(0);
};
process.on('disconnect', shutdown);
// The parent asks for a full collection between measured slices (see settle() in mcp-throughput.mjs),
// and for its CPU time around each slice (all servers are in this process, one slice runs at a time).
process.on('message', (m) => {
  if (m?.type === 'settle') {
    globalThis.gc?.();
    process.send({ type: 'settled' });
  } else if (m?.type === 'cpu') {
    process.send({ type: 'cpu', usage: process.cpuUsage() });
  }
});
process.on('SIGTERM', shutdown);
