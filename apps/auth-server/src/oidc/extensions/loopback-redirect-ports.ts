// oidc-provider lib/models/client.js: Client.prototype.redirectUriAllowed
import type Provider from 'oidc-provider';
import { loopbackRedirectMatches } from '../../registration/redirect-uri-policy.js';

/**
 * RFC 8252 §7.3 for every client: a loopback redirect matches whatever its port. Upstream does this
 * for application_type=native only; Client ID Metadata Documents without application_type (Claude
 * Code's) and clients that say web while redirecting to loopback would otherwise fail on the port
 * their listener got at run time.
 */
export function installLoopbackRedirectPorts(provider: Provider): void {
  const originalRedirectUriAllowed = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(this: InstanceType<typeof provider.Client>, value: string) {
    return originalRedirectUriAllowed.call(this, value) || loopbackRedirectMatches(value, this.redirectUris ?? []);
  };
}
