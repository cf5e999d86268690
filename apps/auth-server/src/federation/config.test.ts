import { describe, expect, it } from 'vitest';
import { loadUpstreamIdps } from './config.js';

describe('loadUpstreamIdps', () => {
  it('reads each IDP_<ID>_* group with its defaults', () => {
    const [entra] = loadUpstreamIdps(
      {
        IDP_ENTRA_ID_ISSUER: 'https://login.microsoftonline.com/tenant/v2.0/',
        IDP_ENTRA_ID_CLIENT_ID: 'app-id',
        IDP_ENTRA_ID_CLIENT_SECRET: 'secret',
        IDP_ENTRA_ID_REQUIRED_CLAIM: 'groups=mcp=users',
        IDP_ENTRA_ID_TRUST_EMAIL: '1',
      },
      { production: true },
    );
    expect(entra).toEqual({
      id: 'entra-id',
      label: 'Entra id',
      issuer: 'https://login.microsoftonline.com/tenant/v2.0',
      clientId: 'app-id',
      clientSecret: 'secret',
      scope: 'openid email profile',
      allowedDomains: [],
      requiredClaim: { name: 'groups', value: 'mcp=users' },
      trustEmail: true,
    });
  });

  it('reports every bad variable by name, at once', () => {
    let message = '';
    try {
      loadUpstreamIdps(
        { IDP_A_CLIENT_ID: 'x', IDP_B_ISSUER: 'https://b.example', IDP_C_ISSUER: 'http://sso.example', IDP_C_CLIENT_ID: 'c', IDP_C_SCOPE: 'email', IDP_C_REQUIRED_CLAIM: 'groups', IDP_C_ALLOWED_DOMAINS: 'not a domain' },
        { production: false },
      );
    } catch (err) {
      message = (err as Error).message;
    }
    for (const expected of ['IDP_A_ISSUER: is required', 'IDP_B_CLIENT_ID: is required', 'IDP_C_ISSUER: must be https', 'IDP_C_SCOPE: must include openid', 'IDP_C_REQUIRED_CLAIM: must be <claim>=<value>', 'IDP_C_ALLOWED_DOMAINS: "not a domain"']) {
      expect(message).toContain(expected);
    }
  });

  it('accepts plain http for a loopback IdP outside production only', () => {
    const env = { IDP_T_ISSUER: 'http://localhost:5555', IDP_T_CLIENT_ID: 't' };
    expect(loadUpstreamIdps(env, { production: false })).toHaveLength(1);
    expect(() => loadUpstreamIdps(env, { production: true })).toThrow(/must be https/);
  });
});
