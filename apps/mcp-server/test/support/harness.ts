import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { applyMigrations, connectDatabase, type Database } from '@mcp-gw/db';
import { createLogger } from '@mcp-gw/shared';
import { pino } from 'pino';
import { buildConfig, createMcpApp, type McpApp, type McpServerConfig } from '../../src/index.js';
import { seedDemoTickets } from '../../src/domain/seed.js';
import { createPostgresDatabase, openEmbeddedDatabase } from '@mcp-gw/testkit';
import { startTestIssuer, type MintOptions, type TestIssuer } from './issuer.js';

export { Client, StreamableHTTPClientTransport };

export interface Users {
  alice: string;
  bob: string;
  /** Member only of the SEC project (which alice and bob cannot see). */
  carol: string;
}

export interface Harness {
  db: Database;
  issuer: TestIssuer;
  mcp: McpApp;
  config: McpServerConfig;
  server: http.Server;
  baseUrl: string;
  mcpUrl: string;
  users: Users;
  /** Number of the ticket in SEC, visible to carol only. */
  secretTicket: number;
  token(opts: Partial<MintOptions> & { sub: string }): Promise<string>;
  connect(token: string, opts?: { elicit?: (message: string) => ElicitResult | Promise<ElicitResult>; name?: string }): Promise<ConnectedClient>;
  close(): Promise<void>;
}

export interface ConnectedClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  sessionId: string;
  close(): Promise<void>;
}

async function createUser(db: Database, email: string, name: string): Promise<string> {
  const user = await db.prisma.user.create({ data: { email, name, passwordHash: 'not-used-in-tests' } });
  return user.id;
}

/**
 * A real MCP server on loopback (port 0) over an in-memory PGlite database (or `databaseUrl`), with the
 * test issuer as its authorization server, demo data for alice and bob, and a private project for carol.
 */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    /** Environment that needs the users' ids (e.g. MCP_AUTH_DISABLED_SUB). */
    envFor?: (users: Users) => Record<string, string>;
    databaseUrl?: string;
    /** Where log lines go (default: discarded unless TEST_LOG_LEVEL is set). */
    logStream?: NodeJS.WritableStream;
  } = {},
): Promise<Harness> {
  // With TEST_DATABASE_URL (the repository's convention) every harness gets its own PostgreSQL database.
  const pg = !options.databaseUrl && process.env.TEST_DATABASE_URL ? await createPostgresDatabase(process.env.TEST_DATABASE_URL, 'mcp_test') : undefined;
  const url = options.databaseUrl ?? pg?.url;
  const db = url ? await connectDatabase(url) : await openEmbeddedDatabase();
  if (url) await applyMigrations(db);
  const alice = await createUser(db, 'alice@example.com', 'Alice Archer');
  const bob = await createUser(db, 'bob@example.com', 'Bob Baker');
  const carol = await createUser(db, 'carol@example.com', 'Carol Chen');
  await seedDemoTickets(db, { userIds: [alice, bob] });
  const sec = await db.prisma.project.create({ data: { key: 'SEC', name: 'Security incidents' } });
  await db.prisma.projectMember.create({ data: { projectId: sec.id, userId: carol, role: 'owner' } });
  const secret = await db.prisma.ticket.create({
    data: {
      projectId: sec.id,
      title: 'Leaked staging credentials zebracorn',
      body: 'The staging database password zebracorn-secret was posted in a public channel.',
      priority: 'urgent',
      reporterId: carol,
    },
  });

  const issuer = await startTestIssuer(db);
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const mcpUrl = `${baseUrl}/mcp`;
  issuer.setAudience(mcpUrl);
  const config = buildConfig({
    NODE_ENV: 'test',
    AUTH_ISSUER: issuer.issuer,
    MCP_RESOURCE_URL: mcpUrl,
    ALLOWED_ORIGINS: 'http://localhost:6274',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
    ...options.envFor?.({ alice, bob, carol }),
  });
  const logger = options.logStream
    ? pino({ level: 'info' }, options.logStream as pino.DestinationStream)
    : createLogger('mcp-server-test', config.LOG_LEVEL);
  const mcp = createMcpApp({ config, db, logger });
  server.on('request', mcp.listener);

  const clients: ConnectedClient[] = [];
  const harness: Harness = {
    db,
    issuer,
    mcp,
    config,
    server,
    baseUrl,
    mcpUrl,
    users: { alice, bob, carol },
    secretTicket: secret.number,
    token: (opts) => issuer.mintToken(opts as MintOptions),
    async connect(token, opts = {}) {
      const client = new Client(
        { name: opts.name ?? 'vitest-client', version: '1.0.0' },
        { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} },
      );
      if (opts.elicit) {
        const elicit = opts.elicit;
        client.setRequestHandler(ElicitRequestSchema, async (request) => elicit(request.params.message));
      }
      const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      await client.connect(transport);
      const connected: ConnectedClient = {
        client,
        transport,
        sessionId: transport.sessionId!,
        close: async () => {
          await transport.terminateSession().catch(() => {});
          await client.close().catch(() => {});
        },
      };
      clients.push(connected);
      return connected;
    },
    async close() {
      await Promise.all(clients.map((c) => c.client.close().catch(() => {})));
      await mcp.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await issuer.close();
      await db.close();
      await pg?.drop();
    },
  };
  return harness;
}

/** A JSON-RPC initialize body, for raw HTTP tests. */
export function initializeBody(id: number | string = 1): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-http', version: '1.0.0' } },
  };
}

export const MCP_ACCEPT = 'application/json, text/event-stream';

/** Reads a JSON-RPC response from either a JSON body or the first SSE `data:` event. */
export async function readRpc(res: Response): Promise<Record<string, unknown>> {
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (type.includes('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim())
      .find((l) => l.length > 0);
    return JSON.parse(data ?? '{}');
  }
  return JSON.parse(text);
}
