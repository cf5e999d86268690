// Patches @modelcontextprotocol/sdk 1.x dist/esm/server/mcp.js McpServer (its tools/call and resources/read handlers) through Protocol._requestHandlers (dist/esm/shared/protocol.js).
//
// The 2025-11-25 spec makes an unknown tool a protocol error (-32602), and a resource that does not exist
// -32002 with its uri; SDK 1.x answers the first as an isError tool result (its tools/call handler wraps
// every error) and the second, for a URI no template matches, as -32602 without the uri. The 2026-07-28
// leg (SDK 2.x) already answers as its revision says. Checked by test/sdk-extensions.test.ts.
import { ErrorCode, McpError, type McpServer } from '../sdk.js';

type RawHandler = (request: { params?: Record<string, unknown> }, extra: unknown) => Promise<unknown>;

function handlersOf(server: McpServer): Map<string, RawHandler> {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, RawHandler> })._requestHandlers;
  if (!(handlers instanceof Map)) throw new Error('legacy-unknown-names: SDK 1.x Protocol._requestHandlers is gone (see src/mcp/extensions/)');
  return handlers;
}

/** Call after every tool and resource is registered on `server`. */
export function answerUnknownNamesAsTheSpecSays(server: McpServer, toolNames: ReadonlySet<string>): void {
  const handlers = handlersOf(server);
  const call = handlers.get('tools/call');
  const read = handlers.get('resources/read');
  if (!call || !read) throw new Error('legacy-unknown-names: the SDK registered no tools/call or resources/read handler (see src/mcp/extensions/)');
  handlers.set('tools/call', (request, extra) => {
    const name = request.params?.name;
    if (typeof name !== 'string' || !toolNames.has(name)) {
      return Promise.reject(new McpError(ErrorCode.InvalidParams, `Unknown tool: ${String(name)}`));
    }
    return call(request, extra);
  });
  handlers.set('resources/read', (request, extra) =>
    read(request, extra).catch((err: unknown) => {
      const uri = request.params?.uri;
      if (err instanceof McpError && err.code === ErrorCode.InvalidParams && typeof uri === 'string' && err.message.includes(`Resource ${uri} not found`)) {
        throw new McpError(-32002, `Resource not found: ${uri}`, { uri });
      }
      throw err;
    }),
  );
}
