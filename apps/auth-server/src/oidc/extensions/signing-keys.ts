// oidc-provider lib/helpers/initialize_keystore.js (a private file): its default export, what the Provider constructor does with `jwks`
import type Provider from 'oidc-provider';
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';
import type { KeyRing } from '../../key-ring.js';

/** Gives a running oidc-provider the ring's keys (rotation without a restart). */
export function applyKeysToProvider(provider: Provider, ring: KeyRing): void {
  initializeKeystore.call(provider, { keys: ring.privateJwks });
}
