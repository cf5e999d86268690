import type { IncomingMessage } from 'node:http';
import type { McpServerConfig } from '../config.js';
import { httpErrors } from '../protocol/http-errors.js';

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
 * server: the resource URL's host, a loopback name, or ALLOWED_HOSTS. Throws the 403 to answer.
 */
export function dnsRebindingGuard(config: McpServerConfig): (req: IncomingMessage) => void {
  const origins = allowedOrigins(config);
  const resourceHost = new URL(config.MCP_RESOURCE_URL);
  const hostnames = new Set(['localhost', '127.0.0.1', '[::1]', resourceHost.hostname.toLowerCase()]);
  const hostsWithPort = new Set<string>([resourceHost.host.toLowerCase()]);
  for (const h of config.ALLOWED_HOSTS) {
    const v = h.toLowerCase();
    if (/:\d+$/.test(v) && !v.endsWith(']')) hostsWithPort.add(v);
    else hostnames.add(v);
  }
  return (req) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
    if (!host || !(hostsWithPort.has(host) || hostnames.has(hostname))) throw httpErrors.forbiddenHost();
    const origin = req.headers.origin;
    if (origin !== undefined && !isOriginAllowed(origin, origins)) throw httpErrors.forbiddenOrigin();
  };
}
