// The oidc-provider internals src/oidc/extensions/ relies on, one test each, named after the symbol:
// an upgrade that removes or changes one fails here by name, not somewhere deep in a flow test.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Provider from 'oidc-provider';
import { describe, expect, it } from 'vitest';

const upstream = path.dirname(createRequire(import.meta.url).resolve('oidc-provider/package.json'));
const source = (file: string) => fs.readFileSync(path.join(upstream, file), 'utf8');
const provider = new Provider('http://127.0.0.1:1', { clients: [] });

describe('oidc-provider internals the extensions rely on', () => {
  it('lib/models/client.js: Client.prototype.redirectUriAllowed(value) (loopback-redirect-ports.ts)', () => {
    expect(typeof provider.Client.prototype.redirectUriAllowed).toBe('function');
    expect(provider.Client.prototype.redirectUriAllowed.length).toBe(1);
    // Still native-only upstream: the day it is not, the extension can go.
    expect(source('lib/models/client.js')).toMatch(/if \(this\.applicationType !== 'native'\)/);
  });

  it('lib/models/client.js: Client.prototype.compareClientSecret(actual), the only secret comparison (client-secret-hashing.ts)', () => {
    expect(typeof provider.Client.prototype.compareClientSecret).toBe('function');
    expect(source('lib/shared/client_auth.js')).toContain('ctx.oidc.client.compareClientSecret(clientSecret)');
  });

  it('lib/models/refresh_token.js: RefreshToken.prototype.generateTokenId and static RefreshToken.find (refresh-token-grace.ts)', () => {
    expect(typeof (provider.RefreshToken.prototype as unknown as { generateTokenId: unknown }).generateTokenId).toBe('function');
    expect(typeof provider.RefreshToken.find).toBe('function');
    // The rotated token is recorded under this entity name before its successor is created.
    expect(source('lib/actions/grants/refresh_token.js')).toContain("ctx.oidc.entity('RotatedRefreshToken', refreshToken)");
  });

  it('lib/provider.js: the static Provider.ctx getter (refresh-token-grace.ts)', () => {
    expect(Object.getOwnPropertyDescriptor(Provider, 'ctx')?.get).toBeTypeOf('function');
  });

  it('lib/helpers/initialize_keystore.js: a default export called with the provider as this (signing-keys.ts)', async () => {
    const initializeKeystore = (await import('oidc-provider/lib/helpers/initialize_keystore.js')).default as unknown;
    expect(typeof initializeKeystore).toBe('function');
  });

  it('lib/shared/reject_structured_tokens.js: JWTs refused with unsupported_token_type at introspection and revocation (jwt-access-tokens.ts)', () => {
    const reject = source('lib/shared/reject_structured_tokens.js');
    expect(reject).toContain('UnsupportedTokenType');
    expect(reject).toMatch(/revoked' : 'introspected'/);
    for (const action of ['lib/actions/revocation.js', 'lib/actions/introspection.js']) expect(source(action), action).toContain('rejectStructuredTokens');
  });
});
