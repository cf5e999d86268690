import type { JWK } from 'jose';
import type { SigningKeyStore, StoredKey } from './keys.js';

/**
 * The signing keys of this replica, kept in step with the database so that a rotation (`pnpm admin
 * keys rotate`, on any machine) reaches every replica without a restart:
 * - every key in the database is published (JWKS) as soon as this replica reloads: at least every
 *   `reloadMs`, and before answering a JWKS request when the last load is older than a few seconds;
 * - a new key only signs once it is `publishAheadMs` old, so every replica publishes it before any
 *   token signed with it exists (resource servers fetch the JWKS from whichever replica answers).
 *   Until then the newest key older than that signs, even if the rotation has retired it.
 */
export class KeyRing {
  private keys: StoredKey[] = [];
  private signer: string | undefined;
  private loadedAt = 0;
  private loading: Promise<boolean> | undefined;
  private readonly listeners: (() => void)[] = [];

  private constructor(
    private readonly store: SigningKeyStore,
    private readonly publishAheadMs: number,
  ) {}

  static async open(store: SigningKeyStore, publishAheadMs: number): Promise<KeyRing> {
    const ring = new KeyRing(store, publishAheadMs);
    await ring.reload();
    return ring;
  }

  /** Private keys for oidc-provider, the signing one first (it signs with the first that fits). */
  get privateJwks(): JWK[] {
    const first = this.keys.find((k) => k.kid === this.signer);
    return [...(first ? [first] : []), ...this.keys.filter((k) => k !== first)].map((k) => k.privateJwk);
  }

  get publicJwks(): JWK[] {
    return this.keys.map((k) => k.publicJwk);
  }

  get signingKid(): string | undefined {
    return this.signer;
  }

  /** Called after the published keys or the signing key changed. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Reads the keys again; true when something changed (and the listeners were told). */
  reload(now = Date.now()): Promise<boolean> {
    this.loading ??= this.load(now).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Reloads when the last load is older than `maxAgeMs`. */
  async fresh(maxAgeMs: number): Promise<void> {
    if (Date.now() - this.loadedAt > maxAgeMs) await this.reload();
  }

  private async load(now: number): Promise<boolean> {
    const keys = await this.store.loadAll();
    this.loadedAt = Date.now();
    // Newest first: the newest key old enough signs; with none old enough yet (a rotation soon after
    // the first start), the oldest, which has been published longest.
    const signer = (keys.find((k) => k.createdAt <= now - this.publishAheadMs) ?? keys[keys.length - 1])?.kid;
    const changed = signer !== this.signer || keys.map((k) => k.kid).join() !== this.keys.map((k) => k.kid).join();
    this.keys = keys;
    this.signer = signer;
    if (changed) for (const listener of this.listeners) listener();
    return changed;
  }
}
