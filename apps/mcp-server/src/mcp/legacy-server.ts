// The 2025-era server (SDK 1.x), one per session: the era-neutral tools, resources and prompts
// registered on it, with elicitation as the way a tool asks the person.
import { principalFromAuthInfo } from '../auth/principal.js';
import { PROMPTS } from '../prompts/index.js';
import { RequestError } from '../protocol/errors.js';
import { TICKET_RESOURCE, TICKET_URI_TEMPLATE, listTicketResources, readTicketResource } from '../resources/tickets.js';
import { canElicitForm, runTool, toolDefinition, isInputRequired, toolError, type ToolServices, type ToolSpec } from '../tools/registry.js';
import { TOOLS } from '../tools/tickets.js';
import {
  AjvJsonSchemaValidator,
  ErrorCode,
  ListResourcesRequestSchema,
  McpError,
  McpServer,
  ResourceTemplate,
  type CallToolResult,
  type RequestHandlerExtra,
  type ServerNotification,
  type ServerRequest,
} from './sdk.js';
import { INSTRUCTIONS, SERVER_INFO } from './server-info.js';
import { answerUnknownNamesAsTheSpecSays } from './extensions/legacy-unknown-names.js';
const TOOL_NAMES: ReadonlySet<string> = new Set(TOOLS.map((t) => t.name));

export { SERVER_INFO };

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Validates elicitation answers for every session (the SDK would build an Ajv per session). Ajv keeps
 * each compiled schema, keyed by the schema object, and every elicitation sends a new one: the Ajv is
 * replaced after a bounded number of compilations so that cache cannot grow without bound.
 */
class SharedJsonSchemaValidator {
  private static readonly MAX_COMPILED = 500;
  private ajv = new AjvJsonSchemaValidator();
  private compiled = 0;

  getValidator<T>(schema: Parameters<AjvJsonSchemaValidator['getValidator']>[0]) {
    if (++this.compiled > SharedJsonSchemaValidator.MAX_COMPILED) {
      this.ajv = new AjvJsonSchemaValidator();
      this.compiled = 1;
    }
    return this.ajv.getValidator<T>(schema);
  }
}
const jsonSchemaValidator = new SharedJsonSchemaValidator();

/** A RequestError with the 2025-era code (resource not found: -32002). */
function legacyError(err: unknown): unknown {
  if (!(err instanceof RequestError)) return err;
  switch (err.kind) {
    case 'resource_not_found':
      return new McpError(-32002, err.message, err.data);
    case 'invalid_params':
      return new McpError(ErrorCode.InvalidParams, err.message, err.data);
    case 'not_permitted':
      return new McpError(ErrorCode.InvalidRequest, err.message, err.data);
  }
}
const rethrowLegacy = (err: unknown): never => {
  throw legacyError(err);
};

function registerTool(server: McpServer, spec: ToolSpec, services: ToolServices): void {
  server.registerTool(
    spec.name,
    toolDefinition(spec),
    (async (args: Record<string, unknown>, extra: Extra): Promise<CallToolResult> => {
      const outcome = await runTool(spec, args, {
        principal: principalFromAuthInfo(extra.authInfo),
        sessionId: extra.sessionId,
        services,
        interaction: {
          era: 'legacy',
          canElicitForm: canElicitForm(server.server.getClientCapabilities()),
          elicit: (form) => server.server.elicitInput({ mode: 'form', ...form }, { relatedRequestId: extra.requestId, timeout: 10 * 60_000 }),
        },
      });
      // Only 2026-07-28 calls may return input_required; a tool that does so here is a bug.
      return isInputRequired(outcome) ? toolError(`${spec.name} asked for input this session cannot carry.`) : outcome;
    }) as never,
  );
}

/** One MCP server per session (the SDK binds a server to one transport); services are shared. */
export function buildMcpServer(services: ToolServices): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions: INSTRUCTIONS,
    capabilities: { logging: {} },
    jsonSchemaValidator,
  });
  for (const tool of TOOLS) registerTool(server, tool, services);

  server.registerResource(
    TICKET_RESOURCE.name,
    new ResourceTemplate(TICKET_URI_TEMPLATE, { list: undefined }),
    { title: TICKET_RESOURCE.title, description: TICKET_RESOURCE.description, mimeType: TICKET_RESOURCE.mimeType },
    (uri, variables, extra) => readTicketResource(services, principalFromAuthInfo(extra.authInfo), uri.toString(), variables.id).catch(rethrowLegacy),
  );
  // The SDK's own resources/list has no paging: ours replaces it.
  server.server.setRequestHandler(ListResourcesRequestSchema, (request, extra) =>
    listTicketResources(services, principalFromAuthInfo(extra.authInfo), request.params?.cursor).catch(rethrowLegacy),
  );

  for (const prompt of PROMPTS) {
    server.registerPrompt(prompt.name, { title: prompt.title, description: prompt.description, argsSchema: prompt.args }, ((args: never, extra: Extra) =>
      prompt.get(args, principalFromAuthInfo(extra.authInfo), services).catch(rethrowLegacy)) as never);
  }
  answerUnknownNamesAsTheSpecSays(server, TOOL_NAMES);
  return server;
}
