import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obtainTokens } from '@mcp-gw/testkit';
import { createPostgresDatabase } from '../support/database.js';
import { RawMcpSession } from '../support/jsonrpc-client.js';
import { startSystem, type RunningSystem } from '../support/system.js';

const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 100);
const DURATION_MS = Number(process.env.SOAK_SECONDS ?? 60) * 1000;
const TOKENS = 5;

// A bounded soak on loopback: many authenticated MCP clients mixing reads and writes with retries,
// then zero 5xx, zero duplicate writes, zero lost writes, and an audit entry for every write.
describe(`soak: ${CLIENTS} clients for ${DURATION_MS / 1000} s on the ${process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'embedded'} database`, () => {
  let system: RunningSystem;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>> | undefined;

  beforeAll(async () => {
    if (process.env.TEST_DATABASE_URL) database = await createPostgresDatabase('mcpgw_soak');
    system = await startSystem({
      RATE_LIMIT_READ_PER_MINUTE: '1000000',
      RATE_LIMIT_WRITE_PER_MINUTE: '1000000',
      MAX_SESSIONS: String(CLIENTS * 2),
      ...(database ? { DATABASE_URL: database.url } : {}),
    });
  });
  afterAll(async () => {
    await system?.stop();
    await database?.drop();
  });

  it('serves every request without a 5xx, never writes twice, never loses a write, audits every write', async () => {
    const run = crypto.randomBytes(4).toString('hex');
    const tokens = [];
    for (let i = 0; i < TOKENS; i++) {
      tokens.push((await obtainTokens({ issuer: system.issuer, email: system.demoEmail, password: system.demoPassword, resource: system.mcpUrl })).tokens.access_token);
    }
    const sessions = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const s = new RawMcpSession(system.mcpUrl, tokens[i % TOKENS]!);
        await s.initialize();
        return s;
      }),
    );

    const created = new Map<string, string>(); // idempotency key → ticket id
    const mismatches: string[] = [];
    const failures: string[] = [];
    let calls = 0;
    let retries = 0;
    const deadline = Date.now() + DURATION_MS;

    const createWithRetries = async (s: RawMcpSession, key: string, project: string) => {
      const args = { project, title: `soak-${run} ${key}`, body: `Load test ticket ${key}.`, idempotency_key: key };
      for (let attempt = 0; attempt < 4; attempt++) {
        if (attempt) retries++;
        try {
          calls++;
          const r = await s.callTool('create_ticket', args);
          const id = (r.result?.structuredContent?.ticket as { id?: string } | undefined)?.id;
          if (r.status === 200 && id && !r.result?.isError) return id;
          if (r.status >= 500) failures.push(`create ${key}: HTTP ${r.status}`);
        } catch (err) {
          failures.push(`create ${key}: ${(err as Error).message}`);
        }
      }
      return undefined;
    };

    const worker = async (s: RawMcpSession, index: number) => {
      let n = 0;
      const project = ['WEB', 'MOB', 'OPS'][index % 3]!;
      while (Date.now() < deadline) {
        const roll = Math.random();
        try {
          if (roll < 0.25) {
            const key = `soak-${run}-${index}-${n++}`;
            const id = await createWithRetries(s, key, project);
            if (id) {
              created.set(key, id);
              // A client that lost the response retries with the same key: it must get the same ticket.
              if (Math.random() < 0.2) {
                retries++;
                const again = await createWithRetries(s, key, project);
                if (again !== id) mismatches.push(`${key}: ${id} then ${again}`);
              }
            }
          } else if (roll < 0.35 && created.size) {
            const ids = [...created.values()];
            calls++;
            const r = await s.callTool('comment_on_ticket', { ticket_id: ids[Math.floor(Math.random() * ids.length)], body: `soak comment ${run}` });
            if (r.status >= 500) failures.push(`comment: HTTP ${r.status}`);
          } else if (roll < 0.7) {
            calls++;
            const r = await s.callTool('search_tickets', { query: ['checkout', 'login', 'backup', 'soak'][n % 4], limit: 5 });
            if (r.status >= 500 || r.result?.isError) failures.push(`search: HTTP ${r.status} ${JSON.stringify(r.result?.content?.[0]?.text ?? '')}`);
          } else {
            calls++;
            const r = await s.callTool('list_projects', {});
            if (r.status >= 500 || r.result?.isError) failures.push(`list_projects: HTTP ${r.status}`);
          }
        } catch (err) {
          failures.push(`request: ${(err as Error).message}`);
        }
      }
    };
    const started = Date.now();
    await Promise.all(sessions.map((s, i) => worker(s, i)));
    const seconds = (Date.now() - started) / 1000;

    const statuses = new Map<number, number>();
    for (const s of sessions) for (const [status, count] of s.statuses) statuses.set(status, (statuses.get(status) ?? 0) + count);
    const fiveXx = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, c]) => sum + c, 0);

    // What is in the database: exactly one ticket per successful key, each audited.
    const db = database ? new pg.Client({ connectionString: database.url }) : undefined;
    let stored: { title: string; number: number }[];
    let audited: Set<string>;
    if (db) {
      await db.connect();
      stored = (await db.query(`SELECT title, number FROM ticket WHERE title LIKE $1`, [`soak-${run} %`])).rows;
      audited = new Set((await db.query(`SELECT target_id FROM audit_event WHERE action = 'tool.create_ticket' AND outcome = 'success'`)).rows.map((r) => r.target_id));
      await db.end();
    } else {
      // The embedded database is owned by the running system: read through the read tool instead.
      const reader = sessions[0]!;
      stored = [];
      let cursor: string | undefined;
      do {
        const page = await reader.callTool('search_tickets', { query: `soak-${run}`, limit: 50, ...(cursor ? { cursor } : {}) });
        const sc = page.result?.structuredContent as { tickets: { title: string; number: number }[]; next_cursor?: string | null };
        stored.push(...sc.tickets.filter((t) => t.title.startsWith(`soak-${run} `)));
        cursor = sc.next_cursor ?? undefined;
      } while (cursor);
      audited = new Set([...created.values()]); // audit rows are checked on PostgreSQL, where the test can read them
    }
    const byKey = new Map<string, number>();
    for (const t of stored) {
      const key = t.title.slice(`soak-${run} `.length);
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
    }
    const duplicates = [...byKey].filter(([, c]) => c > 1);
    const lost = [...created.keys()].filter((k) => !byKey.has(k));
    const unaudited = [...created.values()].filter((id) => !audited.has(id));

    console.log(
      [
        `soak: ${CLIENTS} clients, ${seconds.toFixed(1)} s, ${calls} tool calls (${(calls / seconds).toFixed(0)}/s), ${retries} retries`,
        `  HTTP statuses: ${[...statuses].map(([s, c]) => `${s}×${c}`).join(', ')}`,
        `  writes acknowledged: ${created.size}, stored: ${stored.length}, duplicates: ${duplicates.length}, lost: ${lost.length}, unaudited: ${unaudited.length}`,
        `  idempotent retry mismatches: ${mismatches.length}, failures: ${failures.length}`,
      ].join('\n'),
    );
    expect(failures.slice(0, 5)).toEqual([]);
    expect(fiveXx).toBe(0);
    expect(mismatches).toEqual([]);
    expect(duplicates).toEqual([]);
    expect(lost).toEqual([]);
    expect(unaudited).toEqual([]);
    expect(created.size).toBeGreaterThan(0);
  });
});
