import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { context, trace, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHarness, type Harness } from './support/harness.js';

/** A minimal in-memory tracer provider: records span names, attributes and status (no SDK needed). */
class RecordingProvider implements TracerProvider {
  readonly spans: { name: string; attributes: Record<string, unknown>; status?: { code: number }; ended: boolean }[] = [];
  getTracer(): Tracer {
    const spans = this.spans;
    const startSpan = (name: string): Span => {
      const record = { name, attributes: {} as Record<string, unknown>, status: undefined as { code: number } | undefined, ended: false };
      spans.push(record);
      const span: Span = {
        spanContext: () => ({ traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', traceFlags: 1 }),
        setAttribute: (k, v) => ((record.attributes[k] = v), span),
        setAttributes: (a) => (Object.assign(record.attributes, a), span),
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus: (s) => ((record.status = s), span),
        updateName: () => span,
        end: () => {
          record.ended = true;
        },
        isRecording: () => true,
        recordException: () => {},
      };
      return span;
    };
    return {
      startSpan,
      startActiveSpan: ((name: string, ...rest: unknown[]) => {
        const fn = rest[rest.length - 1] as (span: Span) => unknown;
        const span = startSpan(name);
        return context.with(trace.setSpan(context.active(), span), () => fn(span));
      }) as Tracer['startActiveSpan'],
    };
  }
}

const provider = new RecordingProvider();
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    cb();
  },
});

let h: Harness;
beforeAll(async () => {
  // The app's tracer is a ProxyTracer: registering a provider later still routes its spans here.
  trace.setGlobalTracerProvider(provider);
  h = await startHarness({ logStream: sink });
});
afterAll(async () => {
  await h?.close();
  trace.disable();
});

describe('per tool call: structured log line, span, audit', () => {
  it('logs session, client, user, tool, latency, size and error for each call', async () => {
    const c = await h.connect(await h.token({ sub: h.users.alice, clientId: 'log-client' }));
    await c.client.callTool({ name: 'list_projects', arguments: {} });
    const failed = (await c.client.callTool({ name: 'get_ticket', arguments: { ticket_id: 'T-999999' } })) as CallToolResult;
    expect(failed.isError).toBe(true);

    const toolLines = lines.filter((l) => l.msg === 'tool call');
    const ok = toolLines.find((l) => l.tool === 'list_projects')!;
    expect(ok).toMatchObject({ session: c.sessionId, client_id: 'log-client', sub: h.users.alice, outcome: 'success' });
    expect(typeof ok.latency_ms).toBe('number');
    expect(ok.result_bytes as number).toBeGreaterThan(0);
    const bad = toolLines.find((l) => l.tool === 'get_ticket')!;
    expect(bad).toMatchObject({ outcome: 'tool_error', error: expect.stringMatching(/not found/) });
    // No bearer token ever reaches the log.
    expect(JSON.stringify(lines)).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}\./);

    const spans = provider.spans.filter((s) => s.name.startsWith('mcp.tool '));
    const span = spans.find((s) => s.name === 'mcp.tool list_projects')!;
    expect(span.ended).toBe(true);
    expect(span.attributes).toMatchObject({ 'mcp.tool.name': 'list_projects', 'mcp.client.id': 'log-client', 'mcp.tool.outcome': 'success' });
    expect(spans.find((s) => s.name === 'mcp.tool get_ticket')!.attributes['mcp.tool.outcome']).toBe('tool_error');
  });

  it('writes an audit event for every write and every denied call', async () => {
    const c = await h.connect(await h.token({ sub: h.users.bob, clientId: 'audit-client' }));
    const created = (await c.client.callTool({ name: 'create_ticket', arguments: { project: 'OPS', title: 'Audited ticket', body: 'x' } })) as CallToolResult;
    const id = (created.structuredContent as { ticket: { id: string } }).ticket.id;
    await c.client.callTool({ name: 'comment_on_ticket', arguments: { ticket_id: id, body: 'audited comment' } });
    await c.client.callTool({ name: 'update_ticket', arguments: { ticket_id: id, priority: 'high' } });
    const events = await h.db.prisma.auditEvent.findMany({ where: { clientId: 'audit-client' }, orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.action, e.outcome, e.targetId])).toEqual([
      ['tool.create_ticket', 'success', id],
      ['tool.comment_on_ticket', 'success', id],
      ['tool.update_ticket', 'success', id],
    ]);
    // A denied request (invalid token) is audited too.
    await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token({ sub: h.users.bob, clientId: 'audit-client', expiresIn: -60 })}`, 'content-type': 'application/json' },
      body: '{}',
    });
    // Denials are audited without holding up the 401 (fire and forget): wait for the row to land.
    await vi.waitFor(
      async () => {
        const denied = await h.db.prisma.auditEvent.findFirst({ where: { action: 'mcp.request', outcome: 'denied' }, orderBy: { id: 'desc' } });
        expect(denied?.details).toMatchObject({ reason: expect.stringMatching(/expired/) });
      },
      { timeout: 15_000, interval: 100 },
    );
  });
});
