import type { RequestHandler } from 'express';
import { MCP_SCOPES } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name: string;
  resource_documentation: string;
}

/** RFC 9728 metadata: `resource` is exactly the MCP URL clients use, the issuer exactly as the AS names itself. */
export function protectedResourceMetadata(config: McpServerConfig): ProtectedResourceMetadata {
  return {
    resource: config.MCP_RESOURCE_URL,
    authorization_servers: [config.AUTH_ISSUER],
    // Only what this resource serves: never offline_access or identity scopes.
    scopes_supported: [...MCP_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: 'Ticketing (MCP)',
    resource_documentation: config.RESOURCE_DOCUMENTATION_URL ?? `${new URL(config.MCP_RESOURCE_URL).origin}/docs`,
  };
}

export function protectedResourceMetadataHandler(config: McpServerConfig): RequestHandler {
  const body = JSON.stringify(protectedResourceMetadata(config));
  return (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(body);
  };
}
