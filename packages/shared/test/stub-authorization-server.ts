import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A real authorization server as far as a resource server can tell: a loopback HTTP server serving
 * RFC 8414 metadata and a JWKS built from keys generated here, counting every request, so tests can
 * rotate keys, break the metadata, answer errors or stop it entirely.
 */
export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export const RESOURCE = 'https://mcp.example.test/mcp';

export async function newSigningKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

export interface StubAuthorizationServerOptions {
  /** Path part of the issuer (RFC 8414 §3 puts the well-known segment before it). */
  issuerPath?: string;
}

export class StubAuthorizationServer {
  readonly counts = { metadata: 0, jwks: 0, other: 0 };
  /** Keys published in the JWKS. */
  published: SigningKey[] = [];
  /** Key used by `sign` unless told otherwise. */
  current!: SigningKey;
  /** Overrides the metadata document (e.g. another issuer). */
  metadataOverride: Record<string, unknown> | undefined;
  /** When set, every request is answered with this status and no body. */
  failWith: number | undefined;
  issuer = '';
  private server: http.Server | undefined;
  private port = 0;

  private constructor(private readonly options: StubAuthorizationServerOptions) {}

  static async start(options: StubAuthorizationServerOptions = {}): Promise<StubAuthorizationServer> {
    const stub = new StubAuthorizationServer(options);
    stub.current = await newSigningKey('key-1');
    stub.published = [stub.current];
    await stub.listen(0);
    return stub;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get metadataPath(): string {
    return `/.well-known/oauth-authorization-server${this.options.issuerPath ?? ''}`;
  }

  get jwksUri(): string {
    return `${this.origin}/jwks`;
  }

  private listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        this.issuer = `${this.origin}${this.options.issuerPath ?? ''}`;
        resolve();
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', this.origin).pathname;
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (path === this.metadataPath) {
      this.counts.metadata++;
      if (this.failWith) return send(this.failWith);
      return send(200, this.metadataOverride ?? { issuer: this.issuer, jwks_uri: this.jwksUri });
    }
    if (path === '/jwks') {
      this.counts.jwks++;
      if (this.failWith) return send(this.failWith);
      return send(200, { keys: this.published.map((k) => k.publicJwk) });
    }
    this.counts.other++;
    send(404, { error: 'not_found' });
  }

  /** Publishes a new key and signs with it from now on; `keepOld` keeps the previous ones published. */
  async rotate(kid: string, keepOld = true): Promise<SigningKey> {
    const key = await newSigningKey(kid);
    this.published = keepOld ? [...this.published, key] : [key];
    this.current = key;
    return key;
  }

  /** A correct RFC 9068 access token, with `claims` overriding (undefined deletes a claim). */
  async sign(
    claims: Record<string, unknown> = {},
    options: { key?: SigningKey; kid?: string | null; typ?: string | null } = {},
  ): Promise<string> {
    const key = options.key ?? this.current;
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = {
      iss: this.issuer,
      aud: RESOURCE,
      sub: 'user-1',
      client_id: 'client-1',
      scope: 'tickets:read tickets:write',
      gid: 'grant-1',
      jti: 'jti-1',
      iat: now,
      exp: now + 300,
    };
    for (const [name, value] of Object.entries(claims)) {
      if (value === undefined) delete payload[name];
      else payload[name] = value;
    }
    const header: { alg: string; kid?: string; typ?: string } = { alg: key.alg };
    const kid = options.kid === undefined ? key.kid : options.kid;
    if (kid !== null) header.kid = kid;
    const typ = options.typ === undefined ? 'at+jwt' : options.typ;
    if (typ !== null) header.typ = typ;
    return new SignJWT(payload as JWTPayload).setProtectedHeader(header).sign(key.privateKey);
  }

  /** Stops answering: the port refuses connections (kept-alive ones are closed too). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** An address on loopback where nothing listens (a server that is down). */
export async function deadIssuer(): Promise<string> {
  const stub = await StubAuthorizationServer.start();
  const issuer = stub.issuer;
  await stub.stop();
  return issuer;
}

export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
