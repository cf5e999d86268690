import http from 'node:http';
import type { AddressInfo } from 'node:net';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Redis } from 'ioredis';
import type { Database } from '@mcp-gw/db';
import type { AccessTokenVerifier, Logger, RevocationEvent } from '@mcp-gw/shared';
import { resourceMetadataUrl, type McpServerConfig } from './config.js';
import { createTokenVerifier } from './auth/bearer-auth.js';
import { protectedResourceMetadataHandler } from './auth/protected-resource.js';
import { GrantStatus } from './auth/grant-status.js';
import { allowedOrigins, isOriginAllowed } from './http/guards.js';
import { createMcpEndpoint, pathMatcher } from './http/mcp-endpoint.js';
import { staticHeaders } from './http/security-headers.js';
import { renderDocs } from './http/docs.js';
import { buildMcpServer } from './mcp/legacy-server.js';
import { createModernEndpoint } from './mcp/modern-handler.js';
import { purgeExpired } from './domain/maintenance.js';
import { createToolServices } from './services.js';
import { Metrics } from './observability/metrics.js';
import { SessionManager } from './transport/session-manager.js';
import { DegradingSessionStore, RedisSessionBus, RedisSessionStore } from './transport/session-store.js';
import { MemoryEventStore, RedisEventStore, type EventStoreLimits } from './transport/event-store.js';
import { applyRevocation, startRevocationListener } from './transport/revocation-listener.js';

export interface McpAppOptions {
  config: McpServerConfig;
  /** An already-connected database with migrations applied; the app does not close it. */
  db: Database;
  logger: Logger;
  /** Overrides for tests and embedding. */
  verifier?: AccessTokenVerifier;
  metrics?: Metrics;
}

export interface McpApp {
  /** Every route but the MCP endpoint (metadata, health, metrics, docs). */
  app: express.Express;
  /** The request listener to serve: the MCP endpoint without Express, everything else through `app`. */
  listener: http.RequestListener;
  sessions: SessionManager;
  metrics: Metrics;
  verifier: AccessTokenVerifier;
  /** Whether tokens' grants stand (and whether that answer may be remembered now). */
  grants: GrantStatus;
  /**
   * Applies a revocation notice now (closes the named grants' or client's live sessions). The embedded
   * launcher wires the authorization server's revocations here; with REDIS_URL the app also listens on
   * the shared revocation channel itself.
   */
  revoke(event: RevocationEvent): Promise<number>;
  /**
   * Declares an in-process revocation feed that hears every revocation and passes it to revoke():
   * the authorization server in this same process on the embedded database, which no other process
   * can write. Standing grants may then be remembered for GRANT_CACHE_SECONDS. Returns its detach.
   */
  addRevocationFeed(): () => void;
  /**
   * Graceful shutdown, first half: /ready answers 503, standalone SSE streams close (clients reconnect,
   * to another replica), and this resolves once no /mcp POST is in flight (tool calls finish) or after
   * `timeoutMs`. Requests keep being served meanwhile (the load balancer may still send some).
   */
  drain(timeoutMs: number): Promise<{ drained: boolean }>;
  /** Requests to /mcp (POST) being answered now. */
  readonly inFlight: number;
  /** Closes sessions, timers and the Redis clients (not the database, not any HTTP server). */
  close(): Promise<void>;
}

/**
 * The MCP resource server as an express app. Owns nothing process-level (no signal handlers, no
 * listening socket, no database connection), so it can run beside the authorization server in one
 * process on one database.
 */
export function createMcpApp(options: McpAppOptions): McpApp {
  const { config, db, logger } = options;
  const metrics = options.metrics ?? new Metrics();
  const verifier = options.verifier ?? createTokenVerifier(config);
  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false })
    : undefined;
  redis?.on('error', (err) => logger.warn({ err }, 'redis error (rate limits fall back to memory)'));

  const services = createToolServices({ config, db, logger, metrics, redis });
  const audit = services.audit;
  // Sessions across replicas: with REDIS_URL the session records, the replicas' bus and the SSE event
  // store are in Redis (its own connection: these commands must wait for a reconnect, not fail fast
  // like the rate limiter's); without it everything stays in this process.
  // Commands fail at once while Redis is down (no offline queue): the stores fall back instead of waiting.
  const sessionRedis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000, enableOfflineQueue: false }) : undefined;
  sessionRedis?.on('error', (err) => logger.warn({ err }, 'redis error (sessions)'));
  const bus = sessionRedis ? new RedisSessionBus(config.REDIS_URL!, sessionRedis, logger) : undefined;
  const eventLimits: EventStoreLimits = { maxEvents: config.SSE_REPLAY_MAX_EVENTS, ttlMs: config.SSE_REPLAY_TTL_SECONDS * 1000 };
  const sessions = new SessionManager({
    store: sessionRedis ? new DegradingSessionStore(new RedisSessionStore(sessionRedis, config.SESSION_IDLE_TIMEOUT_MS), logger) : undefined,
    bus,
    createEventStore: (id) => (sessionRedis ? new RedisEventStore(sessionRedis, id, eventLimits) : new MemoryEventStore(eventLimits)),
    prisma: db.prisma,
    logger,
    metrics,
    createServer: () => buildMcpServer(services),
    maxSessions: config.MAX_SESSIONS,
    idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS,
    sweepIntervalMs: config.SESSION_SWEEP_INTERVAL_MS,
  });
  sessions.start();
  const modern = createModernEndpoint({ services, logger, maxBodyBytes: config.MAX_BODY_BYTES });
  // What a revocation ends at once: the grant's or client's sessions, and its open listen streams.
  const live = {
    closeByGrant: async (grantId: string) => modern.closeByGrant(grantId) + (await sessions.closeByGrant(grantId)),
    closeByClient: async (clientId: string) => modern.closeByClient(clientId) + (await sessions.closeByClient(clientId)),
  };
  // Expired idempotency records and confirmations are purged every 10 minutes (any replica may do it).
  const maintenance = setInterval(() => {
    void purgeExpired(db.prisma)
      .then((n) => (n.idempotency || n.confirmations) && logger.debug(n, 'purged expired records'))
      .catch((err) => logger.warn({ err }, 'purging expired records failed'));
  }, 10 * 60_000);
  maintenance.unref();
  const grants = new GrantStatus(db.prisma, { ttlMs: config.GRANT_CACHE_SECONDS * 1000 });
  const stopListener = sessionRedis ? startRevocationListener(config.REDIS_URL!, live, grants, logger, sessionRedis) : undefined;

  if (config.MCP_AUTH_DISABLED) {
    logger.warn({ sub: config.MCP_AUTH_DISABLED_SUB }, 'MCP_AUTH_DISABLED: /mcp serves every request as one user WITHOUT authentication (benchmarks only)');
  }

  const resourcePath = new URL(config.MCP_RESOURCE_URL).pathname.replace(/\/+$/, '') || '/';
  const prmPath = new URL(resourceMetadataUrl(config.MCP_RESOURCE_URL)).pathname;

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (config.TRUST_PROXY !== undefined) app.set('trust proxy', config.TRUST_PROXY);
  const securityHeaders = helmet({
    // Browser MCP clients (the Inspector) read our JSON cross-origin.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameAncestors: ["'none'"] } },
  });
  app.use(securityHeaders);

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

  let draining = false;
  let inFlight = 0;
  const idleWaiters: (() => void)[] = [];

  app.get('/ready', async (_req, res) => {
    const checks: Record<string, string> = {};
    let ok = true;
    if (draining) {
      res.setHeader('Cache-Control', 'no-store');
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
    res.setHeader('Cache-Control', 'no-store');
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
  for (const path of new Set(['/.well-known/oauth-protected-resource', prmPath])) {
    app.options(path, openCors);
    app.get(path, openCors, prm);
  }

  // ---- /mcp ----
  const origins = allowedOrigins(config);
  const mcpCors = cors({
    origin: (origin, cb) => cb(null, origin !== undefined && isOriginAllowed(origin, origins) ? origin : false),
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Mcp-Session-Id', 'Mcp-Protocol-Version', 'Mcp-Method', 'Mcp-Name', 'Last-Event-ID', 'Accept'],
    exposedHeaders: ['Mcp-Session-Id', 'WWW-Authenticate', 'Mcp-Protocol-Version'],
    maxAge: 600,
  });
  const isMcpPath = pathMatcher(resourcePath);
  const mcpEndpoint = createMcpEndpoint({
    config,
    sessions,
    modern,
    verifier,
    grants,
    audit,
    metrics,
    logger,
    cors: mcpCors,
    securityHeaders: staticHeaders(securityHeaders),
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
    onGrantRevoked: (grantId) => {
      void live.closeByGrant(grantId).then((n) => n && logger.info({ grant: grantId, sessions: n }, 'closed sessions of a revoked grant'));
    },
    // In-flight /mcp POSTs (tool calls...), for the drain.
    trackPost: (res) => {
      inFlight += 1;
      res.once('close', () => {
        inFlight -= 1;
        if (inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
      });
    },
  });

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

  let closed = false;
  return {
    app,
    listener: (req, res) => {
      if (isMcpPath(req.url)) void mcpEndpoint(req, res);
      else app(req, res);
    },
    sessions,
    metrics,
    verifier,
    grants,
    revoke: (event) => applyRevocation(live, grants, event),
    addRevocationFeed() {
      grants.feedUp();
      let attached = true;
      return () => {
        if (attached) grants.feedDown();
        attached = false;
      };
    },
    get inFlight() {
      return inFlight;
    },
    async drain(timeoutMs) {
      draining = true;
      sessions.closeStreams();
      modern.closeStreams();
      if (inFlight === 0) return { drained: true };
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => idleWaiters.push(() => resolve(true))),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      return { drained };
    },
    async close() {
      if (closed) return;
      closed = true;
      draining = true;
      clearInterval(maintenance);
      await modern.close();
      await sessions.closeAll();
      if (stopListener) await (await stopListener)();
      await bus?.close();
      if (sessionRedis) await sessionRedis.quit().catch(() => sessionRedis.disconnect());
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export interface StartedMcpServer {
  /** Base URL actually listening (http://host:port). */
  url: string;
  server: http.Server;
  mcp: McpApp;
  /** See McpApp.drain: readiness off, SSE streams closed, in-flight calls finished (or timeout). */
  drain(timeoutMs: number): Promise<{ drained: boolean }>;
  close(): Promise<void>;
}

/** Listens on config.HOST:config.PORT (port 0 = any free port). */
export async function startMcpServer(options: McpAppOptions & { port?: number; host?: string }): Promise<StartedMcpServer> {
  const mcp = createMcpApp(options);
  const server = http.createServer(mcp.listener);
  // Long-lived SSE streams: no request timeout; headers must still arrive promptly.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? options.config.HOST;
  const port = options.port ?? options.config.PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    mcp,
    drain: (timeoutMs) => mcp.drain(timeoutMs),
    async close() {
      await mcp.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
