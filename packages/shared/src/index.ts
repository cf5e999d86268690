export * from './scopes.js';
export * from './errors.js';
export * from './config.js';
export * from './logger.js';
export * from './bearer.js';
export { JwksCache, type JwksCacheOptions } from './jwks-cache.js';
export {
  AccessTokenVerifier,
  requireScopes,
  DEFAULT_ALGORITHMS,
  type AccessTokenVerifierOptions,
  type VerifiedAccessToken,
  type RevocationCheck,
} from './token-verifier.js';
export * from './revocation.js';
export * from './live-subscription.js';
export * from './dpop.js';
export * from './dpop-nonce.js';
