/**
 * The one place that imports `@modelcontextprotocol/sdk` (1.x). Everything else in the app imports from
 * here, so the move to the 2.x packages (`@modelcontextprotocol/server`) is a change to this file.
 */
export { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
export type { RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
export { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { McpServer as McpServerType } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ClientCapabilities as Caps, Implementation as Impl } from '@modelcontextprotocol/sdk/types.js';
export { StreamableHTTPServerTransport };
export type { EventStore, EventId, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
export type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
export type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
export {
  ErrorCode,
  McpError,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  ListResourcesRequestSchema,
  isInitializeRequest,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  isJSONRPCErrorResponse,
} from '@modelcontextprotocol/sdk/types.js';
export type {
  CallToolResult,
  ClientCapabilities,
  ElicitResult,
  GetPromptResult,
  ListResourcesResult,
  ReadResourceResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
  JSONRPCMessage,
  Implementation,
} from '@modelcontextprotocol/sdk/types.js';

// ---------------------------------------------------------------------------------------------------
// Session restoration (SDK 1.x internals, kept to this one function on purpose).
//
// Sessions continue on whichever replica receives the next request (see the root README, "Sessions
// across replicas"). SDK 1.x has no public way to build a transport that is already initialised with
// a given Mcp-Session-Id, nor a Server whose client capabilities/info come from an earlier initialize
// handshake: `WebStandardStreamableHTTPServerTransport` sets `sessionId` + `_initialized` only while
// answering `initialize`, and `Server` keeps `_clientCapabilities` / `_clientVersion` from
// `_oninitialize`. So `restoreSession` writes exactly those four fields, after checking that they are
// where 1.32 keeps them (a different SDK fails loudly here instead of serving half-restored sessions).
// The 2.x migration replaces this with whatever 2.x offers for resuming sessions.
// ---------------------------------------------------------------------------------------------------

export interface RestoredSessionState {
  sessionId: string;
  clientCapabilities: Caps;
  clientInfo: Impl;
}

interface WebTransportInternals {
  sessionId?: string;
  _initialized: boolean;
}
interface ServerInternals {
  _clientCapabilities?: Caps;
  _clientVersion?: Impl;
}

function webTransportOf(transport: StreamableHTTPServerTransport): WebTransportInternals {
  const web = (transport as unknown as { _webStandardTransport?: WebTransportInternals })._webStandardTransport;
  if (!web || typeof web._initialized !== 'boolean') {
    throw new Error('restoreSession: this @modelcontextprotocol/sdk version does not keep transport state where 1.x did (see src/mcp/sdk.ts)');
  }
  return web;
}

/**
 * Makes a fresh (server, transport) pair behave as the continuation of an initialised session: the
 * transport accepts requests carrying `sessionId` (and no second initialize), the server knows the
 * client's capabilities (elicitation...) and info. Call after `server.connect(transport)`.
 */
export function restoreSession(server: McpServerType, transport: StreamableHTTPServerTransport, state: RestoredSessionState): void {
  const web = webTransportOf(transport);
  const inner = server.server as unknown as ServerInternals;
  web.sessionId = state.sessionId;
  web._initialized = true;
  inner._clientCapabilities = state.clientCapabilities;
  inner._clientVersion = state.clientInfo;
  if (server.server.getClientCapabilities() !== state.clientCapabilities || transport.sessionId !== state.sessionId) {
    throw new Error('restoreSession: the SDK did not take the restored state (see src/mcp/sdk.ts)');
  }
}
