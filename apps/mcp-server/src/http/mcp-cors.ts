import cors from 'cors';
import type { McpServerConfig } from '../config.js';
import { allowedOrigins, isOriginAllowed } from './guards.js';

/**
 * CORS for /mcp: browser clients (the Inspector) from the allowed origins only, sending and reading the
 * headers of both protocol eras (sessions and Last-Event-ID; 2026-07-28's Mcp-Method and Mcp-Name).
 */
export function mcpCors(config: McpServerConfig) {
  const origins = allowedOrigins(config);
  return cors({
    origin: (origin, cb) => cb(null, origin !== undefined && isOriginAllowed(origin, origins) ? origin : false),
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'DPoP', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Mcp-Method', 'Mcp-Name', 'Last-Event-ID', 'Accept'],
    exposedHeaders: ['Mcp-Session-Id', 'WWW-Authenticate', 'Mcp-Protocol-Version', 'DPoP-Nonce'],
    maxAge: 600,
  });
}
