import type { NextFunction, Request, Response } from 'express';
import { MCP_SCOPES, parseScope } from '@mcp-gw/shared';
import { CONSOLE_CLIENT_ID } from './admin/session.js';

/**
 * Smooths over dialects real MCP clients send to the authorization endpoint before oidc-provider
 * sees the request: a scope with stray spaces (`" offline_access"`) is normalised, and a request
 * that asks for none of the MCP scopes asks for all of them (the consent page still shows each).
 */
export function authorizeCompat(mcpResources: readonly string[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
  if (req.method !== 'GET' || req.path !== '/auth') return next();
  const query = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1));
  if (query.get('client_id') === CONSOLE_CLIENT_ID) return next();
  if (query.getAll('scope').length > 1 || query.getAll('resource').length > 1) return next(); // oidc-provider refuses duplicates
  const resource = query.get('resource')?.replace(/\/+$/, '');
  if (resource && !mcpResources.includes(resource)) return next();
  const requested = parseScope(query.get('scope'));
  const wantsMcp = requested.some((s) => (MCP_SCOPES as readonly string[]).includes(s));
  const scopes = wantsMcp ? requested : [...requested, ...MCP_SCOPES];
  query.set('scope', scopes.join(' '));
  req.url = `/auth?${query.toString()}`;
  next();
  };
}
