/**
 * The one place that imports `@modelcontextprotocol/sdk` (1.x). Everything else in the app imports from
 * here, so the move to the 2.x packages (`@modelcontextprotocol/server`) is a change to this file.
 */
export { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
export type { RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
export type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
export type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
export {
  ErrorCode,
  McpError,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  ListResourcesRequestSchema,
  isInitializeRequest,
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
} from '@modelcontextprotocol/sdk/types.js';
