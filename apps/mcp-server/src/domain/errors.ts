/**
 * Errors a tool reports to the model as a tool result (`isError: true`), with a message written for
 * the model and the person: what went wrong and what to do next. Anything else is an internal error.
 */
export class DomainError extends Error {
  constructor(
    readonly code: 'not_found' | 'invalid_input' | 'conflict' | 'forbidden' | 'rate_limited' | 'expired',
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super('not_found', message);
  }
}

export class InvalidInputError extends DomainError {
  constructor(message: string) {
    super('invalid_input', message);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super('conflict', message);
  }
}
