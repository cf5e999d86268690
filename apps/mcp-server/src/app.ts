import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import helmet from 'helmet';
import { Redis } from 'ioredis';
import type { Database } from '@mcp-gw/db';
import { type AccessTokenVerifier, type Logger, type RevocationEvent } from '@mcp-gw/shared';
import type { McpServerConfig } from './config.js';
import { createTokenVerifier } from './auth/bearer-auth.js';
import { createDpopVerifier } from './auth/dpop-verifier.js';
import { GrantStatus } from './auth/grant-status.js';
import { startMaintenance } from './domain/maintenance.js';
import { InFlightRequests } from './http/in-flight.js';
import { mcpCors } from './http/mcp-cors.js';
import { createMcpEndpoint, pathMatcher } from './http/mcp-endpoint.js';
import { createOperationalApp } from './http/operational-app.js';
import { staticHeaders } from './http/security-headers.js';
import { buildMcpServer } from './mcp/legacy-server.js';
import { Metrics } from './observability/metrics.js';
import { createToolServices } from './services.js';
import { applyRevocation, startRevocationListener, type LiveConnections } from './sessions/revocation-listener.js';
import { createSessionEndpoint } from './sessions/session-endpoint.js';
import { createSessionInfrastructure } from './sessions/session-infrastructure.js';
import type { SessionManager } from './sessions/session-manager.js';
import { createModernEndpoint } from './stateless/modern-endpoint.js';

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
   * the authorization server in this same process on the embedded database, which other processes
   * only write through (and which tells this one). Standing grants may then be remembered for
   * GRANT_CACHE_SECONDS. Returns its detach.
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

/** helmet's headers, one policy for every response of the app (the MCP endpoint sends them too). */
const securityHeaders = helmet({
  // Browser MCP clients (the Inspector) read our JSON cross-origin.
  crossOriginResourcePolicy: { policy: 'cross-origin' },
  contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameAncestors: ["'none'"] } },
});

/**
 * The MCP resource server, composed: the stores, the two protocol eras' legs, revocation, the HTTP edge.
 * Owns nothing process-level (no signal handlers, no listening socket, no database connection), so it
 * can run beside the authorization server in one process on one database.
 */
export function createMcpApp(options: McpAppOptions): McpApp {
  const { config, db, logger } = options;
  const metrics = options.metrics ?? new Metrics();
  const verifier = options.verifier ?? createTokenVerifier(config);
  const limitsRedis = config.REDIS_URL ? new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }) : undefined;
  limitsRedis?.on('error', (err) => logger.warn({ err }, 'redis error (rate limits fall back to memory)'));
  const services = createToolServices({ config, db, logger, metrics, redis: limitsRedis });
  const dpop = createDpopVerifier(config, limitsRedis, logger);

  // The two eras: 2025-era sessions, 2026-07-28 stateless requests.
  const legacy = createSessionInfrastructure({ config, prisma: db.prisma, logger, metrics, createServer: () => buildMcpServer(services) });
  const { sessions } = legacy;
  const modern = createModernEndpoint({ services, logger, maxBodyBytes: config.MAX_BODY_BYTES });

  // Revocation: what a revoked grant or client ends at once, and the feed that tells us.
  const live: LiveConnections = {
    closeByGrant: async (grantId) => modern.closeByGrant(grantId) + (await sessions.closeByGrant(grantId)),
    closeByClient: async (clientId) => modern.closeByClient(clientId) + (await sessions.closeByClient(clientId)),
  };
  const grants = new GrantStatus(db.prisma, { ttlMs: config.GRANT_CACHE_SECONDS * 1000 });
  const stopListener = legacy.redis ? startRevocationListener(config.REDIS_URL!, live, grants, logger, legacy.redis) : undefined;
  const stopMaintenance = startMaintenance(db.prisma, logger);
  if (config.MCP_AUTH_DISABLED) {
    logger.warn({ sub: config.MCP_AUTH_DISABLED_SUB }, 'MCP_AUTH_DISABLED: /mcp serves every request as one user WITHOUT authentication (benchmarks only)');
  }

  // The HTTP edge: /mcp without Express, everything else on it.
  let draining = false;
  const inFlight = new InFlightRequests();
  const app = createOperationalApp({ config, db, verifier, metrics, logger, securityHeaders, isDraining: () => draining });
  const isMcpPath = pathMatcher(new URL(config.MCP_RESOURCE_URL).pathname.replace(/\/+$/, '') || '/');
  const mcpEndpoint = createMcpEndpoint({
    config,
    sessions: createSessionEndpoint({ sessions, logger }),
    modern,
    verifier,
    dpop,
    grants,
    audit: services.audit,
    metrics,
    logger,
    cors: mcpCors(config),
    securityHeaders: staticHeaders(securityHeaders),
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
    onGrantRevoked: (grantId) => {
      void live.closeByGrant(grantId).then((n) => n && logger.info({ grant: grantId, sessions: n }, 'closed sessions of a revoked grant'));
    },
    trackPost: (res) => inFlight.track(res),
  });

  let closed = false;
  return {
    app,
    listener: (req, res) => (isMcpPath(req.url) ? void mcpEndpoint(req, res) : app(req, res)),
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
      return inFlight.size;
    },
    async drain(timeoutMs) {
      draining = true;
      sessions.closeStreams();
      modern.closeStreams();
      return { drained: await inFlight.idle(timeoutMs) };
    },
    async close() {
      if (closed) return;
      closed = true;
      draining = true;
      stopMaintenance();
      await modern.close();
      if (stopListener) await (await stopListener)();
      await legacy.close();
      if (limitsRedis) await limitsRedis.quit().catch(() => limitsRedis.disconnect());
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
