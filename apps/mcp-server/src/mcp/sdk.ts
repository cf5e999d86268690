/**
 * The one place that imports `@modelcontextprotocol/sdk` (1.x), which serves the 2025-era sessions
 * (its 2.x successor, serving 2026-07-28, is behind ./sdk-v2.ts).
 */
export { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
export type { RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
export { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { McpServer as McpServerType } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ClientCapabilities as Caps, Implementation as Impl } from '@modelcontextprotocol/sdk/types.js';
export type { EventStore, EventId, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
export type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
export type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
export type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
export {
  ErrorCode,
  McpError,
  LATEST_PROTOCOL_VERSION,
  DEFAULT_NEGOTIATED_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  JSONRPCMessageSchema,
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
  MessageExtraInfo,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';

// ---------------------------------------------------------------------------------------------------
// Session restoration (SDK 1.x internals, kept to this one function on purpose).
//
// Sessions continue on whichever replica receives the next request (docs/adr/0008). The transport is
// ours (sessions/streamable-http.ts: `restore(sessionId)`), but
// SDK 1.x has no public way to build a Server whose client capabilities/info come from an earlier
// initialize handshake: `Server` keeps `_clientCapabilities` / `_clientVersion` from `_oninitialize`.
// So `restoreSession` writes exactly those two fields, and checks that the SDK reads them back (a
// different SDK fails loudly here instead of serving half-restored sessions). The 2.x migration
// replaces this with whatever 2.x offers for resuming sessions.
// ---------------------------------------------------------------------------------------------------

export interface RestoredSessionState {
  clientCapabilities: Caps;
  clientInfo: Impl;
}

interface ServerInternals {
  _clientCapabilities?: Caps;
  _clientVersion?: Impl;
}

/** Makes a fresh server know the client's capabilities (elicitation...) and info from the session's initialize. */
export function restoreSession(server: McpServerType, state: RestoredSessionState): void {
  const inner = server.server as unknown as ServerInternals;
  inner._clientCapabilities = state.clientCapabilities;
  inner._clientVersion = state.clientInfo;
  if (server.server.getClientCapabilities() !== state.clientCapabilities || server.server.getClientVersion() !== state.clientInfo) {
    throw new Error('restoreSession: the SDK did not take the restored state (see src/mcp/sdk.ts)');
  }
}
