import { JWT_BEARER } from '../enterprise/jwt-bearer-grant.js';
import { isUtf8 } from 'node:buffer';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@mcp-gw/shared';
import type { AuthServerConfig } from '../config.js';
import { createLimiter, retryAfterSeconds } from '../rate-limits.js';
import { normalizeRegistration, RegistrationError } from './normalize.js';

/**
 * Runs in front of oidc-provider's registration endpoint (RFC 7591 / 7592): CORS for browser-based
 * clients, a per-IP rate limit, a bounded JSON body, and the normalisation real MCP clients need.
 * oidc-provider then registers the normalised metadata from `req.body`.
 */
export function registrationRouter({ config, logger, redis }: { config: AuthServerConfig; logger: Logger; redis?: unknown }): express.Router {
  const router = express.Router();
  const limiter = createLimiter({ keyPrefix: 'dcr_ip', points: config.REGISTRATION_RATE_LIMIT, duration: 3600 }, redis);

  router.use('/reg', (req, res, next) => {
    const origin = req.get('origin');
    if (origin) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Vary', 'Origin');
      res.set('Access-Control-Expose-Headers', 'Location');
    }
    if (req.method === 'OPTIONS') {
      res.set('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE');
      res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.set('Access-Control-Max-Age', '3600');
      return void res.status(204).end();
    }
    next();
  });

  // JSON must be UTF-8 (RFC 8259 §8.1): invalid bytes are refused rather than silently replaced.
  const jsonBody = express.json({
    limit: '16kb',
    strict: true,
    type: ['application/json', 'application/*+json'],
    verify: (_req, _res, buf) => {
      if (!isUtf8(buf)) throw Object.assign(new Error('the request body is not valid UTF-8'), { status: 400, type: 'encoding.invalid' });
    },
  });

  const normalize = (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('application/json') && !req.is('application/*+json')) {
      return void oauthError(res, 400, 'invalid_client_metadata', 'the request body must be application/json');
    }
    try {
      const { metadata, adjustments } = normalizeRegistration(req.body, { extraGrantTypes: config.ENTERPRISE_IDPS.length ? [JWT_BEARER] : [] });
      if (adjustments.length) logger.info({ adjustments, client_name: metadata.client_name }, 'registration normalised');
      req.body = metadata;
      next();
    } catch (err) {
      if (err instanceof RegistrationError) return void oauthError(res, 400, err.error, err.errorDescription);
      next(err);
    }
  };

  router.post(
    '/reg',
    async (req, res, next) => {
      try {
        await limiter.consume(req.ip ?? 'unknown');
        next();
      } catch (rejection) {
        try {
          const wait = retryAfterSeconds(rejection);
          res.set('Retry-After', String(wait));
          oauthError(res, 429, 'temporarily_unavailable', `too many registrations from this address; retry in ${wait} s`);
        } catch (storeError) {
          next(storeError);
        }
      }
    },
    jsonBody,
    normalize,
  );
  router.put('/reg/:clientId', jsonBody, normalize);

  // Body parser failures (malformed JSON, too large) in RFC 7591's shape, never an HTML stack.
  router.use('/reg', (err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') return void oauthError(res, 413, 'invalid_client_metadata', 'the request body is too large');
    if (err.status && err.status < 500) return void oauthError(res, 400, 'invalid_client_metadata', 'the request body is not valid JSON');
    next(err);
  });
  return router;
}

export function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}
