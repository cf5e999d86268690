import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import type { SqlConnection } from '@mcp-gw/db';
import type { AuthServerConfig } from '../config.js';
import { issueCsrfToken } from '../csrf.js';
import { renderLoginPage } from '../views/pages.js';
import { sitePath } from '../site-path.js';
import { metadataDocumentHost } from '../registration/client-id-metadata.js';
import { consentAfterSignIn, signInAwaitingConsent } from './consent.js';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The client's name on the sign-in page: its registered name, its metadata document's host, or its id. */
export async function clientDisplayName(provider: Provider, clientId: string): Promise<string> {
  const client = await provider.Client.find(clientId);
  return client?.clientName ?? metadataDocumentHost(clientId) ?? clientId;
}

/** The sign-in page of an interaction: the password form and/or one button per upstream IdP. */
export function sendSignInPage(
  req: Request,
  res: Response,
  config: AuthServerConfig,
  { uid, clientName, status = 200, error, email }: { uid: string; clientName: string; status?: number; error?: string; email?: string },
): void {
  const csrfToken = issueCsrfToken(req, res, config.ISSUER.startsWith('https://'));
  res
    .status(status)
    .set('Cache-Control', 'no-store')
    .type('html')
    .send(
      renderLoginPage({
        action: sitePath(`/interaction/${uid}/login`),
        csrfToken,
        clientName,
        email,
        error,
        passwords: config.LOCAL_PASSWORDS,
        upstream: config.UPSTREAM_IDPS.map((idp) => ({ label: idp.label, action: sitePath(`/interaction/${uid}/federated/${idp.id}`) })),
      }),
    );
}

/**
 * A person is signed in on this interaction (password or upstream IdP): straight on to the consent
 * page when one will be asked (see consent.ts), else back to oidc-provider.
 */
export async function finishSignIn(
  req: Request,
  res: Response,
  details: Interaction,
  accountId: string,
  deps: { provider: Provider; config: AuthServerConfig; db: Pick<SqlConnection, 'query'> },
): Promise<void> {
  const consent = await consentAfterSignIn(details, accountId, deps);
  if (consent) {
    await deps.provider.interactionResult(req, res, signInAwaitingConsent(consent), { mergeWithLastSubmission: false });
    return void res.redirect(303, sitePath(`/interaction/${details.uid}`));
  }
  await deps.provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
}
