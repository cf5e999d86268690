/**
 * A request the tools, resources or prompts layer refuses, as a kind rather than a wire code: each era's
 * adapter (src/mcp/) renders it with its revision's code (a missing resource is -32002 on 2025-era
 * sessions and -32602 on 2026-07-28), so no definition knows which revision it serves.
 */
export type RequestErrorKind = 'resource_not_found' | 'invalid_params' | 'not_permitted';

export class RequestError extends Error {
  constructor(
    readonly kind: RequestErrorKind,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}
