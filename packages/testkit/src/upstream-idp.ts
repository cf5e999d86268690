import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/** A person at the company's identity provider. */
export interface UpstreamUser {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  password: string;
  groups?: string[];
}

export interface UpstreamIdpOptions {
  users: UpstreamUser[];
  clients: { client_id: string; client_secret?: string; redirect_uris: string[] }[];
  /** Put email, name and groups in the ID token too (Entra, Google); by default only userinfo has them (Okta's default). */
  claimsInIdToken?: boolean;
  port?: number;
}

export interface UpstreamIdp {
  issuer: string;
  port: number;
  provider: Provider;
  /**
   * An Identity Assertion JWT Authorization Grant (ID-JAG) signed with this IdP's own key, as its token
   * exchange endpoint would issue one: iss, iat, exp (+5 min) and jti are filled in unless given;
   * `header` replaces members of { alg: RS256, kid, typ: oauth-id-jag+jwt }.
   */
  issueIdJag(claims: Record<string, unknown>, header?: Record<string, unknown>): string;
  close(): Promise<void>;
}

/**
 * The company's IdP in tests: a second, real oidc-provider on loopback with its own users, keys and
 * sign-in form (login + password). It asks no consent of its own: the company approved the app.
 */
export async function startUpstreamIdp(options: UpstreamIdpOptions): Promise<UpstreamIdp> {
  const users = new Map(options.users.map((u) => [u.sub, u]));
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      ...c,
      token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'idp-1', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: !options.claimsInIdToken,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      const { password: _password, ...claims } = user;
      return { accountId: sub, claims: () => claims };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<h1>IdP error</h1><p>${String(out.error)}: ${String(out.error_description ?? '')}</p>`;
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(req.url ?? '');
    if (!match) return void callback(req, res);
    signIn(provider, users, req, res).catch((err: Error) => {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/html');
      res.end(`<h1>IdP sign-in failed</h1><p>${err.message.replace(/[<>&]/g, '')}</p>`);
    });
  });
  return {
    issuer,
    port,
    provider,
    issueIdJag: (claims, header = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${part({ alg: 'RS256', kid: 'idp-1', typ: 'oauth-id-jag+jwt', ...header })}.${part({ iss: issuer, iat: now, exp: now + 300, jti: crypto.randomUUID(), ...claims })}`;
      return `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function signIn(provider: Provider, users: Map<string, UpstreamUser>, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const page = (error = '') => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>Company sign-in</title><h1>Company IdP</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post"><label>Login <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label><button type="submit">Sign in at the IdP</button></form>`);
  };
  if (req.method !== 'POST') return page();
  const body = new URLSearchParams(await new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString()));
    req.on('end', () => resolve(data));
  }));
  const user = users.get(body.get('login') ?? '');
  if (!user || user.password !== body.get('password')) {
    res.statusCode = 401;
    return page('Wrong login or password.');
  }
  const grant = new provider.Grant({ accountId: user.sub, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: user.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
}
