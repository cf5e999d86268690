import { createLocalJWKSet, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';

export interface JwksCacheOptions {
  /** The issuer whose RFC 8414 metadata names `jwks_uri` (used when `jwksUri` is not given). */
  issuer: string;
  jwksUri?: string;
  /** A fixed key set (the authorization server verifying its own tokens): nothing is fetched. */
  keys?: JSONWebKeySet;
  /** Keys are re-read in the background after this long (ms). */
  maxAgeMs?: number;
  /** An unknown `kid` triggers a refetch at most this often (ms): a flood of forged kids cannot hammer the AS. */
  cooldownMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * The authorization server's signing keys, fetched from its metadata's `jwks_uri`, kept in memory,
 * refreshed when a token names an unknown `kid` (key rotation) and kept when the server is unreachable:
 * tokens keep validating with the last good keys while the authorization server is down.
 */
export class JwksCache {
  private jwks: JSONWebKeySet | undefined;
  private local: ReturnType<typeof createLocalJWKSet> | undefined;
  private fetchedAt = 0;
  private lastAttempt = 0;
  private inflight: Promise<void> | undefined;
  private jwksUri: string | undefined;
  private readonly maxAgeMs: number;
  private readonly cooldownMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private keysJson: string | undefined;
  private keysVersion = 0;

  constructor(private readonly options: JwksCacheOptions) {
    this.jwksUri = options.jwksUri;
    this.maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
    this.cooldownMs = options.cooldownMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.fetchImpl = options.fetch ?? fetch;
    if (options.keys) {
      this.jwks = options.keys;
      this.keysJson = JSON.stringify(options.keys.keys);
      this.local = createLocalJWKSet(options.keys);
      this.fetchedAt = Number.POSITIVE_INFINITY;
    }
  }

  /** Changes whenever the key set changes (a key added or withdrawn), not on a refetch of the same set. */
  get version(): number {
    return this.keysVersion;
  }

  /**
   * Replaces the key set of a cache built with static `keys` (the authorization server verifying its
   * own tokens after its keys were reloaded).
   */
  replaceKeys(keys: JSONWebKeySet): void {
    if (!this.options.keys) throw new Error('replaceKeys() is for a JwksCache built with static keys');
    const json = JSON.stringify(keys.keys);
    if (json === this.keysJson) return;
    this.keysJson = json;
    this.keysVersion += 1;
    this.jwks = keys;
    this.local = createLocalJWKSet(keys);
  }

  /** True once keys have been loaded at least once. */
  get ready(): boolean {
    return this.jwks !== undefined;
  }

  /** The jose key resolver: picks by kid/alg, refetching once on a miss. */
  readonly getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.local) {
      // Never loaded: retry at most once per cooldown, so a down authorization server at start-up
      // is not sent one request per incoming token.
      if (!this.inflight && this.lastAttempt && Date.now() - this.lastAttempt < this.cooldownMs) {
        throw new Error('signing keys are not available yet');
      }
      await this.refresh(true);
    }
    else if (Date.now() - this.fetchedAt > this.maxAgeMs) void this.refresh(false).catch(() => {});
    try {
      return await this.local!(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
      if (Date.now() - this.lastAttempt < this.cooldownMs) throw err;
      await this.refresh(false).catch(() => {});
      return this.local!(header, token);
    }
  };

  /** Loads keys now. `mustSucceed` throws when none can be had (first load). */
  async refresh(mustSucceed = true): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.load().finally(() => {
        this.inflight = undefined;
      });
    }
    try {
      await this.inflight;
    } catch (err) {
      if (mustSucceed || !this.local) throw err;
    }
  }

  private async load(): Promise<void> {
    this.lastAttempt = Date.now();
    if (this.options.keys) return;
    const uri = this.jwksUri ?? (this.jwksUri = await this.discoverJwksUri());
    const body = (await this.getJson(uri)) as JSONWebKeySet;
    if (!body || !Array.isArray(body.keys)) throw new Error(`${uri} did not return a JWK set`);
    const json = JSON.stringify(body.keys);
    if (json !== this.keysJson) {
      this.keysJson = json;
      this.keysVersion += 1;
    }
    this.jwks = body;
    this.local = createLocalJWKSet(body);
    this.fetchedAt = Date.now();
  }

  private async discoverJwksUri(): Promise<string> {
    const url = new URL(this.options.issuer);
    // RFC 8414 §3: the well-known segment goes between host and path.
    const metadataUrl = `${url.origin}/.well-known/oauth-authorization-server${url.pathname === '/' ? '' : url.pathname}`;
    const metadata = (await this.getJson(metadataUrl)) as { issuer?: string; jwks_uri?: string };
    if (metadata.issuer !== this.options.issuer) {
      throw new Error(`authorization server metadata names issuer ${metadata.issuer}, expected ${this.options.issuer}`);
    }
    if (!metadata.jwks_uri) throw new Error('authorization server metadata has no jwks_uri');
    return metadata.jwks_uri;
  }

  private async getJson(url: string): Promise<unknown> {
    const response = await this.fetchImpl(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    return response.json();
  }
}
