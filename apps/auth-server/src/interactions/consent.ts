import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { parseScope } from '@mcp-gw/shared';
import type { SqlConnection } from '@mcp-gw/db';
import type { AuthServerConfig } from '../config.js';
import { CONSOLE_CLIENT_ID } from '../admin/session.js';
import { OIDC_SCOPES, rememberedGrantId, resourceServerScopes } from '../grants.js';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** What the consent page asks a person to approve, and for which account and grant. */
export interface ConsentRequest {
  accountId: string;
  /** The grant the approval extends (consent remembered from an earlier sign-in), if any. */
  grantId?: string;
  missingOIDCScope: string[];
  missingOIDCClaims: string[];
  missingResourceScopes: Record<string, string[]>;
}

/**
 * Where a sign-in made in this interaction keeps the consent step that follows it: the login result
 * (`login`) and this are stored on the interaction until the consent form is answered, then both are
 * handed to oidc-provider together. oidc-provider ignores result members it does not know.
 */
const CONSENT_KEY = 'mcpgwConsent';

interface SignInResult extends InteractionResults {
  login: { accountId: string };
  [CONSENT_KEY]: ConsentRequest;
}

/**
 * Sign-in and consent in one interaction. oidc-provider's usual path finishes the login prompt, resumes
 * the authorization request (`/auth/:uid`) and opens a second interaction for consent: one more
 * request, a session write and an interaction written and deleted per authorization. When the sign-in
 * shows that consent will be asked, the consent page follows the login form directly; the answer
 * finishes both prompts at once. oidc-provider still runs every check when the request resumes: if this
 * ever asked for less than it requires, it asks for the rest itself.
 *
 * Returns what oidc-provider's consent prompt would ask of this account (its checks
 * native_client_prompt, op_scopes_missing and rs_scopes_missing, against the grant it would load), or
 * undefined when it would not ask, or when the request has parts modelled only by oidc-provider
 * (`claims`, `authorization_details`, the first-party console): those take the usual path.
 */
export async function consentAfterSignIn(
  details: Interaction,
  accountId: string,
  { provider, config, db }: { provider: Provider; config: AuthServerConfig; db: Pick<SqlConnection, 'query'> },
): Promise<ConsentRequest | undefined> {
  const params = details.params as Record<string, unknown>;
  const clientId = String(params.client_id);
  if (clientId === CONSOLE_CLIENT_ID || params.claims !== undefined || params.authorization_details !== undefined) return undefined;
  const client = await provider.Client.find(clientId);
  if (!client) return undefined;
  const requested = parseScope(String(params.scope ?? ''));
  const indicators = params.resource === undefined ? [config.MCP_RESOURCE_URL] : [params.resource].flat().map(String);
  const grantId = await rememberedGrantId(db, accountId, clientId);
  const grant = grantId ? await provider.Grant.find(grantId) : undefined;

  const oidcEncountered = new Set(parseScope(grant?.getOIDCScopeEncountered()));
  const missingOIDCScope = requested.filter((s) => OIDC_SCOPES.has(s) && !oidcEncountered.has(s));
  const missingResourceScopes: Record<string, string[]> = {};
  for (const indicator of indicators) {
    const available = resourceServerScopes(config, indicator);
    if (!available) return undefined;
    const encountered = new Set(parseScope(grant?.getResourceScopeEncountered(indicator)));
    const missing = requested.filter((s) => available.includes(s) && !encountered.has(s));
    if (missing.length) missingResourceScopes[indicator] = missing;
  }
  const asks =
    (client.applicationType === 'native' && params.response_type !== 'none') ||
    parseScope(String(params.prompt ?? '')).includes('consent') ||
    missingOIDCScope.length > 0 ||
    Object.keys(missingResourceScopes).length > 0;
  if (!asks) return undefined;
  return { accountId, grantId: grant ? grantId : undefined, missingOIDCScope, missingOIDCClaims: [], missingResourceScopes };
}

/** The result to store when a sign-in is followed by its consent step in the same interaction. */
export function signInAwaitingConsent(consent: ConsentRequest): SignInResult {
  return { login: { accountId: consent.accountId }, [CONSENT_KEY]: consent };
}

/** The consent step this interaction is at: oidc-provider's consent prompt, or the one after a sign-in made here. */
export function consentStep(details: Interaction): ConsentRequest | undefined {
  if (details.prompt.name === 'consent') {
    const accountId = details.session?.accountId;
    if (!accountId) return undefined;
    const prompt = details.prompt.details as Partial<Omit<ConsentRequest, 'accountId' | 'grantId'>>;
    return {
      accountId,
      grantId: details.grantId,
      missingOIDCScope: prompt.missingOIDCScope ?? [],
      missingOIDCClaims: prompt.missingOIDCClaims ?? [],
      missingResourceScopes: prompt.missingResourceScopes ?? {},
    };
  }
  return details.prompt.name === 'login' ? (details.result as Partial<SignInResult> | undefined)?.[CONSENT_KEY] as ConsentRequest | undefined : undefined;
}

/** What to hand oidc-provider once the consent form is approved with `grantId`. */
export function consentResult(details: Interaction, grantId: string): { result: Record<string, unknown>; mergeWithLastSubmission: boolean } {
  if (details.prompt.name === 'login') {
    // The sign-in made in this interaction, finished together with its consent.
    const { login } = details.result as unknown as SignInResult;
    return { result: { login, consent: { grantId } }, mergeWithLastSubmission: false };
  }
  return { result: { consent: { grantId } }, mergeWithLastSubmission: true };
}
