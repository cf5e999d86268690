import crypto from 'node:crypto';
import { z } from 'zod';
import type { PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';
import type { CallToolResult, ElicitRequestFormParams, ToolAnnotations } from '../mcp/wire-types.js';
import type { Principal } from '../auth/principal.js';
import { DomainError } from '../domain/errors.js';
import type { TicketRepository } from '../domain/tickets.js';
import type { AuditLog } from '../observability/audit.js';
import type { Metrics } from '../observability/metrics.js';
import { SpanStatusCode, tracer } from '../observability/tracing.js';
import type { ConfirmationStore } from './confirmations.js';
import type { IdempotencyStore } from './idempotency.js';
import type { ToolClass, ToolRateLimiter } from './rate-limit.js';

/** What tools use: shared by every session of one app instance. */
export interface ToolServices {
  config: McpServerConfig;
  prisma: PrismaClient;
  tickets: TicketRepository;
  idempotency: IdempotencyStore;
  confirmations: ConfirmationStore;
  rateLimiter: ToolRateLimiter;
  audit: AuditLog;
  metrics: Metrics;
  logger: Logger;
}

/** A form-mode elicitation: a message and the flat object schema of the answer. */
export type ElicitForm = Pick<ElicitRequestFormParams, 'message' | 'requestedSchema'>;
export interface ElicitAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown>;
}

/**
 * How a tool may ask the person something, by protocol era: a 2025-era session sends the client a
 * request and waits (elicitation); a 2026-07-28 request returns `input_required` and is called again
 * with the answers and the `requestState` it was given (multi round-trip).
 */
export type ToolInteraction =
  | { era: 'legacy'; canElicitForm: boolean; elicit(form: ElicitForm): Promise<ElicitAnswer> }
  | { era: 'modern'; canElicitForm: boolean; responses: Record<string, unknown> | undefined; requestState: string | undefined };

/** A tool's request for input (2026-07-28 only): embedded elicitations by key, and opaque state. */
export interface InputRequired {
  inputRequests?: Record<string, ElicitForm>;
  requestState?: string;
}

export interface ToolCall {
  principal: Principal;
  sessionId: string | undefined;
  interaction: ToolInteraction;
  services: ToolServices;
}

export interface ToolRun {
  result: CallToolResult | { inputRequired: InputRequired };
  /** For writes: what was changed, recorded in the audit log. */
  audit?: { targetType: string; targetId: string; details?: Record<string, unknown> };
}

export interface ToolSpec<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  access: ToolClass;
  /** The OAuth scope the tool needs (checked at the HTTP layer and again here). */
  scope: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run(args: z.infer<z.ZodObject<I>>, call: ToolCall): Promise<ToolRun>;
}

/** Whether a client's declared capabilities allow a form-mode elicitation (an empty object means form). */
export function canElicitForm(capabilities: { elicitation?: unknown } | undefined): boolean {
  const elicitation = capabilities?.elicitation as Record<string, unknown> | undefined;
  if (!elicitation || typeof elicitation !== 'object') return false;
  return 'form' in elicitation || Object.keys(elicitation).length === 0;
}

export type ToolOutcome = CallToolResult | { inputRequired: InputRequired };

export function isInputRequired(result: ToolOutcome): result is { inputRequired: InputRequired } {
  return 'inputRequired' in result;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(spec: ToolSpec<I, O>): ToolSpec<I, O> {
  return spec;
}

export const ERROR_META_KEY = 'io.mcp-gw/error';

/**
 * A tool error result. Machine-readable details go in `_meta`, not `structuredContent`: clients
 * validate structuredContent against the tool's outputSchema even on errors (the SDK client does).
 */
export function toolError(message: string, details?: Record<string, unknown>): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: message }],
    ...(details ? { _meta: { [ERROR_META_KEY]: details } } : {}),
  };
}

/**
 * One zod object per tool shape for the whole process: handed a raw shape, the SDK would build a new
 * object schema for every session's server (a few KiB per session, times every tool).
 */
const objectSchemas = new WeakMap<z.ZodRawShape, z.ZodObject>();
export function objectSchema(shape: z.ZodRawShape): z.ZodObject {
  let schema = objectSchemas.get(shape);
  if (!schema) {
    schema = z.object(shape);
    objectSchemas.set(shape, schema);
  }
  return schema;
}

/** What both eras' servers list for a tool (one zod object per shape, shared by every server). */
export function toolDefinition(spec: ToolSpec) {
  return {
    title: spec.title,
    description: spec.description,
    inputSchema: objectSchema(spec.input),
    outputSchema: objectSchema(spec.output),
    annotations: { title: spec.title, ...spec.annotations },
  };
}

type Outcome = 'success' | 'tool_error' | 'denied' | 'rate_limited' | 'error';

/**
 * Runs a tool call with the cross-cutting behaviour every call gets, whatever the protocol era: the
 * scope check (defence in depth behind the HTTP layer's check), rate limiting, an OpenTelemetry span, a structured log line, metrics,
 * and an audit event for every write and every denied call. Domain errors become tool results with
 * isError; unexpected errors become a generic tool error with a reference id (details only in the log).
 */
export async function runTool(
  spec: ToolSpec,
  args: Record<string, unknown>,
  context: { principal: Principal | undefined; sessionId: string | undefined; interaction: ToolInteraction; services: ToolServices },
): Promise<ToolOutcome> {
  const { principal, sessionId, interaction, services } = context;
  const started = performance.now();
  return tracer.startActiveSpan(`mcp.tool ${spec.name}`, async (span) => {
    span.setAttributes({
      'mcp.tool.name': spec.name,
      'mcp.session.id': sessionId ?? '',
      'mcp.client.id': principal?.clientId ?? '',
      'enduser.id': principal?.sub ?? '',
    });
    let outcome: Outcome = 'success';
    let result: ToolOutcome;
    let errorText: string | undefined;
    try {
      if (!principal) throw new Error('tool called without an authenticated principal');
      if (!principal.scopes.includes(spec.scope)) {
        outcome = 'denied';
        errorText = `missing scope ${spec.scope}`;
        await services.audit.record({
          action: `tool.${spec.name}`,
          outcome: 'denied',
          actorId: principal.sub,
          clientId: principal.clientId,
          details: { reason: 'insufficient_scope', required: spec.scope, session: sessionId },
        });
        result = toolError(
          `Permission denied: ${spec.name} needs the "${spec.scope}" permission, which this connection was not granted. Ask the person to reconnect the server in their MCP client and grant it.`,
          { error: 'insufficient_scope', required_scope: spec.scope },
        );
      } else {
        const decision = await services.rateLimiter.consume(spec.access, principal.clientId, principal.sub);
        if (!decision.allowed) {
          outcome = 'rate_limited';
          errorText = 'rate limited';
          await services.audit.record({
            action: `tool.${spec.name}`,
            outcome: 'denied',
            actorId: principal.sub,
            clientId: principal.clientId,
            details: { reason: 'rate_limited', class: spec.access, retry_after_seconds: decision.retryAfterSeconds, session: sessionId },
          });
          result = toolError(
            `Rate limit reached: at most ${decision.limit} ${spec.access} calls per minute per user and client. Retry after ${decision.retryAfterSeconds} seconds; do not retry before then.`,
            { error: 'rate_limited', retry_after_seconds: decision.retryAfterSeconds },
          );
        } else {
          const run = await spec.run(args as never, { principal, sessionId, interaction, services });
          result = run.result;
          const failed = !isInputRequired(result) && result.isError === true;
          if (failed) outcome = 'tool_error';
          if (spec.access === 'write' && run.audit) {
            await services.audit.record({
              action: `tool.${spec.name}`,
              outcome: failed ? 'error' : 'success',
              actorId: principal.sub,
              clientId: principal.clientId,
              targetType: run.audit.targetType,
              targetId: run.audit.targetId,
              details: { ...run.audit.details, session: sessionId, era: interaction.era },
            });
          }
        }
      }
    } catch (err) {
      if (err instanceof DomainError) {
        outcome = 'tool_error';
        errorText = err.message;
        result = toolError(err.message, { error: err.code });
        if (spec.access === 'write' && principal) {
          await services.audit.record({
            action: `tool.${spec.name}`,
            outcome: 'error',
            actorId: principal.sub,
            clientId: principal.clientId,
            details: { error: err.code, message: err.message, session: sessionId },
          });
        }
      } else {
        outcome = 'error';
        const ref = crypto.randomUUID();
        errorText = (err as Error)?.message ?? String(err);
        services.logger.error({ err, ref, tool: spec.name, session: sessionId }, 'tool failed');
        span.recordException(err as Error);
        result = toolError(`The ticketing server failed to complete ${spec.name} (reference ${ref}). Nothing suggests your input was wrong; you may retry once.`);
      }
    }
    const latencyMs = performance.now() - started;
    // Serializing the result again only to measure it costs per call: only when someone reads it.
    const measured = span.isRecording() || services.logger.isLevelEnabled('info');
    const resultBytes = measured ? Buffer.byteLength(JSON.stringify(result)) : undefined;
    services.metrics.toolCalls.inc({ tool: spec.name, outcome });
    services.metrics.toolDuration.observe({ tool: spec.name, outcome }, latencyMs / 1000);
    span.setAttributes({ 'mcp.tool.outcome': outcome, ...(resultBytes !== undefined ? { 'mcp.tool.result_bytes': resultBytes } : {}) });
    span.setStatus(outcome === 'error' ? { code: SpanStatusCode.ERROR, message: errorText } : { code: SpanStatusCode.OK });
    span.end();
    services.logger.info(
      {
        session: sessionId,
        era: interaction.era,
        client_id: principal?.clientId,
        sub: principal?.sub,
        tool: spec.name,
        outcome,
        latency_ms: Math.round(latencyMs * 10) / 10,
        result_bytes: resultBytes,
        error: errorText,
      },
      'tool call',
    );
    return result;
  });
}
