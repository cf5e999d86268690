import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServerConfig } from '../config.js';
import { JSONRPC, sendJsonRpcError } from './jsonrpc.js';

/** Origins allowed to call /mcp from a browser: the resource's own origin plus ALLOWED_ORIGINS. */
export function allowedOrigins(config: McpServerConfig): Set<string> {
  return new Set([new URL(config.MCP_RESOURCE_URL).origin, ...config.ALLOWED_ORIGINS.map((o) => o.replace(/\/+$/, '').toLowerCase())]);
}

export function isOriginAllowed(origin: string, allowed: Set<string>): boolean {
  return allowed.has(origin.toLowerCase());
}

/**
 * DNS rebinding protection (MCP transport spec): a browser request carries Origin, which must be on the
 * allowlist; requests without Origin (non-browser MCP clients) pass. The Host header must name this
 * server: the resource URL's host, a loopback name, or ALLOWED_HOSTS. Returns false once it answered 403.
 */
export function dnsRebindingGuard(config: McpServerConfig): (req: IncomingMessage, res: ServerResponse) => boolean {
  const origins = allowedOrigins(config);
  const resourceHost = new URL(config.MCP_RESOURCE_URL);
  const hostnames = new Set(['localhost', '127.0.0.1', '[::1]', resourceHost.hostname.toLowerCase()]);
  const hostsWithPort = new Set<string>([resourceHost.host.toLowerCase()]);
  for (const h of config.ALLOWED_HOSTS) {
    const v = h.toLowerCase();
    if (/:\d+$/.test(v) && !v.endsWith(']')) hostsWithPort.add(v);
    else hostnames.add(v);
  }
  return (req, res) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    if (!host || !(hostsWithPort.has(host) || hostnames.has(hostname))) {
      sendJsonRpcError(res, 403, JSONRPC.SERVER_ERROR, 'Forbidden: the Host header does not name this server');
      return false;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isOriginAllowed(origin, origins)) {
      sendJsonRpcError(res, 403, JSONRPC.SERVER_ERROR, 'Forbidden: Origin not allowed');
      return false;
    }
    return true;
  };
}
