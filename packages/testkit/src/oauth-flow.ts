import crypto from 'node:crypto';

/** The cookies a browser would keep for the authorization server (one origin, paths ignored). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  registration_access_token?: string;
  registration_client_uri?: string;
  redirect_uris: string[];
  [key: string]: unknown;
}

export async function registerClient(issuer: string, metadata: Record<string, unknown>): Promise<RegisteredClient> {
  const response = await fetch(`${issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body as RegisteredClient;
}

export interface AuthorizeOptions {
  issuer: string;
  clientId: string;
  redirectUri: string;
  email: string;
  password: string;
  scope?: string;
  resource?: string;
  decision?: 'approve' | 'deny';
  jar?: CookieJar;
  extraParams?: Record<string, string>;
}

export interface AuthorizeResult {
  /** Where the browser was finally sent (the client's redirect URI with the response). */
  location: URL;
  code?: string;
  state: string;
  verifier: string;
  jar: CookieJar;
  /** Every page the browser saw: method, path, status. */
  trail: string[];
}

/**
 * Walks the authorization endpoint as a browser would, over plain HTTP: authorize → login page →
 * sign in → consent page → approve or deny → redirect to the client. No shortcut into the database.
 */
export async function authorize(options: AuthorizeOptions): Promise<AuthorizeResult> {
  const jar = options.jar ?? new CookieJar();
  const { verifier, challenge } = pkcePair();
  const state = crypto.randomBytes(12).toString('base64url');
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(options.scope !== undefined ? { scope: options.scope } : {}),
    ...(options.resource !== undefined ? { resource: options.resource } : {}),
    ...options.extraParams,
  });
  const walked = await walkAuthorization(new URL(`${options.issuer}/auth?${params}`), {
    issuer: options.issuer,
    email: options.email,
    password: options.password,
    decision: options.decision,
    jar,
  });
  return { ...walked, state, verifier, jar };
}

/**
 * Follows an authorization URL (as a client would open it) through the login and consent pages,
 * like a browser, until the authorization server sends the browser away: returns that location.
 */
export async function walkAuthorization(
  start: URL,
  options: { issuer: string; email: string; password: string; decision?: 'approve' | 'deny'; jar?: CookieJar },
): Promise<{ location: URL; code?: string; trail: string[]; jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar();
  const trail: string[] = [];
  let url = start;
  let method = 'GET';
  let body: URLSearchParams | undefined;
  // The issuer may have a path (https://example.com/oauth): its pages are at its origin.
  const origin = new URL(options.issuer).origin;
  for (let hop = 0; hop < 20; hop++) {
    if (url.origin !== origin) {
      // Left the authorization server: this is the client's redirect URI.
      return { location: url, code: url.searchParams.get('code') ?? undefined, trail, jar };
    }
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded', origin } : {}),
      },
      body,
    });
    jar.store(response);
    trail.push(`${method} ${url.pathname} ${response.status}`);
    method = 'GET';
    body = undefined;
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location')!, url);
      continue;
    }
    const page = await response.text();
    if (response.status !== 200) throw new Error(`unexpected ${response.status} at ${url.pathname}: ${page.slice(0, 500)}`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
    if (!csrf) throw new Error(`no form on ${url.pathname}: ${page.slice(0, 300)}`);
    if (page.includes('name="password"')) {
      url = new URL(`${url.pathname}/login`, url);
      method = 'POST';
      body = new URLSearchParams({ csrf, email: options.email, password: options.password });
    } else {
      const deny = options.decision === 'deny';
      url = new URL(`${url.pathname}/${deny ? 'abort' : 'confirm'}`, url);
      method = 'POST';
      body = new URLSearchParams({ csrf, decision: deny ? 'deny' : 'approve' });
    }
  }
  throw new Error('too many redirects in the authorization flow');
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  id_token?: string;
}

/** POSTs to the token endpoint; returns status and JSON body (success or RFC 6749 error). */
export async function tokenRequest(
  issuer: string,
  params: Record<string, string>,
  auth?: { clientId: string; clientSecret: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')}`;
  const response = await fetch(`${issuer}/token`, { method: 'POST', headers, body: new URLSearchParams(params) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Walks authorization (sign-in and consent) for a registered public client and redeems the code. */
export async function authorizeAndRedeem(options: AuthorizeOptions): Promise<{ tokens: TokenResponse; authorization: AuthorizeResult }> {
  const authorization = await authorize(options);
  if (!authorization.code) throw new Error(`no code: ${authorization.location}`);
  const { status, body } = await tokenRequest(options.issuer, {
    grant_type: 'authorization_code',
    code: authorization.code,
    redirect_uri: options.redirectUri,
    client_id: options.clientId,
    code_verifier: authorization.verifier,
    ...(options.resource !== undefined ? { resource: options.resource } : {}),
  });
  if (status !== 200) throw new Error(`token exchange failed: ${status} ${JSON.stringify(body)}`);
  return { tokens: body as unknown as TokenResponse, authorization };
}

/** Registers a public client, walks consent and exchanges the code: a real token the way clients get one. */
export async function obtainTokens(options: {
  issuer: string;
  email: string;
  password: string;
  resource: string;
  scope?: string;
  clientMetadata?: Record<string, unknown>;
}): Promise<{ client: RegisteredClient; tokens: TokenResponse; redirectUri: string }> {
  const redirectUri = 'http://127.0.0.1:8765/callback';
  const client = await registerClient(options.issuer, {
    client_name: 'testkit client',
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    ...options.clientMetadata,
  });
  const { tokens } = await authorizeAndRedeem({
    issuer: options.issuer,
    clientId: client.client_id,
    redirectUri,
    email: options.email,
    password: options.password,
    scope: options.scope ?? 'tickets:read tickets:write',
    resource: options.resource,
  });
  return { client, tokens, redirectUri };
}
