/**
 * The one place that imports `@modelcontextprotocol/sdk` (1.x), which serves the 2025-era sessions
 * (its 2.x successor, serving 2026-07-28, is behind ./sdk-v2.ts).
 */
export { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
export type { RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
export { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
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
