import express, { type Request, type Response } from 'express';
import type Provider from 'oidc-provider';
import type { SqlConnection } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import type { AuditLog } from '../audit.js';
import type { AuthServerConfig } from '../config.js';
import { readCookie, verifyCsrfToken } from '../csrf.js';
import { consentStep } from '../interactions/consent.js';
import { clientDisplayName, finishSignIn, sendSignInPage } from '../interactions/sign-in.js';
import { renderErrorPage } from '../views/pages.js';
import { sitePath } from '../site-path.js';
import type { FederatedAccounts } from './accounts.js';
import { openPending, PENDING_COOKIE, PENDING_TTL_MS, sealPending } from './pending-cookie.js';
import { FederationError, UpstreamIdp } from './upstream.js';

interface Deps {
  config: AuthServerConfig;
  provider: Provider;
  db: Pick<SqlConnection, 'query'>;
  accounts: FederatedAccounts;
  audit: AuditLog;
  logger: Logger;
  cookieKeys: string[];
}

// oidc-provider's interaction uids (nanoid): the first part of the state we send upstream.
const UID = /^[A-Za-z0-9_-]{10,64}$/;
/** Where each IdP sends the browser back; register it at the IdP as the redirect URI. */
export const callbackPath = (idpId: string) => `/federation/${idpId}/callback`;

/**
 * "Continue with <IdP>": the authorization code flow against the IdP (PKCE, state, nonce), then the
 * same interaction as a password sign-in continues: consent, grants and tokens are unchanged.
 */
export function federationRouter({ config, provider, db, accounts, audit, logger, cookieKeys }: Deps): express.Router {
  const router = express.Router();
  const secure = config.ISSUER.startsWith('https://');
  const idps = new Map(config.UPSTREAM_IDPS.map((idp) => [idp.id, new UpstreamIdp(idp, `${config.ISSUER}${callbackPath(idp.id)}`)]));
  const form = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 });
  // The pending sign-in is scoped to its own interaction: two tabs signing in do not overwrite each other.
  const cookieOptions = (uid: string) => ({ httpOnly: true, secure, sameSite: 'lax' as const, path: sitePath(`/interaction/${uid}`) });

  const signInError = async (req: Request, res: Response, details: { uid: string; params: Record<string, unknown> }, idp: UpstreamIdp, err: FederationError) => {
    void audit.record({ actorType: 'anonymous', action: 'login.failed', outcome: 'denied', ip: req.ip, clientId: String(details.params.client_id), details: { idp: idp.config.id, reason: err.reason } });
    if (err.reason === 'idp_unavailable') logger.warn({ err: err.cause, idp: idp.config.id }, 'upstream IdP unavailable');
    const status = err.reason === 'idp_unavailable' ? 502 : /^(state_mismatch|id_token_invalid|token_error|idp_error)/.test(err.reason) ? 400 : 403;
    sendSignInPage(req, res, config, { uid: details.uid, clientName: await clientDisplayName(provider, String(details.params.client_id)), status, error: err.userMessage });
  };

  router.post('/interaction/:uid/federated/:idp', form, async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      const idp = idps.get(req.params.idp);
      if (!verifyCsrfToken(req)) return void sendError(res, 403, 'invalid_request', 'The form expired or was sent from another site. Go back and try again.');
      if (details.uid !== req.params.uid || !idp) return void sendError(res, 404, 'invalid_request', 'There is no such sign-in here.');
      if (details.prompt.name !== 'login' || consentStep(details)) return void sendError(res, 400, 'invalid_request', 'This sign-in step is already complete.');
      let pending;
      try {
        pending = await idp.begin(details.uid);
      } catch (err) {
        if (err instanceof FederationError) return void (await signInError(req, res, details, idp, err));
        throw err;
      }
      const { state, nonce, verifier } = pending;
      res.cookie(PENDING_COOKIE, sealPending(cookieKeys, { idp: idp.config.id, state, nonce, verifier, exp: Date.now() + PENDING_TTL_MS }), { ...cookieOptions(details.uid), maxAge: PENDING_TTL_MS });
      res.set('Cache-Control', 'no-store').redirect(303, pending.url.href);
    } catch (err) {
      next(err);
    }
  });

  // The IdP's answer arrives at one fixed URL per IdP; the interaction it belongs to is the first part
  // of its state. Its cookies live below /interaction/<uid>, so the answer goes on there unchanged.
  router.get('/federation/:idp/callback', (req, res) => {
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    const uid = state.slice(0, state.indexOf('.'));
    if (!idps.has(req.params.idp) || !UID.test(uid)) {
      return void sendError(res, 400, 'invalid_request', 'This sign-in answer does not belong to a sign-in in progress. Go back to the application and connect again.');
    }
    const query = req.originalUrl.slice(req.originalUrl.indexOf('?'));
    res.set('Cache-Control', 'no-store').redirect(303, sitePath(`/interaction/${uid}/federated/${req.params.idp}/callback${query}`));
  });

  router.get('/interaction/:uid/federated/:idp/callback', async (req, res, next) => {
    try {
      const details = await provider.interactionDetails(req, res);
      const idp = idps.get(req.params.idp);
      if (details.uid !== req.params.uid || !idp) return void sendError(res, 400, 'invalid_request', 'This sign-in answer does not match your session.');
      const pending = openPending(cookieKeys, readCookie(req, PENDING_COOKIE));
      res.clearCookie(PENDING_COOKIE, cookieOptions(details.uid));
      if (details.prompt.name !== 'login' || consentStep(details)) return void sendError(res, 400, 'invalid_request', 'This sign-in step is already complete.');
      const query = new URLSearchParams(req.originalUrl.slice(req.originalUrl.indexOf('?') + 1));
      try {
        // Only the browser that started this sign-in holds its state: an answer injected into another
        // session (login CSRF), replayed, or older than the cookie is refused before the code is used.
        if (!pending || pending.idp !== idp.config.id || query.get('state') !== pending.state) {
          throw new FederationError('state_mismatch', 'This sign-in answer does not belong to the sign-in you started, or it expired. Start again.');
        }
        const person = await idp.finish(query, pending);
        const user = await accounts.signIn(idp.config, person, req.ip);
        void audit.record({ actorType: 'user', actorId: user.id, action: 'login.succeeded', ip: req.ip, clientId: String(details.params.client_id), details: { idp: idp.config.id } });
        await finishSignIn(req, res, details, user.id, { provider, config, db });
      } catch (err) {
        if (err instanceof FederationError) return void (await signInError(req, res, details, idp, err));
        throw err;
      }
    } catch (err) {
      next(err);
    }
  });
  return router;
}

function sendError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').type('html').send(renderErrorPage({ error, description }));
}
