import type { RequestHandler } from 'express';
import { DPOP_ALGORITHMS, MCP_SCOPES } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  dpop_signing_alg_values_supported: string[];
  dpop_bound_access_tokens_required: boolean;
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
    // RFC 9449 §5.1: key-bound tokens are checked here; plain bearer tokens stay accepted.
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    dpop_bound_access_tokens_required: false,
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
