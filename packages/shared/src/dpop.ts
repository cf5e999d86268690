import crypto from 'node:crypto';
import type { JWK } from 'jose';
import { OAuthError } from './errors.js';
import { safeEqual } from './safe-equal.js';
import { UseDpopNonceError, type DpopNonces } from './dpop-nonce.js';

/** RFC 9449 §7.1: a DPoP proof that is missing, malformed or does not match the request or the token. */
export class InvalidDpopProofError extends OAuthError {
  constructor(description: string) {
    super('invalid_dpop_proof', description, 401);
  }
}

/** The proof algorithms accepted by default (the authorization server's dpop_signing_alg_values_supported). */
export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'Ed25519', 'EdDSA', 'PS256', 'RS256'] as const;

/** Remembers proof ids for as long as a proof is acceptable, so none is used twice. */
export interface DpopReplayStore {
  /** Records `key`; true when it was already recorded (a replay). */
  seen(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * One process's memory, in two generations: ids go into the current one, which becomes the previous
 * one after `ttl` (or when full), and the previous one is dropped whole. Each id is kept at least its
 * ttl and at most twice it; no per-entry sweep (deleting a Map's oldest entries one by one leaves holes
 * every later walk from the start must skip). Memory is bounded: when a generation is full it rotates
 * early, and replays are then caught among at least the last `maxEntries` proofs.
 */
export class MemoryDpopReplayStore implements DpopReplayStore {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt = Date.now();
  constructor(private readonly maxEntries = 100_000) {}

  async seen(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (now - this.rotatedAt >= ttlMs || this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = now;
    }
    const until = this.current.get(key) ?? this.previous.get(key);
    if (until !== undefined && until > now) return true;
    this.current.set(key, now + ttlMs);
    return false;
  }
}

/** Minimal Redis surface (ioredis): `SET key 1 PX ttl NX` answers null when the key existed. */
export interface RedisLike {
  set(key: string, value: string, px: 'PX', ttl: number, nx: 'NX'): Promise<'OK' | null>;
}

/**
 * Shared by every replica: a proof replayed to another replica is refused too. While Redis cannot be
 * reached, this process's memory answers (a replay to the same replica is still refused) and `onError`
 * is told.
 */
export class RedisDpopReplayStore implements DpopReplayStore {
  private readonly local = new MemoryDpopReplayStore();
  constructor(
    private readonly redis: RedisLike,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly prefix = 'dpop:jti:',
  ) {}

  async seen(key: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.prefix}${key}`, '1', 'PX', ttlMs, 'NX')) === null;
    } catch (err) {
      this.onError(err);
      return this.local.seen(key, ttlMs);
    }
  }
}

/**
 * RFC 9449 §4.2's `htu` comparison: scheme and host in lower case, the default port dropped, no query
 * and no fragment (RFC 3986 §6.2.2 and §6.2.3 normalisation).
 */
export function normalizeHtu(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined;
  url.hash = '';
  url.search = '';
  // The URL parser already lowers scheme and host and drops a default port; a bare origin gets "/".
  return url.href;
}

/** base64url(SHA-256(access token)): the proof's `ath` (RFC 9449 §4.2). */
export function accessTokenHash(token: string): string {
  return crypto.createHash('sha256').update(token, 'ascii').digest('base64url');
}

export interface DpopVerifierOptions {
  /** Signature algorithms accepted in proofs (asymmetric only). */
  algorithms?: readonly string[];
  /** How far a proof's `iat` may be from now, in seconds (both ways: clock skew). */
  iatWindowSec?: number;
  replay?: DpopReplayStore;
  /** Server-provided nonces (RFC 9449 §9): when set, every proof must carry a current one. */
  nonces?: DpopNonces;
}

export interface DpopRequest {
  /** The `DPoP` header(s) as received. */
  proof: string | string[] | undefined;
  method: string;
  /** The URLs the proof's `htu` may name (the resource's public URL; normalised here). */
  urls: readonly string[];
  accessToken: string;
  /** The token's `cnf.jkt`: the thumbprint of the key it is bound to. */
  jkt: string;
}

/**
 * Checks a DPoP proof presented with a DPoP-bound access token at a resource server (RFC 9449 §4.3 and
 * §7): exactly one proof; `typ: dpop+jwt`; an accepted asymmetric `alg`; a public `jwk` in the header
 * that signed it; `jti`, `htm`, `htu`, `iat` present; `htm` and `htu` those of this request; `iat`
 * within the window; `ath` the hash of the token; the key's thumbprint the token's `cnf.jkt`; the `jti`
 * never seen before within the window; with `nonces`, a nonce this server handed out lately. Throws
 * InvalidDpopProofError saying which check failed, or UseDpopNonceError naming the nonce to use.
 */
export class DpopVerifier {
  readonly algorithms: readonly string[];
  readonly nonces: DpopNonces | undefined;
  private readonly window: number;
  private readonly replay: DpopReplayStore;
  /**
   * Protected headers already read, by their encoded bytes, with the key imported: a client signs every
   * proof with the same key, and importing a JWK costs more than the signature check itself (ADR 0017).
   */
  private readonly headers = new Map<string, { alg: string; thumbprint: string; key: crypto.KeyObject }>();
  private targetsOf: { key: string; set: Set<string>; accepted: Set<string> } | undefined;

  constructor(options: DpopVerifierOptions = {}) {
    this.algorithms = options.algorithms ?? DPOP_ALGORITHMS;
    this.window = options.iatWindowSec ?? 60;
    this.replay = options.replay ?? new MemoryDpopReplayStore();
    this.nonces = options.nonces;
  }

  async verify(request: DpopRequest): Promise<void> {
    const { replayKey, signature } = this.check(request);
    // The signature is checked on libuv's thread pool: the one costly step leaves the event loop free.
    if (!(await signature)) throw new InvalidDpopProofError('The DPoP proof does not verify (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)');
    // Last, once everything else holds: a proof that failed another check does not use up its jti.
    if (await this.replay.seen(replayKey, this.replayTtlMs)) throw REPLAYED();
  }

  /** Proof ids are kept for as long as a proof could be accepted (iat either side), and a little more. */
  private get replayTtlMs(): number {
    return (2 * this.window + 5) * 1000;
  }

  /** Every check but the signature's (started, its answer pending) and the replay one; returns the proof's replay key. */
  private check(request: DpopRequest): { replayKey: string; signature: Promise<boolean> } {
    // Node joins repeated headers with ", " (a JWS never contains a comma).
    const proofs = (Array.isArray(request.proof) ? request.proof : request.proof === undefined ? [] : [request.proof]).flatMap((p) => p.split(','));
    if (proofs.length !== 1) throw new InvalidDpopProofError(proofs.length ? 'Exactly one DPoP header is allowed' : 'A DPoP-bound access token needs a DPoP proof (the DPoP header)');
    const proof = proofs[0]!.trim();
    const parts = proof.split('.');
    if (proof.length > 8192 || parts.length !== 3) throw new InvalidDpopProofError('The DPoP proof is not a compact JWS');
    // A client's proofs share one protected header (typ, alg, its jwk): read and checked once, by its bytes.
    const header = this.protectedHeader(parts[0]!);
    const payload = readPayload(parts[1]!);
    const { jti, htm, htu, iat, ath, nonce } = payload as { jti?: unknown; htm?: unknown; htu?: unknown; iat?: unknown; ath?: unknown; nonce?: unknown };
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) throw new InvalidDpopProofError('The DPoP proof needs a jti');
    if (htm !== request.method) throw new InvalidDpopProofError(`The DPoP proof's htm must be ${request.method}`);
    if (typeof htu !== 'string' || !this.isTarget(htu, request.urls)) throw new InvalidDpopProofError("The DPoP proof's htu is not this resource's URL");
    const now = Math.floor(Date.now() / 1000);
    if (typeof iat !== 'number' || Math.abs(now - iat) > this.window) throw new InvalidDpopProofError('The DPoP proof is too old or from the future (iat)');
    if (typeof ath !== 'string') throw new InvalidDpopProofError('The DPoP proof needs ath, the hash of the access token');
    if (!safeEqual(ath, accessTokenHash(request.accessToken))) throw new InvalidDpopProofError("The DPoP proof's ath does not match the access token");
    if (!safeEqual(header.thumbprint, request.jkt)) throw new InvalidDpopProofError('The DPoP proof is not signed by the key the access token is bound to');
    if (this.nonces && !this.nonces.accepts(nonce)) {
      throw new UseDpopNonceError(this.nonces.current(), nonce === undefined ? undefined : "The DPoP proof's nonce is not current: sign a new proof with the nonce in the DPoP-Nonce header");
    }
    // jti is unique per key (RFC 9449 §11.1), so the key's thumbprint scopes it; a thumbprint has no ".".
    return { replayKey: `${header.thumbprint}.${jti}`, signature: signatureHolds(parts, header.alg, header.key) };
  }

  /**
   * Whether `htu` names one of the accepted URLs once normalised. The URLs (the resource URL, from
   * configuration) are normalised once per list, and an htu that matched is remembered as sent: a
   * client sends the same one every time.
   */
  private isTarget(htu: string, urls: readonly string[]): boolean {
    const key = urls.join(' ');
    if (this.targetsOf?.key !== key) this.targetsOf = { key, set: new Set(urls.map(normalizeHtu).filter((u): u is string => u !== undefined)), accepted: new Set() };
    const { set, accepted } = this.targetsOf;
    if (accepted.has(htu)) return true;
    const normalized = normalizeHtu(htu);
    if (normalized === undefined || !set.has(normalized)) return false;
    if (accepted.size >= MAX_CACHED_KEYS) accepted.clear();
    accepted.add(htu);
    return true;
  }

  private protectedHeader(encoded: string): { alg: string; thumbprint: string; key: crypto.KeyObject } {
    const known = this.headers.get(encoded);
    if (known) return known;
    let header: { typ?: unknown; alg?: unknown; jwk?: unknown };
    try {
      header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    } catch {
      throw new InvalidDpopProofError('The DPoP proof header cannot be read');
    }
    if (!header || typeof header !== 'object') throw new InvalidDpopProofError('The DPoP proof header cannot be read');
    if (header.typ !== 'dpop+jwt') throw new InvalidDpopProofError('The DPoP proof must have typ "dpop+jwt"');
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg)) {
      throw new InvalidDpopProofError(`The DPoP proof's alg must be one of ${this.algorithms.join(', ')}`);
    }
    const jwk = header.jwk as JWK | undefined;
    if (!jwk || typeof jwk !== 'object') throw new InvalidDpopProofError('The DPoP proof has no jwk header');
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw new InvalidDpopProofError('The DPoP proof jwk must be a public key');
    // RFC 7638 names the key.
    const thumbprint = jwkThumbprint(jwk);
    if (!thumbprint) throw new InvalidDpopProofError('The DPoP proof jwk is not a public key of a supported type');
    let key: crypto.KeyObject;
    try {
      key = crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
    } catch {
      throw new InvalidDpopProofError('The DPoP proof jwk is not a valid public key');
    }
    checkKeyFits(header.alg, key);
    const checked = { alg: header.alg, thumbprint, key };
    if (this.headers.size >= MAX_CACHED_KEYS) this.headers.delete(this.headers.keys().next().value!);
    this.headers.set(encoded, checked);
    return checked;
  }
}

const REPLAYED = () => new InvalidDpopProofError('The DPoP proof was already used (jti replay)');

const MAX_CACHED_KEYS = 10_000;

/** What each accepted alg is checked with: the key type (and curve) it needs, and the verify parameters. */
const JWS_ALGORITHMS: Record<string, { keyType: string; curve?: string; hash: string | null; options?: Partial<crypto.VerifyKeyObjectInput> }> = {
  ES256: { keyType: 'ec', curve: 'prime256v1', hash: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { keyType: 'ec', curve: 'secp384r1', hash: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  EdDSA: { keyType: 'ed25519', hash: null },
  Ed25519: { keyType: 'ed25519', hash: null },
  RS256: { keyType: 'rsa', hash: 'sha256', options: { padding: crypto.constants.RSA_PKCS1_PADDING } },
  PS256: { keyType: 'rsa', hash: 'sha256', options: { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } },
};

/** The key is of `alg`'s type and curve (no alg/key confusion), and an RSA key long enough. */
function checkKeyFits(alg: string, key: crypto.KeyObject): void {
  const spec = JWS_ALGORITHMS[alg];
  if (!spec || key.asymmetricKeyType !== spec.keyType || (spec.curve && key.asymmetricKeyDetails?.namedCurve !== spec.curve)) {
    throw new InvalidDpopProofError(`The DPoP proof's jwk is not a key for ${alg}`);
  }
  if (spec.keyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new InvalidDpopProofError('The DPoP proof jwk is an RSA key shorter than 2048 bits');
}

/** A compact JWS's claims (RFC 7515); the signature is checked apart, by signatureHolds. */
function readPayload(encoded: string): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidDpopProofError('The DPoP proof payload is not JSON');
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new InvalidDpopProofError('The DPoP proof payload is not a JSON object');
  return claims as Record<string, unknown>;
}

/** Whether `key` signed `header.payload` under `alg` (checkKeyFits has matched the key to alg). */
function signatureHolds(parts: string[], alg: string, key: crypto.KeyObject): Promise<boolean> {
  const spec = JWS_ALGORITHMS[alg]!;
  const [protectedHeader, encodedPayload, signature] = parts as [string, string, string];
  return new Promise((resolve) => {
    crypto.verify(spec.hash, Buffer.from(`${protectedHeader}.${encodedPayload}`), { key, ...spec.options }, Buffer.from(signature, 'base64url'), (err, holds) => resolve(!err && holds));
  });
}

/** RFC 7638 SHA-256 thumbprint: the required members, in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: JWK): string | undefined {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : jwk.kty === 'OKP' ? ['crv', 'kty', 'x'] : jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : undefined;
  if (!members) return undefined;
  const required: Record<string, string> = {};
  for (const member of members) {
    const value = (jwk as Record<string, unknown>)[member];
    if (typeof value !== 'string' || !value) return undefined;
    required[member] = value;
  }
  return crypto.createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}


/** `DPoP <token>` (RFC 9449 §7.1), as extractBearerToken reads `Bearer <token>`. */
export function extractDpopToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^DPoP[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization);
  return match?.[1];
}

/** The `DPoP` challenge beside Bearer's (RFC 9449 §7.1): which algorithms, and the error if any. */
export function dpopChallenge(algorithms: readonly string[], error?: OAuthError): string {
  const params = [`algs="${algorithms.join(' ')}"`];
  if (error) {
    params.push(`error="${error.error}"`);
    params.push(`error_description="${error.errorDescription.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, '\\$&')}"`);
  }
  return `DPoP ${params.join(', ')}`;
}
