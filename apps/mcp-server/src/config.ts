import { z } from 'zod';
import { booleanFlag, canonicalUrl, loadConfig, optionalString, portNumber } from '@mcp-gw/shared';

const list = () =>
  optionalString().transform((v) =>
    v === undefined
      ? []
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  );

const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(1).max(max).default(fallback);

/** The MCP server's routes besides the endpoint (operational-app.ts). */
const OWN_ROUTES = ['.well-known', 'live', 'ready', 'metrics', 'docs'];

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: portNumber(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: z.string().min(1).default('pglite:./data/pglite'),
    /** The authorization server's issuer, exactly as its metadata's `issuer`. */
    AUTH_ISSUER: canonicalUrl('http://localhost:4000'),
    /** The exact URL clients are configured with; the `aud` of our tokens and PRM `resource`. */
    MCP_RESOURCE_URL: canonicalUrl('http://localhost:3000/mcp'),
    /** Extra browser origins allowed to call /mcp (the resource URL's own origin is always allowed). */
    ALLOWED_ORIGINS: list(),
    /** Extra Host header values accepted (the resource URL's host, localhost and 127.0.0.1 are always). */
    ALLOWED_HOSTS: list(),
    REDIS_URL: optionalString(),
    /** Express "trust proxy": hops (number) or a list of proxy addresses, for client IPs behind a proxy. */
    TRUST_PROXY: optionalString().transform((v) => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : v === 'true' ? true : v)),
    RATE_LIMIT_READ_PER_MINUTE: positiveInt(120),
    RATE_LIMIT_WRITE_PER_MINUTE: positiveInt(30),
    MAX_BODY_BYTES: positiveInt(1024 * 1024, 16 * 1024 * 1024),
    MAX_SESSIONS: positiveInt(1000),
    SESSION_IDLE_TIMEOUT_MS: positiveInt(30 * 60_000),
    /**
     * Seconds a token's grant is known to stand without asking the database again, while a revocation
     * feed is live (Redis channel subscribed, or the embedded launcher). 0: ask on every request.
     */
    GRANT_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    SESSION_SWEEP_INTERVAL_MS: positiveInt(30_000),
    /** SSE resumption (Last-Event-ID): events kept per stream, and for how long after the last one. */
    SSE_REPLAY_MAX_EVENTS: positiveInt(200, 100_000),
    SSE_REPLAY_TTL_SECONDS: positiveInt(600, 24 * 3600),
    /** SIGTERM: how long in-flight requests may take to finish before the process exits anyway. */
    SHUTDOWN_TIMEOUT_MS: positiveInt(15_000, 10 * 60_000),
    CONFIRMATION_TTL_SECONDS: positiveInt(300, 3600),
    /** RFC 9449: how far a DPoP proof's iat may be from now (either way); its jti is remembered this long. */
    DPOP_PROOF_MAX_AGE_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
    /**
     * RFC 9449 §9: `required` makes every DPoP proof carry a nonce this server handed out (DPoP-Nonce),
     * so proofs cannot be signed ahead of time. Replicas behind one URL share DPOP_NONCE_SECRET.
     */
    DPOP_NONCE: z.enum(['off', 'required']).default('off'),
    DPOP_NONCE_SECRET: optionalString().refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
    IDEMPOTENCY_TTL_HOURS: positiveInt(24, 24 * 30),
    RESOURCE_DOCUMENTATION_URL: optionalString(),
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString(),
    OTEL_SERVICE_NAME: z.string().default('mcp-server'),
    /** Serve /mcp without tokens as a fixed demo user. Only for load benchmarks on a closed machine. */
    MCP_AUTH_DISABLED: booleanFlag(false),
    MCP_AUTH_DISABLED_SUB: optionalString(),
    /** Seed demo projects and tickets at start (development). */
    SEED_DEMO_DATA: booleanFlag(false),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.DPOP_NONCE === 'required' && cfg.REDIS_URL && !cfg.DPOP_NONCE_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['DPOP_NONCE_SECRET'], message: 'is required with DPOP_NONCE=required and REDIS_URL: every replica must hand out and accept the same nonces' });
    }
    if (cfg.MCP_AUTH_DISABLED && cfg.NODE_ENV === 'production') {
      ctx.addIssue({ code: 'custom', path: ['MCP_AUTH_DISABLED'], message: 'must not be set when NODE_ENV=production' });
    }
    if (cfg.MCP_AUTH_DISABLED && !cfg.MCP_AUTH_DISABLED_SUB) {
      ctx.addIssue({ code: 'custom', path: ['MCP_AUTH_DISABLED_SUB'], message: 'is required with MCP_AUTH_DISABLED (the user id to act as)' });
    }
    // The endpoint is served at its path and at that path's tails (a proxy that strips a prefix): none
    // of its segments may be one of this server's own routes, which it would then hide.
    const clash = (URL.parse(cfg.MCP_RESOURCE_URL)?.pathname ?? '').split('/').find((segment) => OWN_ROUTES.includes(segment.toLowerCase()));
    if (clash) {
      ctx.addIssue({ code: 'custom', path: ['MCP_RESOURCE_URL'], message: `must not have "${clash}" in its path: /${clash} is a route of the MCP server itself (use e.g. https://example.com/tickets/mcp)` });
    }
    for (const origin of cfg.ALLOWED_ORIGINS) {
      if (origin !== '*' && !/^[a-z][a-z0-9+.-]*:\/\/[^/]+$/i.test(origin)) {
        ctx.addIssue({ code: 'custom', path: ['ALLOWED_ORIGINS'], message: `"${origin}" is not an origin (scheme://host[:port])` });
      }
      if (origin === '*') {
        ctx.addIssue({ code: 'custom', path: ['ALLOWED_ORIGINS'], message: '"*" is not allowed: list the origins' });
      }
    }
  });

export type McpServerConfig = z.infer<typeof configSchema>;

/** Reads the environment once. Throws a ConfigError naming each bad variable. */
export function loadMcpConfig(env: Record<string, string | undefined> = process.env): McpServerConfig {
  return loadConfig(configSchema, env);
}

/** A config for tests and embedding: defaults plus overrides, validated the same way. */
export function buildConfig(overrides: Record<string, string | undefined> = {}): McpServerConfig {
  return loadConfig(configSchema, overrides);
}

/** Where the resource metadata is served for this resource URL (RFC 9728 §3.1, path-inserted). */
export function resourceMetadataUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}
