/**
 * The HTTP layer refuses a tools/call whose scope the token lacks (403). Behind it, every tool checks
 * the scope again: this file bypasses HTTP (in-memory transport, authInfo attached per message) to show
 * that a request reaching the server without the scope still gets an error result and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { applyMigrations, connectDatabase, type Database } from '@mcp-gw/db';
import { createLogger } from '@mcp-gw/shared';
import { Metrics, buildConfig, buildMcpServer, createToolServices, seedDemoTickets } from '../src/index.js';

let db: Database;
let userId: string;

beforeAll(async () => {
  db = await connectDatabase('pglite:memory');
  await applyMigrations(db);
  userId = (await db.prisma.user.create({ data: { email: 'dd@example.com', name: 'DD', passwordHash: 'x' } })).id;
  await seedDemoTickets(db, { userIds: [userId] });
});
afterAll(async () => {
  await db?.close();
});

async function rawCall(scopes: string[], message: JSONRPCMessage): Promise<Record<string, any>> {
  const config = buildConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const services = createToolServices({ config, db, logger: createLogger('t', 'silent'), metrics: new Metrics({ defaultMetrics: false }) });
  const server = buildMcpServer(services);
  const [client, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const authInfo = { token: 't', clientId: 'dd-client', scopes, extra: { sub: userId, grantId: 'g' } };
  const responses: Record<string, any>[] = [];
  client.onmessage = (m) => void responses.push(m as Record<string, any>);
  await client.start();
  const send = (m: JSONRPCMessage) => client.send(m, { authInfo });
  await send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  await send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  await send(message);
  await expect.poll(() => responses.find((r) => r.id === (message as { id: number }).id)).toBeDefined();
  await server.close();
  return responses.find((r) => r.id === (message as { id: number }).id)!;
}

describe('scope check inside the tools (defence in depth)', () => {
  it('a write tool called without tickets:write returns an error result, writes nothing, and is audited', async () => {
    const before = await db.prisma.ticket.count();
    const res = await rawCall(['tickets:read'], {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'create_ticket', arguments: { project: 'WEB', title: 'Must not be created', body: 'x' } },
    });
    expect(res.result.isError).toBe(true);
    expect(res.result.content[0].text).toMatch(/tickets:write/);
    expect(res.result._meta['io.mcp-gw/error']).toMatchObject({ error: 'insufficient_scope' });
    expect(await db.prisma.ticket.count()).toBe(before);
    const audit = await db.prisma.auditEvent.findFirst({ where: { action: 'tool.create_ticket', outcome: 'denied' } });
    expect(audit).toMatchObject({ actorId: userId, clientId: 'dd-client' });
  });

  it('a read tool without tickets:read is refused too; with it, it works', async () => {
    const denied = await rawCall(['tickets:write'], { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'search_tickets', arguments: {} } });
    expect(denied.result.isError).toBe(true);
    const allowed = await rawCall(['tickets:read'], { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'search_tickets', arguments: {} } });
    expect(allowed.result.isError).toBeFalsy();
    expect(allowed.result.structuredContent.tickets.length).toBeGreaterThan(0);
  });

  it('resources and prompts check the read scope as well', async () => {
    const res = await rawCall(['tickets:write'], { jsonrpc: '2.0', id: 4, method: 'resources/list', params: {} });
    expect(res.error).toBeDefined();
    const prompt = await rawCall(['tickets:write'], { jsonrpc: '2.0', id: 5, method: 'prompts/get', params: { name: 'summarize_project', arguments: { project: 'WEB' } } });
    expect(prompt.error).toBeDefined();
  });
});
