/**
 * MCP wire shapes the tools, resources and prompts layers build (types only: they are plain JSON, the
 * same in every protocol era). Taken from SDK 1.x's zod-derived types so there is one definition.
 */
export type {
  CallToolResult,
  ClientCapabilities,
  ElicitRequestFormParams,
  GetPromptResult,
  ListResourcesResult,
  ReadResourceResult,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
