import { describe, expect, it } from 'vitest';
import { InsufficientScopeError, InvalidTokenError, OAuthError } from './errors.js';

describe('OAuth errors', () => {
  it('InvalidTokenError is RFC 6750 invalid_token with status 401', () => {
    const error = new InvalidTokenError('The access token expired');
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.error, error.errorDescription, error.message, error.status]).toEqual([
      'InvalidTokenError',
      'invalid_token',
      'The access token expired',
      'The access token expired',
      401,
    ]);
    expect(new InvalidTokenError().errorDescription).toBe('The access token is invalid');
  });

  it('InsufficientScopeError is insufficient_scope with status 403 and the required scopes', () => {
    const error = new InsufficientScopeError(['tickets:read', 'tickets:write']);
    expect(error).toBeInstanceOf(OAuthError);
    expect([error.name, error.error, error.status]).toEqual(['InsufficientScopeError', 'insufficient_scope', 403]);
    expect(error.requiredScopes).toEqual(['tickets:read', 'tickets:write']);
    expect(error.errorDescription).toBe('This operation requires the scope(s): tickets:read tickets:write');
    expect(new InsufficientScopeError(['admin'], 'Admins only').errorDescription).toBe('Admins only');
  });
});
