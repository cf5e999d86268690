// Every customisation of oidc-provider's internals, installed from one place. Each file opens with the
// upstream file and symbol it relies on; test/oidc-extensions.contract.test.ts fails by name when an
// upgrade removes or changes one.
import type Provider from 'oidc-provider';
import { installClientSecretHashing } from './client-secret-hashing.js';
import { handleJwtAccessTokens, type JwtAccessTokenDeps } from './jwt-access-tokens.js';
import { installLoopbackRedirectPorts } from './loopback-redirect-ports.js';
import { installRefreshGrace, type RefreshSuccessors } from './refresh-token-grace.js';

export { applyKeysToProvider } from './signing-keys.js';
export { RefreshSuccessors } from './refresh-token-grace.js';

export interface OidcExtensionDeps extends JwtAccessTokenDeps {
  refreshGrace: { graceSeconds: number; successors: RefreshSuccessors };
}

export function installOidcExtensions(provider: Provider, deps: OidcExtensionDeps): void {
  installLoopbackRedirectPorts(provider);
  handleJwtAccessTokens(provider, deps);
  // Client secrets are stored hashed (adapter.ts).
  installClientSecretHashing(provider);
  installRefreshGrace(provider, deps.refreshGrace);
}
