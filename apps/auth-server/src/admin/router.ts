import express, { type NextFunction, type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import type { User } from '@mcp-gw/db';
import type { AccountService } from '../accounts.js';
import type { AuthServerConfig } from '../config.js';
import { issueCsrfToken, verifyCsrfToken } from '../csrf.js';
import { renderErrorPage } from '../views/pages.js';
import { NotFound, type AdminService } from './service.js';
import { unconfirmedNotice } from '../revocation-bus.js';
import { CONSOLE_CALLBACK_PATH, consoleLoginUrl, currentUser, safeReturnPath } from './session.js';
import { cookiePath, innerPath, sitePath } from '../site-path.js';
import { ServiceClientError, type ServiceClientRegistry } from '../service-clients/registry.js';
import { EMPTY_SERVICE_CLIENT_FORM, serviceClientCreatedPage, serviceClientsPage, type ServiceClientForm } from './service-client-views.js';
import { accountPage, auditPage, clientDetailPage, clientsPage, confirmRevokeClientPage, confirmRevokeGrantPage, usersPage } from './views.js';

interface Deps {
  config: AuthServerConfig;
  provider: Provider;
  accounts: AccountService;
  admin: AdminService;
  serviceClients: ServiceClientRegistry;
}

type Authed = Request & { user: User };

/**
 * The admin area (/admin: clients, grants, audit trail, users) and every user's connected-apps page
 * (/account), server-rendered, signed in through the same login page, every change behind a CSRF
 * token and a confirmation.
 */
export function consoleRouter({ config, provider, accounts, admin, serviceClients }: Deps): express.Router {
  const router = express.Router();
  const secure = config.ISSUER.startsWith('https://');
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });
  const noStore = (_req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    next();
  };
  router.use(['/admin', '/account', '/console'], noStore);

  const signedIn = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const user = await currentUser(provider, accounts, req, res);
      if (!user) {
        if (req.method === 'GET') return void res.redirect(303, consoleLoginUrl(config.ISSUER, safeReturnPath(innerPath(req))));
        return void page(res, 401, 'login_required', 'Your session ended. Sign in again.');
      }
      (req as Authed).user = user;
      next();
    } catch (err) {
      next(err);
    }
  };
  const adminOnly = (req: Request, res: Response, next: NextFunction) => {
    if (!(req as Authed).user.isAdmin) return void page(res, 403, 'access_denied', 'This page is for administrators.');
    next();
  };
  const csrf = (req: Request, res: Response, next: NextFunction) => {
    if (!verifyCsrfToken(req)) return void page(res, 403, 'invalid_request', 'The form expired or was sent from another site. Reload the page and try again.');
    next();
  };
  const actor = (req: Request) => ({ type: 'admin' as const, id: (req as Authed).user.id, ip: req.ip });
  const view = (req: Request) => ({ email: (req as Authed).user.email, isAdmin: (req as Authed).user.isAdmin });
  const clientName = async (clientId: string) => (await admin.listClients()).find((c) => c.clientId === clientId)?.clientName ?? clientId;

  router.get(CONSOLE_CALLBACK_PATH, (req, res) => {
    // The session cookie set during sign-in is what the console uses; the code itself expires unused.
    if (req.query.error) return void page(res, 400, String(req.query.error), 'Signing in did not complete.');
    res.redirect(303, sitePath(safeReturnPath(req.query.state)));
  });
  router.get('/console/login', (req, res) => void res.redirect(303, consoleLoginUrl(config.ISSUER, safeReturnPath(req.query.return_to))));
  router.post('/console/logout', form, csrf, async (req, res, next) => {
    try {
      const session = await provider.Session.get({ req, res } as never);
      if (session?.accountId) await session.destroy();
      res.clearCookie('_session', { path: cookiePath() });
      res.clearCookie('_session.sig', { path: cookiePath() });
      res.redirect(303, sitePath('/'));
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin', signedIn, adminOnly, async (req, res, next) => {
    try {
      const search = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : '';
      const flash = typeof req.query.done === 'string' ? req.query.done.slice(0, 200) : undefined;
      res.type('html').send(clientsPage(view(req), issueCsrfToken(req, res, secure), await admin.listClients({ search }), search, flash));
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin/clients/:clientId', signedIn, adminOnly, async (req, res, next) => {
    try {
      const detail = await admin.getClient(String(req.params.clientId));
      const flash = typeof req.query.done === 'string' ? req.query.done.slice(0, 200) : undefined;
      res.type('html').send(clientDetailPage(view(req), issueCsrfToken(req, res, secure), detail, flash));
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin/clients/:clientId/revoke', signedIn, adminOnly, async (req, res, next) => {
    try {
      const { summary } = await admin.getClient(String(req.params.clientId));
      res.type('html').send(confirmRevokeClientPage(view(req), issueCsrfToken(req, res, secure), summary));
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/clients/:clientId/revoke', signedIn, adminOnly, form, csrf, async (req, res, next) => {
    try {
      if (req.body?.confirm !== 'yes') return void page(res, 400, 'invalid_request', 'Revocation was not confirmed.');
      const clientId = String(req.params.clientId);
      const result = await admin.revokeClient(clientId, actor(req));
      const done = encodeURIComponent(`Revoked ${clientId}: ${result.grants} grant(s) and all their tokens. ${unconfirmedNotice(result.servers)}`.trim());
      res.redirect(303, sitePath(`/admin?done=${done}`));
    } catch (err) {
      next(err);
    }
  });

  router.post('/admin/grants/:grantId/revoke', signedIn, adminOnly, form, csrf, async (req, res, next) => {
    try {
      const grantId = String(req.params.grantId);
      const client = typeof req.query.client === 'string' ? req.query.client : '';
      if (req.body?.confirm !== 'yes') {
        // Not confirmed yet: show what would be revoked and ask (nothing changes).
        const grant = await admin.getGrant(grantId);
        const back = sitePath(client ? `/admin/clients/${encodeURIComponent(client)}` : '/admin');
        return void res.type('html').send(confirmRevokeGrantPage(view(req), issueCsrfToken(req, res, secure), grant, await clientName(grant.clientId), sitePath(`/admin/grants/${encodeURIComponent(grantId)}/revoke${client ? `?client=${encodeURIComponent(client)}` : ''}`), back));
      }
      const { servers } = await admin.revokeGrant(grantId, actor(req));
      const done = encodeURIComponent(`Grant revoked. ${unconfirmedNotice(servers)}`.trim());
      res.redirect(303, sitePath(client ? `/admin/clients/${encodeURIComponent(client)}?done=${done}` : `/admin?done=${done}`));
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin/audit', signedIn, adminOnly, async (req, res, next) => {
    try {
      const q = (name: string, max = 300) => (typeof req.query[name] === 'string' ? (req.query[name] as string).slice(0, max) : '');
      const filter = { action: q('action', 100), client: q('client'), actor: q('actor'), outcome: q('outcome', 10) };
      const before = /^\d{1,19}$/.test(q('before')) ? BigInt(q('before')) : undefined;
      const { events, nextBefore } = await admin.listAudit({
        action: filter.action || undefined,
        clientId: filter.client || undefined,
        actorId: filter.actor || undefined,
        outcome: ['success', 'denied', 'error'].includes(filter.outcome) ? filter.outcome : undefined,
        before,
      });
      const shown = Object.fromEntries(Object.entries(filter).filter(([, v]) => v));
      res.type('html').send(auditPage(view(req), issueCsrfToken(req, res, secure), events, shown, nextBefore));
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin/users', signedIn, adminOnly, async (req, res, next) => {
    try {
      res.type('html').send(usersPage(view(req), issueCsrfToken(req, res, secure), await admin.listUsers()));
    } catch (err) {
      next(err);
    }
  });

  router.get('/admin/service-clients', signedIn, adminOnly, async (req, res, next) => {
    try {
      res.type('html').send(serviceClientsPage(view(req), issueCsrfToken(req, res, secure), await serviceClients.list(), EMPTY_SERVICE_CLIENT_FORM));
    } catch (err) {
      next(err);
    }
  });

  // A pasted JWKS needs more room than the other forms.
  const keyForm = express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 20 });
  router.post('/admin/service-clients', signedIn, adminOnly, keyForm, csrf, async (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, string | string[] | undefined>;
    const one = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const form: ServiceClientForm = {
      name: one('name'),
      projects: one('projects'),
      scopes: ([] as string[]).concat(body.scope ?? []),
      method: one('method') === 'client_secret_basic' ? 'client_secret_basic' : 'private_key_jwt',
      jwks: one('jwks').trim(),
      jwksUri: one('jwks_uri').trim(),
    };
    try {
      let auth: Parameters<ServiceClientRegistry['create']>[0]['auth'] = { method: 'client_secret_basic' };
      if (form.method === 'private_key_jwt') {
        if (!form.jwks === !form.jwksUri) throw new ServiceClientError('give the client’s public JWKS or its JWKS URI (one of them)');
        if (form.jwksUri) auth = { method: 'private_key_jwt', jwksUri: form.jwksUri };
        else {
          let jwks: unknown;
          try {
            jwks = JSON.parse(form.jwks);
          } catch {
            throw new ServiceClientError('the JWKS is not valid JSON');
          }
          auth = { method: 'private_key_jwt', jwks: jwks as never };
        }
      }
      const created = await serviceClients.create({ name: form.name, projects: [form.projects], scopes: form.scopes, auth }, actor(req));
      res.status(201).type('html').send(
        serviceClientCreatedPage(view(req), issueCsrfToken(req, res, secure), {
          ...created,
          name: form.name.trim(),
          tokenEndpoint: `${config.ISSUER}/token`,
          resource: config.MCP_RESOURCE_URL,
        }),
      );
    } catch (err) {
      if (!(err instanceof ServiceClientError)) return next(err);
      res.status(400).type('html').send(serviceClientsPage(view(req), issueCsrfToken(req, res, secure), await serviceClients.list(), form, err.message));
    }
  });

  router.get('/account', signedIn, async (req, res, next) => {
    try {
      const user = (req as Authed).user;
      const grants = await admin.listGrants({ accountId: user.id });
      const names = new Map((await admin.listClients()).map((c) => [c.clientId, c.clientName ?? c.clientId]));
      const flash = typeof req.query.done === 'string' ? req.query.done.slice(0, 200) : undefined;
      res.type('html').send(accountPage(view(req), issueCsrfToken(req, res, secure), grants.filter((g) => g.clientId !== 'mcp-gw-console'), names, flash));
    } catch (err) {
      next(err);
    }
  });

  router.post('/account/grants/:grantId/revoke', signedIn, form, csrf, async (req, res, next) => {
    try {
      const user = (req as Authed).user;
      const grantId = String(req.params.grantId);
      if (req.body?.confirm !== 'yes') {
        // Not confirmed yet: ask first (someone else's grant is a 404 here too).
        const grant = await admin.getGrant(grantId, { onlyAccountId: user.id });
        const action = sitePath(`/account/grants/${encodeURIComponent(grantId)}/revoke`);
        return void res.type('html').send(confirmRevokeGrantPage(view(req), issueCsrfToken(req, res, secure), grant, await clientName(grant.clientId), action, sitePath('/account')));
      }
      await admin.revokeGrant(grantId, { type: 'user', id: user.id, ip: req.ip }, { onlyAccountId: user.id });
      res.redirect(303, sitePath('/account?done=Access+revoked.'));
    } catch (err) {
      next(err);
    }
  });

  router.use(['/admin', '/account', '/console'], (err: Error, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof NotFound) return void page(res, 404, 'not_found', 'It may have been revoked already.');
    next(err);
  });
  return router;
}

function page(res: Response, status: number, error: string, description: string): void {
  res.status(status).type('html').send(renderErrorPage({ error, description }));
}

