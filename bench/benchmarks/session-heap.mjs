// 5. Heap per open idle MCP session at 1,000 sessions: the MCP server in this process (auth off, so
// no token round trips; a session costs the same), heapUsed after global.gc() before and after opening
// N sessions over HTTP, divided by N. Run with --expose-gc (the runner does).
import { Pool } from 'undici';
import { QUICK, printTable, report, verdict } from '../lib/common.mjs';
import { McpHttpClient } from '../lib/mcp-client.mjs';
import { openDatabase, seed, startMcp } from '../lib/stack.mjs';

const SESSIONS = 1000;
const TARGET_KIB = 50;
const gc = globalThis.gc;
if (!gc) console.log('   (run without --expose-gc: heap figures include garbage)');

async function settledHeap() {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
}

const database = await openDatabase('pglite');
const user = await database.db.prisma.user.create({ data: { email: 'heap@example.com', name: 'heap', passwordHash: 'x' } });
const ticketId = await seed(database.db, user.id);
const mcp = await startMcp(database.db, { authDisabledSub: user.id });

// Warm-up: a few sessions that make and close everything lazy (modules, JIT, schemas), then closed.
const pool = new Pool(new URL(mcp.mcpUrl).origin, { connections: 8, pipelining: 1 });
for (let i = 0; i < 20; i++) {
  const c = new McpHttpClient(mcp.mcpUrl, { dispatcher: pool });
  await c.initialize();
  await c.callTool('get_ticket', { ticket_id: ticketId });
  await c.close();
}
const openBefore = mcp.mcp.sessions.size;
const ids = new Array(SESSIONS).fill('');
const before = await settledHeap();
const t = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < SESSIONS) {
      const i = next++;
      const c = new McpHttpClient(mcp.mcpUrl, { dispatcher: pool });
      await c.initialize();
      ids[i] = c.sessionId; // the client object is dropped; the session stays open on the server
    }
  }),
);
const openMs = performance.now() - t;
await pool.close();
const after = await settledHeap();
const open = mcp.mcp.sessions.size - openBefore;
if (open !== SESSIONS) throw new Error(`expected ${SESSIONS} open sessions, the server has ${open}`);
// The session ids kept here (N strings of 36 chars) are counted in "after": subtract them.
const idBytes = SESSIONS * (36 + 24);
const perSessionKiB = (after.heapUsed - before.heapUsed - idBytes) / SESSIONS / 1024;
const rssPerSessionKiB = (after.rss - before.rss) / SESSIONS / 1024;
await mcp.close();
await database.dispose();

printTable(
  `5. Heap per idle MCP session (${SESSIONS} sessions opened in ${(openMs / 1000).toFixed(1)} s, in-process server, gc ${gc ? 'forced' : 'NOT available'})`,
  ['measure', 'before MiB', 'after MiB', 'per session KiB', 'target', 'verdict'],
  [
    ['heapUsed', before.heapUsed / 2 ** 20, after.heapUsed / 2 ** 20, perSessionKiB, `≤ ${TARGET_KIB}`, verdict(perSessionKiB <= TARGET_KIB)],
    ['rss (for reference)', before.rss / 2 ** 20, after.rss / 2 ** 20, rssPerSessionKiB, '-', ''],
  ],
);

report({
  name: 'session-heap',
  title: 'Heap per open idle MCP session',
  sessions: SESSIONS,
  gcForced: Boolean(gc),
  before,
  after,
  perSessionKiB,
  rssPerSessionKiB,
  openMs,
  quick: QUICK,
  summary: [{ metric: `heap per idle session at ${SESSIONS}`, value: `${perSessionKiB.toFixed(1)} KiB`, detail: `rss ${rssPerSessionKiB.toFixed(1)} KiB`, target: `≤ ${TARGET_KIB} KiB`, verdict: verdict(perSessionKiB <= TARGET_KIB) }],
});
