import express, { type Request, type Response, type NextFunction } from 'express';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { ADMIN_SCOPE, parseScope, type Logger } from '@mcp-gw/shared';
import type { SqlConnection } from '@mcp-gw/db';
import type { AccountService } from '../accounts.js';
import type { AuditLog } from '../audit.js';
import type { AuthServerConfig } from '../config.js';
import { issueCsrfToken, verifyCsrfToken } from '../csrf.js';
import { metadataDocumentHost } from '../registration/client-id-metadata.js';
import { createLimiter } from '../rate-limits.js';
import { renderConsentPage, renderErrorPage } from '../views/pages.js';
import { finishSignIn, sendSignInPage } from './sign-in.js';
import { sitePath } from '../site-path.js';
import { consentResult, consentStep } from './consent.js';

const loginForm = z.object({
  email: z.string().trim().min(3).max(254),
  password: z.string().min(1).max(1024),
});

interface Deps {
  config: AuthServerConfig;
  provider: Provider;
  db: Pick<SqlConnection, 'query'>;
  accounts: AccountService;
  audit: AuditLog;
  logger: Logger;
  redis?: unknown;
  /** More interaction routes (upstream sign-in), mounted here so their errors render like these. */
  signInRoutes?: express.Router;
}

/** Login and consent: the pages oidc-provider sends the browser to during an authorization request. */
export function interactionRouter({ config, provider, db, accounts, audit, logger, redis, signInRoutes }: Deps): express.Router {
  const router = express.Router();
  const secure = config.ISSUER.startsWith('https://');
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });
  const perAccount = createLimiter(
    { keyPrefix: 'login_fail_account', points: config.LOGIN_FAILURES_BEFORE_BACKOFF, duration: 15 * 60, blockDuration: 15 * 60 },
    redis,
  );
  const perIp = createLimiter(
    { keyPrefix: 'login_fail_ip', points: config.LOGIN_FAILURES_BEFORE_BACKOFF * 5, duration: 15 * 60, blockDuration: 15 * 60 },
    redis,
  );

  // How the client registered is shown on the consent page only; the login page needs just the name.
  const clientInfo = async (clientId: string, { withRegistration = false } = {}) => {
    const client = await provider.Client.find(clientId);
    const [registration] = withRegistration
      ? await db.query<{ registered_via: string }>('SELECT registered_via FROM client_registration WHERE client_id = $1', [clientId])
      : [];
    const redirectUri = client?.redirectUris?.[0];
    let redirectHost: string;
    try {
      const url = new URL(redirectUri ?? '');
      redirectHost = url.protocol === 'https:' || url.protocol === 'http:' ? url.host : url.protocol + '//' + url.host;
    } catch {
      redirectHost = redirectUri ?? '';
    }
    const documentHost = metadataDocumentHost(clientId);
    return { client, registration, name: client?.clientName ?? documentHost ?? clientId, redirectHost, documentHost };
  };

  router.get('/interaction/:uid', async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== req.params.uid) return void sendError(res, 400, 'invalid_request', 'This sign-in link does not match your session.');
      const clientId = String(details.params.client_id);
      const consent = consentStep(details);
      if (details.prompt.name !== 'login' && details.prompt.name !== 'consent') {
        return void sendError(res, 400, 'invalid_request', `Unsupported interaction: ${details.prompt.name}`);
      }
      if (details.prompt.name === 'consent' && !consent) return void sendError(res, 400, 'invalid_request', 'There is nothing to approve in this step.');
      const { name, redirectHost, client, registration, documentHost } = await clientInfo(clientId, { withRegistration: consent !== undefined });
      if (!consent) return void sendSignInPage(req, res, config, { uid: details.uid, clientName: name });
      const csrfToken = issueCsrfToken(req, res, secure);
      res.set('Cache-Control', 'no-store');
      const account = await accounts.find(consent.accountId);
      const resourceScopes = consent.missingResourceScopes;
      const resources = Object.keys(resourceScopes).length ? Object.keys(resourceScopes) : [String(details.params.resource ?? config.MCP_RESOURCE_URL)];
      const scopes = [
        ...new Set([
          ...Object.values(resourceScopes).flat(),
          ...consent.missingOIDCScope,
          ...(Object.keys(resourceScopes).length ? [] : parseScope(String(details.params.scope ?? ''))),
        ]),
      ];
      res.type('html').send(
        renderConsentPage({
          action: sitePath(`/interaction/${details.uid}/confirm`),
          abortAction: sitePath(`/interaction/${details.uid}/abort`),
          csrfToken,
          clientName: name,
          clientId,
          redirectHost,
          resources,
          scopes,
          userEmail: account?.email ?? '',
          firstParty: !client,
          registeredVia: documentHost ? 'cimd' : registration?.registered_via,
          documentHost,
          keyBound: typeof details.params.dpop_jkt === 'string',
        }),
      );
    } catch (err) {
      next(err);
    }
  });

  router.post('/interaction/:uid/login', form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (!verifyCsrfToken(req)) return void sendError(res, 403, 'invalid_request', 'The form expired or was sent from another site. Go back and try again.');
      if (details.prompt.name !== 'login' || consentStep(details)) return void sendError(res, 400, 'invalid_request', 'This sign-in step is already complete.');
      // The client's name is only needed to show the form again.
      const rerender = async (status: number, error: string, email?: string) => {
        const { name } = await clientInfo(String(details.params.client_id));
        sendSignInPage(req, res, config, { uid: details.uid, clientName: name, status, error, email });
      };
      if (!config.LOCAL_PASSWORDS) {
        return void (await rerender(403, `Password sign-in is turned off here. Continue with ${config.UPSTREAM_IDPS.map((i) => i.label).join(' or ')}.`));
      }
      const parsed = loginForm.safeParse(req.body);
      if (!parsed.success) return void (await rerender(400, 'Enter your email address and password.'));
      const email = parsed.data.email.toLowerCase();
      const ip = req.ip ?? 'unknown';
      const [accountState, ipState] = await Promise.all([perAccount.get(email), perIp.get(ip)]);
      const blocked = [accountState, ipState].find((s) => s && s.remainingPoints <= 0);
      if (blocked) {
        const wait = Math.ceil(blocked.msBeforeNext / 1000);
        res.set('Retry-After', String(wait));
        void audit.record({ actorType: 'anonymous', action: 'login.throttled', outcome: 'denied', ip, details: { email } });
        return void (await rerender(429, `Too many failed sign-in attempts. Try again in ${Math.ceil(wait / 60)} minute(s).`, parsed.data.email));
      }
      const user = await accounts.authenticate(email, parsed.data.password);
      if (!user) {
        await Promise.all([perAccount.consume(email).catch(() => {}), perIp.consume(ip).catch(() => {})]);
        void audit.record({ actorType: 'anonymous', action: 'login.failed', outcome: 'denied', ip, details: { email } });
        // Same answer whether the email is unknown or the password wrong.
        return void (await rerender(401, 'The email address or password is incorrect.', parsed.data.email));
      }
      await perAccount.delete(email).catch(() => {});
      void audit.record({ actorType: 'user', actorId: user.id, action: 'login.succeeded', ip, clientId: String(details.params.client_id) });
      await finishSignIn(req, res, details, user.id, { provider, config, db });
    } catch (err) {
      next(err);
    }
  });

  /** The person said no: the client gets access_denied, the audit log a denial. */
  const deny = async (req: Request, res: Response, details: Awaited<ReturnType<typeof provider.interactionDetails>>) => {
    const accountId = consentStep(details)?.accountId ?? details.session?.accountId;
    await audit.record({
      actorType: accountId ? 'user' : 'anonymous',
      actorId: accountId ?? null,
      action: 'consent.denied',
      clientId: String(details.params.client_id),
      ip: req.ip,
    });
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user denied the authorization request' }, { mergeWithLastSubmission: false });
  };

  router.post('/interaction/:uid/confirm', form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (!verifyCsrfToken(req)) return void sendError(res, 403, 'invalid_request', 'The form expired or was sent from another site. Go back and try again.');
      // Approval is what the form says, not which URL it was sent to: anything but decision=approve
      // (a Deny button whose formaction a page or a script did not honour, a bare POST) is a denial.
      if (req.body?.decision !== 'approve') return void (await deny(req, res, details));
      const consent = consentStep(details);
      if (!consent) return void sendError(res, 400, 'invalid_request', 'There is nothing to approve in this step.');
      const { accountId, missingOIDCScope, missingOIDCClaims, missingResourceScopes } = consent;
      const clientId = String(details.params.client_id);
      const grant = (consent.grantId ? await provider.Grant.find(consent.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
      if (missingOIDCScope.length) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims.length) grant.addOIDCClaims(missingOIDCClaims);
      const user = await accounts.find(accountId);
      for (const [resource, scopes] of Object.entries(missingResourceScopes)) {
        // Only administrators can hand out the admin scope, whatever a client asks for.
        const allowed = scopes.filter((s) => s !== ADMIN_SCOPE || user?.isAdmin);
        if (allowed.length) grant.addResourceScope(resource, allowed.join(' '));
      }
      const grantId = await grant.save();
      void audit.record({
        actorType: 'user',
        actorId: accountId,
        action: 'consent.granted',
        clientId,
        targetType: 'grant',
        ip: req.ip,
        details: { scopes: missingResourceScopes, oidc: missingOIDCScope },
      });
      const { result, mergeWithLastSubmission } = consentResult(details, grantId);
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission });
    } catch (err) {
      next(err);
    }
  });

  router.post('/interaction/:uid/abort', form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (!verifyCsrfToken(req)) return void sendError(res, 403, 'invalid_request', 'The form expired or was sent from another site. Go back and try again.');
      await deny(req, res, details);
    } catch (err) {
      next(err);
    }
  });

  if (signInRoutes) router.use(signInRoutes);

  // oidc-provider's interaction errors (expired or missing interaction cookie) as a page, not a stack.
  router.use('/interaction', (err: Error & { status?: number; error?: string; error_description?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err.status && err.status < 500) {
      return void sendError(res, err.status, err.error ?? 'invalid_request', err.name === 'SessionNotFound'
        ? 'Your sign-in session expired or cookies are blocked. Go back to the application and connect again.'
        : err.error_description ?? err.message);
    }
    logger.error({ err }, 'interaction failed');
    sendError(res, 500, 'server_error', 'Something went wrong on our side. Try again.');
  });
  return router;
}

function sendError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').type('html').send(renderErrorPage({ error, description }));
}
