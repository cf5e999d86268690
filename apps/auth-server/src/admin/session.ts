import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type Provider from 'oidc-provider';
import type { User } from '@mcp-gw/db';
import type { AccountService } from '../accounts.js';

/** The first-party client the admin area and the account page sign in through (same login page). */
export const CONSOLE_CLIENT_ID = 'mcp-gw-console';
export const CONSOLE_CALLBACK_PATH = '/console/callback';

/** The signed-in user of the authorization server's own session cookie, if any and still enabled. */
export async function currentUser(provider: Provider, accounts: AccountService, req: Request, res: Response): Promise<User | undefined> {
  const session = await provider.Session.get({ req, res } as never);
  if (!session?.accountId) return undefined;
  const user = await accounts.find(session.accountId);
  return user && !user.disabledAt ? user : undefined;
}

/** Only local paths of the console may be returned to after sign-in (no open redirect). */
export function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && /^\/(admin|account)(\/[\w\-./%?=&]*)?$/.test(value) && !value.includes('//') ? value : '/account';
}

/** An authorization request for the console client: the login page, then back to `returnTo`. */
export function consoleLoginUrl(issuer: string, returnTo: string): string {
  const challenge = crypto.createHash('sha256').update(crypto.randomBytes(32)).digest('base64url');
  const params = new URLSearchParams({
    client_id: CONSOLE_CLIENT_ID,
    response_type: 'code',
    redirect_uri: `${issuer}${CONSOLE_CALLBACK_PATH}`,
    scope: 'openid',
    state: returnTo,
    // PKCE is mandatory for every client; the console never redeems the code: signing in is the point.
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${issuer}/auth?${params}`;
}
