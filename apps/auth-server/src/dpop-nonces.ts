import crypto from 'node:crypto';
import type { AuthServerConfig } from './config.js';

/**
 * oidc-provider's DPoP feature (RFC 9449): always on; with DPOP_NONCE=required the token endpoint also
 * asks every proof for a server nonce (§8). oidc-provider wants a 32-byte key: derived from
 * DPOP_NONCE_SECRET (shared by the replicas, apart from the MCP server's use of it), else drawn once.
 */
export function dpopFeature(config: Pick<AuthServerConfig, 'DPOP_NONCE' | 'DPOP_NONCE_SECRET'>): { enabled: true; nonceSecret?: Buffer; requireNonce?: () => boolean } {
  if (config.DPOP_NONCE !== 'required') return { enabled: true };
  const nonceSecret = config.DPOP_NONCE_SECRET ? crypto.createHmac('sha256', config.DPOP_NONCE_SECRET).update('oidc-provider DPoP nonces').digest() : crypto.randomBytes(32);
  return { enabled: true, nonceSecret, requireNonce: () => true };
}
