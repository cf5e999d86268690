/**
 * The scope catalogue: the single list of scopes both apps understand. The authorization server
 * advertises and grants from it and shows `description` on the consent page; the MCP server advertises
 * the `mcp` ones in its protected resource metadata and checks them per tool.
 */
export type ScopeAudience = 'mcp' | 'admin' | 'identity';

export interface ScopeDefinition {
  readonly name: string;
  /** Shown to the person on the consent page: what the client will be able to do. */
  readonly description: string;
  readonly audience: ScopeAudience;
}

export const SCOPES = {
  openid: { name: 'openid', description: 'Know who you are (your account id)', audience: 'identity' },
  profile: { name: 'profile', description: 'See your name', audience: 'identity' },
  email: { name: 'email', description: 'See your email address', audience: 'identity' },
  offline_access: {
    name: 'offline_access',
    description: 'Stay connected when you are not using it (refresh tokens)',
    audience: 'identity',
  },
  'tickets:read': {
    name: 'tickets:read',
    description: 'Search and read tickets and comments in the projects you belong to',
    audience: 'mcp',
  },
  'tickets:write': {
    name: 'tickets:write',
    description: 'Create, update, comment on and close tickets in the projects you belong to, in your name',
    audience: 'mcp',
  },
  admin: {
    name: 'admin',
    description: 'Administer this authorization server: see and revoke client registrations, grants and users',
    audience: 'admin',
  },
} as const satisfies Record<string, ScopeDefinition>;

export type ScopeName = keyof typeof SCOPES;

export const ALL_SCOPES: readonly ScopeDefinition[] = Object.values(SCOPES);

/** Scopes the MCP resource server serves (PRM `scopes_supported`, WWW-Authenticate `scope`). */
export const MCP_SCOPES: readonly ScopeName[] = ALL_SCOPES.filter((s) => s.audience === 'mcp').map(
  (s) => s.name as ScopeName,
);

export const TICKETS_READ = SCOPES['tickets:read'].name;
export const TICKETS_WRITE = SCOPES['tickets:write'].name;
export const ADMIN_SCOPE = SCOPES.admin.name;

export function isKnownScope(name: string): name is ScopeName {
  return Object.hasOwn(SCOPES, name);
}

/**
 * Splits a scope string leniently (runs of spaces, leading/trailing spaces: some clients send
 * `" offline_access"`), dropping duplicates and keeping order.
 */
export function parseScope(value: string | undefined | null): string[] {
  if (!value) return [];
  return [...new Set(value.split(/\s+/).filter(Boolean))];
}

export function describeScope(name: string): string {
  return isKnownScope(name) ? SCOPES[name].description : name;
}
