import { ConfigError, MCP_SCOPES } from '@mcp-gw/shared';

/** An enterprise IdP whose ID-JAGs this server accepts (ENTERPRISE_IDP_<ID>_* variables). */
export interface EnterpriseIdpConfig {
  /** Lowercase id from the variable names: on linked accounts, in the audit trail. */
  id: string;
  label: string;
  /** The `iss` its assertions carry. */
  issuer: string;
  /** Where its signing keys are; absent: the `jwks_uri` of its discovery document. */
  jwksUri?: string;
  /** Email domains its people may have (empty: any). */
  allowedDomains: string[];
  /** The most an assertion from it may grant; empty: every MCP scope. */
  scopes: string[];
  /** Its `email` may link to an existing account without `email_verified` (see IDP_<ID>_TRUST_EMAIL). */
  trustEmail: boolean;
}

const KNOWN = ['ISSUER', 'JWKS_URI', 'NAME', 'ALLOWED_DOMAINS', 'SCOPES', 'TRUST_EMAIL'];
const VARIABLE = new RegExp(`^ENTERPRISE_IDP_([A-Z0-9]+(?:_[A-Z0-9]+)*?)_(${KNOWN.join('|')})$`);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The trusted enterprise IdPs; every bad variable is reported by name, all at once. */
export function loadEnterpriseIdps(env: Record<string, string | undefined>, { production }: { production: boolean }): EnterpriseIdpConfig[] {
  const byId = new Map<string, Partial<Record<string, string>>>();
  for (const [name, raw] of Object.entries(env)) {
    const match = VARIABLE.exec(name);
    const value = raw?.trim();
    if (!match || !value) continue;
    byId.set(match[1]!, { ...byId.get(match[1]!), [match[2]!]: value });
  }
  const problems: string[] = [];
  const idps: EnterpriseIdpConfig[] = [];
  const checkUrl = (variable: string, value: string | undefined) => {
    const url = value ? URL.parse(value) : null;
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return void problems.push(`${variable}: must be an https URL`);
    if (url.protocol === 'http:' && (production || !LOOPBACK.has(url.hostname))) problems.push(`${variable}: must be https (plain http only for a loopback IdP outside production)`);
  };
  for (const [ID, v] of [...byId].sort(([a], [b]) => a.localeCompare(b))) {
    const name = (key: string) => `ENTERPRISE_IDP_${ID}_${key}`;
    if (!v.ISSUER) {
      problems.push(`${name('ISSUER')}: is required when other ENTERPRISE_IDP_${ID}_* variables are set`);
      continue;
    }
    checkUrl(name('ISSUER'), v.ISSUER);
    if (v.JWKS_URI) checkUrl(name('JWKS_URI'), v.JWKS_URI);
    const allowedDomains = (v.ALLOWED_DOMAINS ?? '').split(',').map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean);
    const badDomain = allowedDomains.find((d) => !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d));
    if (badDomain) problems.push(`${name('ALLOWED_DOMAINS')}: "${badDomain}" is not a domain name`);
    const scopes = (v.SCOPES ?? '').split(/[\s,]+/).filter(Boolean);
    const unknown = scopes.filter((s) => !(MCP_SCOPES as readonly string[]).includes(s));
    if (unknown.length) problems.push(`${name('SCOPES')}: unknown scope ${unknown.join(', ')} (known: ${MCP_SCOPES.join(', ')})`);
    if (v.TRUST_EMAIL && !/^(true|false|1|0)$/i.test(v.TRUST_EMAIL)) problems.push(`${name('TRUST_EMAIL')}: must be true or false`);
    idps.push({
      id: ID.toLowerCase().replaceAll('_', '-'),
      label: v.NAME ?? ID.charAt(0) + ID.slice(1).toLowerCase().replaceAll('_', ' '),
      // The issuer is compared exactly as the IdP writes it in `iss` (some end with a slash).
      issuer: v.ISSUER,
      jwksUri: v.JWKS_URI,
      allowedDomains,
      scopes,
      trustEmail: /^(true|1)$/i.test(v.TRUST_EMAIL ?? ''),
    });
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return idps;
}
