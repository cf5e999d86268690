import { ConfigError } from '@mcp-gw/shared';

/** One upstream OpenID Connect provider people sign in with, from IDP_<ID>_* variables. */
export interface UpstreamIdpConfig {
  /** Lowercase id from the variable names (IDP_OKTA_ISSUER → 'okta'): in URLs and on accounts. */
  id: string;
  /** The button's text: "Continue with <label>". */
  label: string;
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only), for IdPs that allow it. */
  clientSecret?: string;
  scope: string;
  /** Email domains allowed to sign in (lowercase); empty allows every account the IdP signs in. */
  allowedDomains: string[];
  /** A claim every account must carry: `groups=mcp-users` (equal to, or an array containing, the value). */
  requiredClaim?: { name: string; value: string };
  /**
   * The IdP's `email` is authoritative even without `email_verified` (Entra ID with verified domains):
   * such an address may link to an existing account of the same email.
   */
  trustEmail: boolean;
}

const KNOWN = ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'NAME', 'SCOPE', 'ALLOWED_DOMAINS', 'REQUIRED_CLAIM', 'TRUST_EMAIL'];
const VARIABLE = new RegExp(`^IDP_([A-Z0-9]+(?:_[A-Z0-9]+)*?)_(${KNOWN.join('|')})$`);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The upstream IdPs the environment configures. Each needs IDP_<ID>_ISSUER and IDP_<ID>_CLIENT_ID;
 * every problem is reported with its variable's name, all at once.
 */
export function loadUpstreamIdps(env: Record<string, string | undefined>, { production }: { production: boolean }): UpstreamIdpConfig[] {
  const byId = new Map<string, Partial<Record<string, string>>>();
  for (const [name, raw] of Object.entries(env)) {
    const match = VARIABLE.exec(name);
    const value = raw?.trim();
    if (!match || !value) continue;
    const entry = byId.get(match[1]!) ?? {};
    entry[match[2]!] = value;
    byId.set(match[1]!, entry);
  }
  const problems: string[] = [];
  const idps: UpstreamIdpConfig[] = [];
  for (const [ID, v] of [...byId].sort(([a], [b]) => a.localeCompare(b))) {
    const name = (key: string) => `IDP_${ID}_${key}`;
    const issuer = v.ISSUER?.replace(/\/+$/, '');
    const url = issuer ? URL.parse(issuer) : null;
    if (!issuer) problems.push(`${name('ISSUER')}: is required when other ${`IDP_${ID}_*`} variables are set`);
    else if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) problems.push(`${name('ISSUER')}: must be an https URL`);
    else if (url.protocol === 'http:' && (production || !LOOPBACK.has(url.hostname))) {
      problems.push(`${name('ISSUER')}: must be https (plain http only for a loopback IdP outside production)`);
    }
    if (!v.CLIENT_ID) problems.push(`${name('CLIENT_ID')}: is required`);
    let requiredClaim: UpstreamIdpConfig['requiredClaim'];
    if (v.REQUIRED_CLAIM) {
      const [claim, ...rest] = v.REQUIRED_CLAIM.split('=');
      if (!claim?.trim() || !rest.join('=').trim()) problems.push(`${name('REQUIRED_CLAIM')}: must be <claim>=<value>, e.g. groups=mcp-users`);
      else requiredClaim = { name: claim.trim(), value: rest.join('=').trim() };
    }
    const allowedDomains = (v.ALLOWED_DOMAINS ?? '').split(',').map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean);
    const badDomain = allowedDomains.find((d) => !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d));
    if (badDomain) problems.push(`${name('ALLOWED_DOMAINS')}: "${badDomain}" is not a domain name`);
    const scope = v.SCOPE ?? 'openid email profile';
    if (!scope.split(/\s+/).includes('openid')) problems.push(`${name('SCOPE')}: must include openid`);
    if (v.TRUST_EMAIL && !/^(true|false|1|0)$/i.test(v.TRUST_EMAIL)) problems.push(`${name('TRUST_EMAIL')}: must be true or false`);
    if (issuer && v.CLIENT_ID) {
      idps.push({
        id: ID.toLowerCase().replaceAll('_', '-'),
        label: v.NAME ?? ID.charAt(0) + ID.slice(1).toLowerCase().replaceAll('_', ' '),
        issuer,
        clientId: v.CLIENT_ID,
        clientSecret: v.CLIENT_SECRET,
        scope,
        allowedDomains,
        requiredClaim,
        trustEmail: /^(true|1)$/i.test(v.TRUST_EMAIL ?? ''),
      });
    }
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return idps;
}
