import { z } from 'zod';

/**
 * Reads configuration from the environment once, validated by `schema`. On failure the message names
 * each bad variable and why, so a mistyped deployment fails at start with a useful line, not later.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    return `  ${variable}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Empty strings in the environment mean "not set". */
export const optionalString = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A TCP port; unset or empty (`PORT=`) means the fallback, not port 0 (which `Number('')` would give). */
export const portNumber = (fallback: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).default(fallback),
  );

export const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

/** An absolute http(s) URL without a trailing slash, query or fragment (issuers, resource URLs). */
export const canonicalUrl = (fallback?: string) => {
  const base = z
    .string()
    .url()
    .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
    .refine((v) => !v.includes('?') && !v.includes('#'), 'must not have a query or fragment')
    .transform((v) => v.replace(/\/+$/, ''));
  return fallback === undefined ? base : base.default(fallback);
};
