import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type Provider from 'oidc-provider';
import type { Database } from '@mcp-gw/db';
import { createLogger, type Logger } from '@mcp-gw/shared';
import { AccountService } from './accounts.js';
import { scrubStoredCredentials, sweepExpired } from './adapter.js';
import { AuditLog } from './audit.js';
import { authorizeCompat } from './authorize-compat.js';
import { resourceUrls, type AuthServerConfig } from './config.js';
import { SecretBox } from './crypto-box.js';
import { interactionRouter } from './interactions/router.js';
import { FederatedAccounts } from './federation/accounts.js';
import { federationRouter } from './federation/router.js';
import { loadCookieKeys, SigningKeyStore } from './keys.js';
import { KeyRing } from './key-ring.js';
import { applyKeysToProvider } from './oidc/extensions/index.js';
import { createProvider } from './provider.js';
import { adminApiResource } from './grants.js';
import { adminApiRouter } from './admin/api.js';
import { consoleRouter } from './admin/router.js';
import { AdminService } from './admin/service.js';
import { createRevocationPublisher } from './revocation-bus.js';
import { revocationsToOwner } from './owner-notices.js';
import { issuerPath, underIssuerPath } from './site-path.js';
import { AccessTokenVerifier, JwksCache } from '@mcp-gw/shared';
import { trackRegistrations } from './registration/tracking.js';
import { oauthError, registrationRouter } from './registration/router.js';
import { APP_CSS } from './views/styles.js';
import { renderHomePage } from './views/home.js';
import { renderErrorPage } from './views/pages.js';
import { ServiceClientRegistry } from './service-clients/registry.js';

export interface AuthApp {
  app: express.Express;
  admin: AdminService;
  provider: Provider;
  /** Machine clients (client_credentials) and their service principals. */
  serviceClients: ServiceClientRegistry;
  accounts: AccountService;
  audit: AuditLog;
  keys: SigningKeyStore;
  /** The signing keys in use, reloaded from the database (rotation reaches every replica). */
  keyRing: KeyRing;
  /** Stops timers; the database belongs to the caller. */
  close(): Promise<void>;
}

export interface AuthAppOptions {
  config: AuthServerConfig;
  db: Database;
  logger?: Logger;
  redis?: unknown;
}

// Paths oidc-provider serves as JSON APIs: errors there are JSON, never an HTML page.
const API_PATHS = /^\/(token|reg|jwks|me|\.well-known)(\/|$)/;
/** How old the keys behind a JWKS answer may be. */
const JWKS_MAX_AGE_MS = 5_000;

export async function createAuthApp({ config, db, logger = createLogger('auth-server', config.LOG_LEVEL), redis }: AuthAppOptions): Promise<AuthApp> {
  const { prisma } = db;
  const box = new SecretBox(config.KEY_ENCRYPTION_KEY);
  if (!box.encrypting) logger.warn('KEY_ENCRYPTION_KEY is not set: private keys are stored unencrypted (development only)');
  const keys = new SigningKeyStore(prisma, box);
  const ring = await KeyRing.open(keys, config.KEY_PUBLISH_AHEAD_SECONDS * 1000);
  const cookieKeys = await loadCookieKeys(prisma, box, config.COOKIE_KEYS);
  const scrubbed = await scrubStoredCredentials(prisma);
  if (scrubbed) logger.info({ rows: scrubbed }, 'credentials stored by an older version removed from the database');
  const accounts = new AccountService(db);
  const audit = new AuditLog(db, logger);
  const publisher = createRevocationPublisher(redis as never, logger, { ackTimeoutMs: config.REVOCATION_ACK_TIMEOUT_MS, owner: revocationsToOwner(db) });
  const serviceClients = new ServiceClientRegistry(db, config, audit);
  const federatedAccounts = new FederatedAccounts(db, audit);
  const provider = createProvider({ config, db, accounts, keys: ring, cookieKeys, logger, revocations: publisher, audit, serviceClients, federatedAccounts });
  trackRegistrations({ provider, db, audit, logger });
  const admin = new AdminService(prisma, audit, publisher, logger);
  // The admin API verifies its tokens against our own public keys, without a network round trip.
  const adminKeys = new JwksCache({ issuer: config.ISSUER, keys: { keys: ring.publicJwks } });
  const adminVerifier = new AccessTokenVerifier({ issuer: config.ISSUER, audience: adminApiResource(config), jwks: adminKeys });
  ring.onChange(() => {
    applyKeysToProvider(provider, ring);
    adminKeys.replaceKeys({ keys: ring.publicJwks });
    logger.info({ signing: ring.signingKid, published: ring.publicJwks.map((k) => k.kid) }, 'signing keys reloaded');
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w.-]{1,128}$/.test(incoming) ? incoming : crypto.randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // Query strings can carry codes and tokens: log the path only.
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/live' || req.url === '/ready' },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
          // form-action is left out on purpose: browsers apply it to the redirect chain after a
          // consent POST, which ends at the client's own redirect URI (any origin or scheme).
        },
      },
      strictTransportSecurity: config.ISSUER.startsWith('https://') ? { maxAge: 31_536_000 } : false,
      crossOriginResourcePolicy: { policy: 'cross-origin' },
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      // For browsers without CSP frame-ancestors: no page of this server is ever framed (helmet's
      // default, SAMEORIGIN, would let a page of this origin frame the consent page).
      xFrameOptions: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );

  app.get('/assets/app.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(APP_CSS);
  });
  app.get('/live', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/ready', async (_req, res) => {
    try {
      await db.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', reason: 'database' });
    }
  });
  app.get('/', (_req, res) => void res.type('html').send(renderHomePage(config)));

  app.get('/.well-known/oauth-protected-resource/admin/api', (_req, res) => {
    res.set('Access-Control-Allow-Origin', '*').json({
      resource: adminApiResource(config),
      authorization_servers: [config.ISSUER],
      scopes_supported: ['admin'],
      bearer_methods_supported: ['header'],
      resource_name: 'Authorization server admin API',
    });
  });
  app.use(adminApiRouter({ admin, accounts, serviceClients, verifier: adminVerifier, resource: adminApiResource(config) }));
  app.use(consoleRouter({ config, provider, accounts, admin, serviceClients }));
  app.use(registrationRouter({ config, logger, redis }));
  app.use(authorizeCompat(resourceUrls(config)));
  const signInRoutes = config.UPSTREAM_IDPS.length
    ? federationRouter({ config, provider, db, accounts: federatedAccounts, audit, logger, cookieKeys })
    : undefined;
  app.use(interactionRouter({ config, provider, db, accounts, audit, logger, redis, signInRoutes }));
  // A JWKS request is answered with keys at most a few seconds old (a rotation on another machine).
  app.get('/jwks', (_req, _res, next) => {
    ring.fresh(JWKS_MAX_AGE_MS).then(() => next(), () => next());
  });
  app.use(provider.callback());

  app.use((err: Error & { status?: number; statusCode?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    if (status >= 500) req.log?.error({ err }, 'request failed');
    const isApi = API_PATHS.test(req.path);
    if (status < 500) {
      return void (isApi
        ? oauthError(res, status, 'invalid_request', err.type === 'entity.too.large' ? 'request body too large' : 'malformed request')
        : res.status(status).type('html').send(renderErrorPage({ error: 'invalid_request', description: 'The request was malformed.' })));
    }
    if (isApi) return void oauthError(res, 500, 'server_error', 'internal error');
    res.status(500).type('html').send(renderErrorPage({ error: 'server_error', description: 'Something went wrong on our side. Try again.' }));
  });

  const keyReload = setInterval(() => {
    ring.reload().catch((err) => logger.warn({ err }, 'signing keys could not be reloaded (kept the current ones)'));
  }, config.KEY_RELOAD_SECONDS * 1000);
  keyReload.unref();

  const sweep = setInterval(() => {
    sweepExpired(prisma, new Date(), config.AUDIT_RETENTION_DAYS)
      .then((count) => count && logger.info({ count }, 'expired rows removed'))
      .catch((err) => logger.warn({ err }, 'cleanup failed'));
    admin.purgeUnusedClients(config.CLIENT_UNUSED_TTL, config.CLIENT_IDLE_TTL).catch((err) => logger.warn({ err }, 'client purge failed'));
  }, config.CLEANUP_INTERVAL * 1000);
  sweep.unref();

  return {
    app: mountAtIssuerPath(app, config),
    admin,
    serviceClients,
    provider,
    accounts,
    audit,
    keys,
    keyRing: ring,
    async close() {
      clearInterval(sweep);
      clearInterval(keyReload);
      await publisher.close();
    },
  };
}

export interface RunningAuthServer extends AuthApp {
  server: http.Server;
  url: string;
}

/** Starts the authorization server on config.HOST:config.PORT (0 picks a free port). */
export async function startAuthServer(options: AuthAppOptions): Promise<RunningAuthServer> {
  const authApp = await createAuthApp(options);
  const server = http.createServer(authApp.app);
  // Slow clients cannot hold sockets open forever.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.config.PORT, options.config.HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    ...authApp,
    server,
    url: `http://${options.config.HOST.includes(':') ? `[${options.config.HOST}]` : options.config.HOST}:${port}`,
    async close() {
      await authApp.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The app below the issuer's path (ISSUER=https://example.com/oauth), for a proxy that keeps or strips it. */
function mountAtIssuerPath(app: express.Express, config: AuthServerConfig): express.Express {
  const base = issuerPath(config.ISSUER);
  if (!base) return app;
  const site = express();
  site.disable('x-powered-by');
  site.set('trust proxy', config.TRUST_PROXY);
  site.use(underIssuerPath(base));
  site.use(base, app);
  return site;
}
