import { z } from 'zod';
import { booleanFlag, canonicalUrl, ConfigError, loadConfig, optionalString, portNumber } from '@mcp-gw/shared';
import { loadUpstreamIdps, type UpstreamIdpConfig } from './federation/config.js';
import { loadEnterpriseIdps, type EnterpriseIdpConfig } from './enterprise/config.js';
import { issuerPath, OWN_ROUTE_SEGMENTS } from './site-path.js';

const base64Key = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)');

export const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: portNumber(4000),
    HOST: z.string().default('127.0.0.1'),
    ISSUER: canonicalUrl('http://localhost:4000'),
    DATABASE_URL: z.string().default('pglite:./data/pglite'),
    /** The MCP server's resource URL: the default `resource` and the audience of its tokens. */
    MCP_RESOURCE_URL: canonicalUrl('http://localhost:3000/mcp'),
    /** More resource servers this AS issues tokens for (comma-separated URLs). */
    EXTRA_RESOURCE_URLS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean))
      .pipe(z.array(z.string().url())),
    ACCESS_TOKEN_TTL: z.coerce.number().int().min(10).max(86_400).default(3600),
    /** RFC 9449 §8: `required` makes the token endpoint ask every DPoP proof for its nonce (DPoP-Nonce). */
    DPOP_NONCE: z.enum(['off', 'required']).default('off'),
    DPOP_NONCE_SECRET: optionalString().refine((v) => v === undefined || v.length >= 32, 'must be at least 32 characters'),
    REFRESH_TOKEN_TTL: z.coerce.number().int().min(60).max(90 * 86_400).default(30 * 86_400),
    /**
     * Seconds after a refresh token's rotation during which presenting it again returns the same
     * successor (concurrent refreshes, lost responses) instead of revoking the grant. 0 disables.
     */
    REFRESH_TOKEN_REUSE_GRACE: z.coerce.number().int().min(0).max(300).default(10),
    AUTHORIZATION_CODE_TTL: z.coerce.number().int().min(10).max(600).default(60),
    SESSION_TTL: z.coerce.number().int().min(60).default(14 * 86_400),
    GRANT_TTL: z.coerce.number().int().min(60).default(365 * 86_400),
    /** Seals private keys and server secrets at rest (AES-256-GCM). Required in production. */
    KEY_ENCRYPTION_KEY: optionalString().pipe(base64Key.optional()),
    /** Cookie signing keys (comma-separated, newest first). Generated and stored when absent. */
    COOKIE_KEYS: optionalString().transform((v) => v?.split(',').map((s) => s.trim()).filter(Boolean)),
    TRUST_PROXY: booleanFlag(false),
    /**
     * People sign in with an email and a password kept here. false leaves only the upstream IdPs
     * (IDP_<ID>_*): the password form is gone and its endpoint refuses.
     */
    LOCAL_PASSWORDS: booleanFlag(true),
    DEMO_EMAIL: optionalString().pipe(z.string().email().optional()),
    DEMO_PASSWORD: optionalString().pipe(z.string().min(8).optional()),
    /** Dynamic registrations allowed per IP per hour. */
    REGISTRATION_RATE_LIMIT: z.coerce.number().int().min(1).default(30),
    /** Failed logins per account (and per IP ×5) before a backoff. */
    LOGIN_FAILURES_BEFORE_BACKOFF: z.coerce.number().int().min(1).default(5),
    REDIS_URL: optionalString(),
    /**
     * With Redis: how long a revocation waits for every subscribed MCP server to confirm it stopped
     * trusting the grant (milliseconds) before answering anyway; 0 does not wait.
     */
    REVOCATION_ACK_TIMEOUT_MS: z.coerce.number().int().min(0).max(30_000).default(2000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Accept Client ID Metadata Documents (client_id = https URL of a JSON document). */
    CIMD_ENABLED: booleanFlag(true),
    /**
     * Tests and local development only: fetch metadata documents from loopback servers with
     * self-signed certificates. Refused in production.
     */
    UNSAFE_CIMD_ALLOW_LOOPBACK: booleanFlag(false),
    /** Dynamic registrations that never obtained a token are purged after this long (seconds). */
    CLIENT_UNUSED_TTL: z.coerce.number().int().min(60).default(24 * 3600),
    /** Dynamic registrations unused for this long are purged (seconds). */
    CLIENT_IDLE_TTL: z.coerce.number().int().min(3600).default(90 * 86_400),
    /** Every replica reads the signing keys from the database this often (seconds): rotations reach it. */
    KEY_RELOAD_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    /**
     * A new signing key signs only once it is this old (seconds), so every replica publishes it first.
     * At least KEY_RELOAD_SECONDS with several replicas; 0 signs at once (one replica).
     */
    KEY_PUBLISH_AHEAD_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
    /** Audit events older than this are deleted by the sweep (days). */
    AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
    /** Expired rows are swept this often (seconds). */
    CLEANUP_INTERVAL: z.coerce.number().int().min(5).default(600),
  })
  .superRefine((env, ctx) => {
    if (env.DPOP_NONCE === 'required' && env.REDIS_URL && !env.DPOP_NONCE_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['DPOP_NONCE_SECRET'], message: 'is required with DPOP_NONCE=required and REDIS_URL: every replica must hand out and accept the same nonces' });
    }
    if (env.KEY_PUBLISH_AHEAD_SECONDS > 0 && env.KEY_PUBLISH_AHEAD_SECONDS < env.KEY_RELOAD_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['KEY_PUBLISH_AHEAD_SECONDS'], message: 'must be at least KEY_RELOAD_SECONDS (or 0), or a replica could sign with a key another one does not publish yet' });
    }
    if (env.NODE_ENV === 'production' && !env.KEY_ENCRYPTION_KEY) {
      ctx.addIssue({ code: 'custom', path: ['KEY_ENCRYPTION_KEY'], message: 'is required when NODE_ENV=production' });
    }
    if (env.NODE_ENV === 'production' && env.UNSAFE_CIMD_ALLOW_LOOPBACK) {
      ctx.addIssue({ code: 'custom', path: ['UNSAFE_CIMD_ALLOW_LOOPBACK'], message: 'must not be set when NODE_ENV=production' });
    }
    const first = URL.canParse(env.ISSUER) ? issuerPath(env.ISSUER).split('/')[1] : undefined;
    if (first && OWN_ROUTE_SEGMENTS.includes(first.toLowerCase())) {
      ctx.addIssue({ code: 'custom', path: ['ISSUER'], message: `must not have a path beginning with /${first}: that is a route of the authorization server itself (use e.g. https://example.com/oauth)` });
    }
    if (env.NODE_ENV === 'production' && !env.ISSUER.startsWith('https://')) {
      ctx.addIssue({ code: 'custom', path: ['ISSUER'], message: 'must be https when NODE_ENV=production' });
    }
  });

export type AuthServerConfig = z.infer<typeof schema> & {
  /** Upstream OpenID Connect providers offered on the sign-in page (IDP_<ID>_* variables). */
  UPSTREAM_IDPS: UpstreamIdpConfig[];
  /** Enterprise IdPs whose ID-JAGs the token endpoint accepts (ENTERPRISE_IDP_<ID>_* variables). */
  ENTERPRISE_IDPS: EnterpriseIdpConfig[];
};

export function loadAuthServerConfig(env: Record<string, string | undefined> = process.env): AuthServerConfig {
  const config = loadConfig(schema, env);
  const production = config.NODE_ENV === 'production';
  // Both prefix-scanned families are read before failing, so one start reports every bad variable.
  const problems: string[] = [];
  const attempt = <T>(load: () => T[]): T[] => {
    try {
      return load();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.message.replace(/^Invalid configuration:\n/, ''));
      return [];
    }
  };
  const UPSTREAM_IDPS = attempt(() => loadUpstreamIdps(env, { production }));
  const ENTERPRISE_IDPS = attempt(() => loadEnterpriseIdps(env, { production }));
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  if (!config.LOCAL_PASSWORDS && UPSTREAM_IDPS.length === 0) {
    throw new ConfigError('Invalid configuration:\n  LOCAL_PASSWORDS: false needs an upstream IdP (IDP_<ID>_ISSUER, IDP_<ID>_CLIENT_ID), or nobody could sign in');
  }
  return { ...config, UPSTREAM_IDPS, ENTERPRISE_IDPS };
}

/** Every resource indicator this authorization server issues tokens for. */
export function resourceUrls(config: AuthServerConfig): string[] {
  return [config.MCP_RESOURCE_URL, ...config.EXTRA_RESOURCE_URLS];
}
