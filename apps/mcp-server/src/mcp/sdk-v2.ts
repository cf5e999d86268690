/**
 * The one place that imports `@modelcontextprotocol/server` (SDK 2.x), which serves the 2026-07-28
 * revision: the per-request handler, its era classifier, and the server the tools are registered on.
 */
export {
  McpServer as ModernMcpServer,
  ResourceTemplate as ModernResourceTemplate,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  classifyInboundRequest,
  createMcpHandler,
  inputRequired,
  CLIENT_CAPABILITIES_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS as MODERN_SDK_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
export type {
  AuthInfo as ModernAuthInfo,
  CacheHint,
  InboundClassificationOutcome,
  McpHttpHandler,
  ServerContext,
} from '@modelcontextprotocol/server';
