/**
 * Errors carrying their protocol code, so every layer answers with the standard error of its protocol
 * (RFC 6750 for bearer tokens) instead of a generic failure.
 */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly errorDescription: string,
    readonly status: number,
  ) {
    super(errorDescription);
    this.name = new.target.name;
  }
}

/** RFC 6750 §3.1 invalid_token: missing, expired, revoked, malformed or for another audience. */
export class InvalidTokenError extends OAuthError {
  constructor(description = 'The access token is invalid') {
    super('invalid_token', description, 401);
  }
}

/** RFC 6750 §3.1 insufficient_scope: valid token, but the operation needs `requiredScopes`. */
export class InsufficientScopeError extends OAuthError {
  constructor(
    readonly requiredScopes: string[],
    description = `This operation requires the scope(s): ${requiredScopes.join(' ')}`,
  ) {
    super('insufficient_scope', description, 403);
  }
}
