/**
 * The ONLY place tests mint access tokens. A loopback stand-in for the authorization server: it serves
 * RFC 8414 metadata and a JWKS from a generated RSA key, and signs RFC 9068 access tokens with the
 * claims the real AS issues (iss, aud, sub, client_id, scope, exp, iat, jti, gid). Each minted token's
 * grant is recorded as a Grant row in oidc_artifact, so isGrantActive() holds until revokeGrant().
 * To be replaced by a real authorization-server flow: keep this interface small.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { artifactKey, type Database } from '@mcp-gw/db';

export interface MintOptions {
  sub: string;
  clientId?: string;
  scope?: string;
  /** Grant id; a fresh one (with its Grant row) when omitted. */
  gid?: string;
  /** Defaults to the MCP resource URL given to startTestIssuer (or set later with setAudience). */
  aud?: string | string[];
  iss?: string;
  /** Seconds until expiry; negative for an expired token. */
  expiresIn?: number;
  /** Header overrides for negative tests. */
  kid?: string;
  typ?: string;
  /** Sign with a key the issuer does not publish (bad signature when combined with the real kid). */
  foreignKey?: boolean;
  /** Omit the gid claim entirely. */
  noGid?: boolean;
  extraClaims?: Record<string, unknown>;
}

export interface TestIssuer {
  issuer: string;
  setAudience(aud: string): void;
  mintToken(opts: MintOptions): Promise<string>;
  /** An unsigned `alg: none` token with otherwise valid claims. */
  mintUnsignedToken(opts: MintOptions): Promise<string>;
  createGrant(gid?: string): Promise<string>;
  revokeGrant(gid: string): Promise<void>;
  close(): Promise<void>;
}

export async function startTestIssuer(db: Database, options: { audience?: string } = {}): Promise<TestIssuer> {
  const kid = `test-${crypto.randomUUID().slice(0, 8)}`;
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  let audience = options.audience;

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/oauth-authorization-server') {
      send(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        scopes_supported: ['tickets:read', 'tickets:write', 'offline_access'],
      });
    } else if (req.url === '/jwks') {
      send(200, { keys: [jwk] });
    } else send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function createGrant(gid = crypto.randomUUID()): Promise<string> {
    await db.prisma.oidcArtifact.create({
      data: { model: 'Grant', key: artifactKey(gid), payload: {}, grantId: gid, expiresAt: new Date(Date.now() + 3600_000) },
    });
    return gid;
  }

  async function claimsFor(opts: MintOptions): Promise<Record<string, unknown>> {
    const now = Math.floor(Date.now() / 1000);
    const aud = opts.aud ?? audience;
    if (!aud) throw new Error('no audience: pass aud or call setAudience');
    const gid = opts.noGid ? undefined : (opts.gid ?? (await createGrant()));
    return {
      iss: opts.iss ?? issuer,
      aud,
      sub: opts.sub,
      client_id: opts.clientId ?? 'test-client',
      scope: opts.scope ?? 'tickets:read tickets:write',
      iat: now,
      exp: now + (opts.expiresIn ?? 600),
      jti: crypto.randomUUID(),
      ...(gid ? { gid } : {}),
      ...opts.extraClaims,
    };
  }

  return {
    issuer,
    setAudience(aud) {
      audience = aud;
    },
    async mintToken(opts) {
      const key: CryptoKey = opts.foreignKey ? foreign.privateKey : privateKey;
      return new SignJWT(await claimsFor(opts))
        .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? kid, typ: opts.typ ?? 'at+jwt' })
        .sign(key);
    },
    async mintUnsignedToken(opts) {
      const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'at+jwt', kid })}.${enc(await claimsFor(opts))}.`;
    },
    createGrant,
    async revokeGrant(gid) {
      await db.prisma.oidcArtifact.deleteMany({ where: { model: 'Grant', key: artifactKey(gid) } });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
