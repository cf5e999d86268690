import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  ADMIN_SCOPE,
  AccessTokenVerifier,
  InsufficientScopeError,
  InvalidTokenError,
  OAuthError,
  bearerChallenge,
  extractBearerToken,
  requireScopes,
} from '@mcp-gw/shared';
import type { AccountService } from '../accounts.js';
import { NotFound, type AdminService } from './service.js';
import { ServiceClientError, type ServiceClientAuth, type ServiceClientRegistry } from '../service-clients/registry.js';

interface Deps {
  admin: AdminService;
  accounts: AccountService;
  serviceClients: ServiceClientRegistry;
  verifier: AccessTokenVerifier;
  /** This API's resource identifier (the `aud` its tokens carry). */
  resource: string;
}

const auditQuery = z.object({
  action: z.string().max(100).optional(),
  client_id: z.string().max(300).optional(),
  actor_id: z.string().max(300).optional(),
  outcome: z.enum(['success', 'denied', 'error']).optional(),
  before: z.string().regex(/^\d{1,19}$/).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

const newServiceClient = z
  .object({
    name: z.string().min(1).max(80),
    projects: z.array(z.string().max(40)).min(1).max(100),
    scopes: z.array(z.string().max(100)).min(1).max(20),
    resource: z.string().url().max(2000).optional(),
    token_endpoint_auth_method: z.enum(['private_key_jwt', 'client_secret_basic']),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(10) }).optional(),
    jwks_uri: z.string().max(2000).optional(),
  })
  .strict();

/** The body's key material as the registry takes it; a ServiceClientError when it does not fit the method. */
function authOf(body: z.infer<typeof newServiceClient>): ServiceClientAuth {
  if (body.token_endpoint_auth_method === 'client_secret_basic') {
    if (body.jwks || body.jwks_uri) throw new ServiceClientError('client_secret_basic takes no jwks or jwks_uri (the secret is generated)');
    return { method: 'client_secret_basic' };
  }
  if (!body.jwks === !body.jwks_uri) throw new ServiceClientError('private_key_jwt needs exactly one of jwks or jwks_uri');
  return body.jwks ? { method: 'private_key_jwt', jwks: body.jwks as never } : { method: 'private_key_jwt', jwksUri: body.jwks_uri! };
}

/**
 * The admin JSON API (/admin/api): the same operations as the admin pages, for scripts. Protected by
 * an access token issued for this API (`resource` = …/admin/api) with the `admin` scope, held by a
 * user who is an administrator at the time of the call.
 */
export function adminApiRouter({ admin, accounts, serviceClients, verifier, resource }: Deps): express.Router {
  const router = express.Router();
  const { origin, pathname } = new URL(resource);
  const metadataUrl = `${origin}/.well-known/oauth-protected-resource${pathname}`;

  router.use('/admin/api', async (req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    try {
      const token = extractBearerToken(req.get('authorization'));
      if (!token) throw new InvalidTokenError('An admin access token is required');
      const verified = await verifier.verify(token);
      requireScopes(verified, [ADMIN_SCOPE]);
      const user = await accounts.find(verified.sub);
      if (!user || user.disabledAt || !user.isAdmin) throw new OAuthError('insufficient_scope', 'The token holder is not an administrator', 403);
      res.locals.actor = { type: 'admin' as const, id: user.id, ip: req.ip };
      next();
    } catch (err) {
      if (err instanceof OAuthError) {
        res.set('WWW-Authenticate', bearerChallenge({ resourceMetadataUrl: metadataUrl, scope: [ADMIN_SCOPE], error: err }));
        return void res.status(err.status).json({ error: err.error, error_description: err.errorDescription });
      }
      next(err);
    }
  });

  router.get('/admin/api/clients', async (req, res, next) => {
    try {
      res.json({ clients: await admin.listClients({ search: typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : undefined }) });
    } catch (err) {
      next(err);
    }
  });
  router.get('/admin/api/clients/:clientId', async (req, res, next) => {
    try {
      res.json(await admin.getClient(String(req.params.clientId)));
    } catch (err) {
      next(err);
    }
  });
  router.delete('/admin/api/clients/:clientId', async (req, res, next) => {
    try {
      res.json({ revoked: true, ...(await admin.revokeClient(String(req.params.clientId), res.locals.actor)) });
    } catch (err) {
      next(err);
    }
  });
  router.get('/admin/api/grants', async (req, res, next) => {
    try {
      const clientId = typeof req.query.client_id === 'string' ? req.query.client_id : undefined;
      const accountId = typeof req.query.user_id === 'string' ? req.query.user_id : undefined;
      res.json({ grants: await admin.listGrants({ clientId, accountId }) });
    } catch (err) {
      next(err);
    }
  });
  router.delete('/admin/api/grants/:grantId', async (req, res, next) => {
    try {
      res.json({ revoked: true, ...(await admin.revokeGrant(String(req.params.grantId), res.locals.actor)) });
    } catch (err) {
      next(err);
    }
  });
  router.get('/admin/api/service-clients', async (_req, res, next) => {
    try {
      res.json({ service_clients: await serviceClients.list() });
    } catch (err) {
      next(err);
    }
  });
  router.post('/admin/api/service-clients', express.json({ limit: '64kb' }), async (req, res, next) => {
    try {
      const body = newServiceClient.safeParse(req.body);
      if (!body.success) return void res.status(400).json({ error: 'invalid_request', error_description: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
      const { name, projects, scopes, resource: mcpResource } = body.data;
      const created = await serviceClients.create({ name, projects, scopes, resource: mcpResource, auth: authOf(body.data) }, res.locals.actor);
      res.status(201).json({ client_id: created.clientId, ...(created.clientSecret ? { client_secret: created.clientSecret } : {}), principal_id: created.principalId });
    } catch (err) {
      next(err);
    }
  });
  router.get('/admin/api/users', async (_req, res, next) => {
    try {
      res.json({ users: await admin.listUsers() });
    } catch (err) {
      next(err);
    }
  });
  router.get('/admin/api/audit', async (req, res, next) => {
    try {
      const q = auditQuery.safeParse(req.query);
      if (!q.success) return void res.status(400).json({ error: 'invalid_request', error_description: q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
      res.json(
        await admin.listAudit({
          action: q.data.action,
          clientId: q.data.client_id,
          actorId: q.data.actor_id,
          outcome: q.data.outcome,
          before: q.data.before ? BigInt(q.data.before) : undefined,
          limit: q.data.limit,
        }),
      );
    } catch (err) {
      next(err);
    }
  });
  router.use('/admin/api', (_req, res) => void res.status(404).json({ error: 'not_found', error_description: 'no such admin API endpoint' }));
  router.use('/admin/api', (err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    // express.json's refusals (malformed JSON, too large) in this API's own error format.
    if (err.type?.startsWith('entity.') && err.status && err.status < 500) return void res.status(err.status).json({ error: 'invalid_request', error_description: err.type === 'entity.too.large' ? 'request body too large' : 'the body must be valid JSON' });
    if (err instanceof NotFound) return void res.status(404).json({ error: 'not_found', error_description: err.message });
    if (err instanceof ServiceClientError) return void res.status(400).json({ error: 'invalid_request', error_description: err.message });
    if (err instanceof InsufficientScopeError) return void res.status(403).json({ error: err.error, error_description: err.errorDescription });
    next(err);
  });
  return router;
}
