// The 2026-07-28 server (SDK 2.x), one per request: the same era-neutral tools, resources and
// prompts as the 2025-era sessions, with input_required (multi round-trip) as the way to ask.
import { principalFromAuthInfo } from '../auth/principal.js';
import { PROMPTS } from '../prompts/index.js';
import { RequestError } from '../protocol/errors.js';
import { TICKET_RESOURCE, TICKET_URI_TEMPLATE, listTicketResources, readTicketResource } from '../resources/tickets.js';
import { canElicitForm, isInputRequired, objectSchema, runTool, toolDefinition, type ToolServices, type ToolSpec } from '../tools/registry.js';
import { TOOLS } from '../tools/tickets.js';
import type { AuthInfo } from './sdk.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  ModernMcpServer,
  ModernResourceTemplate,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  inputRequired,
  type CacheHint,
  type ServerContext,
} from './sdk-v2.js';
import { INSTRUCTIONS, SERVER_INFO } from './server-info.js';

/**
 * Cache hints (2026-07-28 `ttlMs` / `cacheScope`). Everything here is answered for one signed-in
 * person, so nothing may sit in a shared cache: private throughout. The lists change only with a
 * deploy; tickets change all the time, so their list and reads are never fresh for long.
 */
const CACHE_HINTS: Record<string, CacheHint> = {
  'server/discover': { ttlMs: 3_600_000, cacheScope: 'private' },
  'tools/list': { ttlMs: 300_000, cacheScope: 'private' },
  'prompts/list': { ttlMs: 300_000, cacheScope: 'private' },
  'resources/templates/list': { ttlMs: 300_000, cacheScope: 'private' },
  'resources/list': { ttlMs: 0, cacheScope: 'private' },
  'resources/read': { ttlMs: 0, cacheScope: 'private' },
};

/** A RequestError with the 2026-07-28 code (resource not found: -32602 with the uri). */
function modernError(err: unknown): unknown {
  if (!(err instanceof RequestError)) return err;
  switch (err.kind) {
    case 'resource_not_found':
      return new ResourceNotFoundError(String(err.data?.uri ?? ''), err.message);
    case 'invalid_params':
      return new ProtocolError(ProtocolErrorCode.InvalidParams, err.message, err.data);
    case 'not_permitted':
      return new ProtocolError(ProtocolErrorCode.InvalidRequest, err.message, err.data);
  }
}
const rethrowModern = (err: unknown): never => {
  throw modernError(err);
};

const principalOf = (ctx: ServerContext) => principalFromAuthInfo(ctx.http?.authInfo as AuthInfo | undefined);

function registerTool(server: ModernMcpServer, spec: ToolSpec, services: ToolServices): void {
  server.registerTool(
    spec.name,
    toolDefinition(spec),
    async (args: Record<string, unknown>, ctx: ServerContext) => {
      const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
      const state = ctx.mcpReq.requestState<unknown>();
      const outcome = await runTool(spec, args, {
        principal: principalOf(ctx),
        sessionId: undefined,
        services,
        interaction: {
          era: 'modern',
          canElicitForm: canElicitForm(envelope?.[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: unknown } | undefined),
          responses: ctx.mcpReq.inputResponses,
          requestState: typeof state === 'string' ? state : undefined,
        },
      });
      if (!isInputRequired(outcome)) return outcome as never;
      const { inputRequests, requestState } = outcome.inputRequired;
      return inputRequired({
        ...(inputRequests
          ? { inputRequests: Object.fromEntries(Object.entries(inputRequests).map(([key, form]) => [key, inputRequired.elicit({ mode: 'form', ...form } as never)])) }
          : {}),
        ...(requestState !== undefined ? { requestState } : {}),
      });
    },
  );
}

/** A fresh server for one 2026-07-28 request (the SDK binds an instance to one exchange). */
export function buildModernServer(services: ToolServices): ModernMcpServer {
  const server = new ModernMcpServer(SERVER_INFO, { instructions: INSTRUCTIONS, cacheHints: CACHE_HINTS as never });
  for (const tool of TOOLS) registerTool(server, tool, services);

  server.registerResource(
    TICKET_RESOURCE.name,
    new ModernResourceTemplate(TICKET_URI_TEMPLATE, { list: undefined }),
    { title: TICKET_RESOURCE.title, description: TICKET_RESOURCE.description, mimeType: TICKET_RESOURCE.mimeType },
    (uri, variables, ctx) => readTicketResource(services, principalOf(ctx), uri.toString(), variables.id).catch(rethrowModern),
  );
  // The SDK's own resources/list has no paging: ours replaces it.
  server.server.setRequestHandler('resources/list', (request, ctx) =>
    listTicketResources(services, principalOf(ctx), request.params?.cursor).catch(rethrowModern),
  );

  for (const prompt of PROMPTS) {
    server.registerPrompt(prompt.name, { title: prompt.title, description: prompt.description, argsSchema: objectSchema(prompt.args) }, ((args: never, ctx: ServerContext) =>
      prompt.get(args, principalOf(ctx), services).catch(rethrowModern)) as never);
  }
  return server;
}
