import type { NextFunction, Request, Response } from 'express';
import { ALL_SCOPES } from '@mcp-gw/shared';

const DISCOVERY_PATHS = new Set(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);

/**
 * oidc-provider lists only OpenID Connect scopes in `scopes_supported`; MCP clients read it to know
 * what to ask for (claude.ai asks for all of it), so both metadata documents list the whole shared
 * catalogue, resource scopes included.
 */
export function discoveryScopes(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'GET' || !DISCOVERY_PATHS.has(req.path)) return next();
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (res.statusCode === 200 && chunk && /json/.test(String(res.getHeader('content-type')))) {
      try {
        const metadata = JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
        metadata.scopes_supported = ALL_SCOPES.map((s) => s.name);
        const body = JSON.stringify(metadata);
        res.setHeader('content-length', Buffer.byteLength(body));
        return end(body, ...rest.filter((r) => typeof r === 'function'));
      } catch {
        // not the document we expected: pass it through untouched
      }
    }
    return end(chunk, ...rest);
  }) as Response['end'];
  next();
}
