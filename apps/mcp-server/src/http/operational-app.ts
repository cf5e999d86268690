import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Database } from '@mcp-gw/db';
import type { AccessTokenVerifier, Logger } from '@mcp-gw/shared';
import { resourceMetadataUrl, type McpServerConfig } from '../config.js';
import { protectedResourceMetadataHandler } from '../auth/protected-resource.js';
import type { Metrics } from '../observability/metrics.js';
import { renderDocs } from './docs.js';

/**
 * Every route but the MCP endpoint, on Express: liveness, readiness (database, the authorization
 * server's keys, the drain), Prometheus metrics, the docs page and the RFC 9728 metadata at both its
 * root and path-inserted locations.
 */
export function createOperationalApp(options: {
  config: McpServerConfig;
  db: Database;
  verifier: AccessTokenVerifier;
  metrics: Metrics;
  logger: Logger;
  securityHeaders: RequestHandler;
  isDraining(): boolean;
}): express.Express {
  const { config, db, verifier, metrics, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (config.TRUST_PROXY !== undefined) app.set('trust proxy', config.TRUST_PROXY);
  app.use(options.securityHeaders);

  // HTTP metrics: one label per known route, never the raw path (unbounded cardinality).
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      // (The MCP endpoint, served outside Express, records its own under "mcp".)
      const route = req.path.startsWith('/.well-known/oauth-protected-resource')
        ? 'protected_resource_metadata'
        : ['/live', '/ready', '/metrics', '/docs'].includes(req.path)
          ? req.path.slice(1)
          : 'other';
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      if (res.getHeader('content-type') !== 'text/event-stream') {
        metrics.httpDuration.observe({ method: req.method, route }, (performance.now() - started) / 1000);
      }
    });
    next();
  });

  app.get('/live', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ok = true;
    res.setHeader('Cache-Control', 'no-store');
    if (options.isDraining()) {
      res.status(503).json({ status: 'not_ready', checks: { shutdown: 'draining' } });
      return;
    }
    try {
      await db.query('SELECT 1');
      checks.database = 'ok';
    } catch (err) {
      ok = false;
      checks.database = 'unavailable';
      logger.warn({ err }, 'readiness: database check failed');
    }
    if (config.MCP_AUTH_DISABLED) checks.jwks = 'skipped (auth disabled)';
    else {
      try {
        if (!verifier.jwks.ready) await verifier.jwks.refresh(true);
        checks.jwks = 'ok';
      } catch (err) {
        ok = false;
        checks.jwks = 'unavailable';
        logger.warn({ err }, 'readiness: cannot load the authorization server keys');
      }
    }
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  app.get('/docs', (_req, res) => {
    res.type('html').send(renderDocs(config));
  });

  // RFC 9728 metadata: open CORS (public, read-only, credential-free).
  const openCors = cors({ origin: '*', methods: ['GET', 'OPTIONS'], maxAge: 86400 });
  const prm = protectedResourceMetadataHandler(config);
  const prmPath = new URL(resourceMetadataUrl(config.MCP_RESOURCE_URL)).pathname;
  for (const path of new Set(['/.well-known/oauth-protected-resource', prmPath])) {
    app.options(path, openCors);
    app.get(path, openCors, prm);
  }

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found' });
  });

  // Last resort: log, answer without internals.
  const lastResort: ErrorRequestHandler = (err, req, res, _next) => {
    logger.error({ err, path: req.path, method: req.method }, 'unhandled request error');
    if (!res.headersSent) res.status(500).json({ error: 'internal_error' });
    else res.end();
  };
  app.use(lastResort);
  return app;
}
