import crypto from 'node:crypto';
import { OAuthError } from './errors.js';
import { safeEqual } from './safe-equal.js';

/**
 * RFC 9449 §9: the proof must carry the nonce this server hands out (in `DPoP-Nonce`). The answer names
 * the nonce to use, so the client retries at once.
 */
export class UseDpopNonceError extends OAuthError {
  constructor(
    readonly nonce: string,
    description = 'This server requires a DPoP nonce: sign a new proof with the nonce in the DPoP-Nonce header',
  ) {
    super('use_dpop_nonce', description, 401);
  }
}

export interface DpopNonceOptions {
  /** Every replica behind one URL must share it, or a client moving between them is asked again. */
  secret: string | Buffer;
  /** How long one nonce is handed out; it is accepted for one more step after (seconds). */
  stepSec?: number;
}

/**
 * Server-provided DPoP nonces (RFC 9449 §9) without state: the nonce of a time step is an HMAC of the
 * step under the secret, so any replica with the secret checks any other's. The current and the
 * previous step's nonces are accepted: a proof cannot have been signed more than two steps ahead.
 */
export class DpopNonces {
  private readonly secret: Buffer;
  private readonly stepMs: number;
  private cached: { step: number; current: string; previous: string } | undefined;

  constructor(options: DpopNonceOptions) {
    this.secret = Buffer.isBuffer(options.secret) ? options.secret : Buffer.from(options.secret, 'utf8');
    if (this.secret.length < 32) throw new Error('The DPoP nonce secret must be at least 32 bytes');
    this.stepMs = (options.stepSec ?? 60) * 1000;
  }

  /** The nonce to hand out now. */
  current(now = Date.now()): string {
    return this.at(now).current;
  }

  /** Whether `nonce` is this step's or the previous one's. */
  accepts(nonce: unknown, now = Date.now()): boolean {
    if (typeof nonce !== 'string' || nonce.length !== 43) return false;
    const { current, previous } = this.at(now);
    return safeEqual(nonce, current) || safeEqual(nonce, previous);
  }

  private at(now: number): { current: string; previous: string } {
    const step = Math.floor(now / this.stepMs);
    if (this.cached?.step !== step) {
      this.cached = { step, current: this.nonceOf(step), previous: this.cached?.step === step - 1 ? this.cached.current : this.nonceOf(step - 1) };
    }
    return this.cached;
  }

  private nonceOf(step: number): string {
    return crypto.createHmac('sha256', this.secret).update(`dpop-nonce:${step}`).digest('base64url');
  }
}

