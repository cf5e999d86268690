import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mcp-gw/shared';
import { loadAuthServerConfig } from '../config.js';
import { loadEnterpriseIdps } from './config.js';

describe('loadEnterpriseIdps', () => {
  it('reads each ENTERPRISE_IDP_<ID>_* group', () => {
    const [acme, okta] = loadEnterpriseIdps(
      {
        ENTERPRISE_IDP_OKTA_ISSUER: 'https://acme.okta.com',
        ENTERPRISE_IDP_ACME_CORP_ISSUER: 'https://idp.acme.example/',
        ENTERPRISE_IDP_ACME_CORP_JWKS_URI: 'https://idp.acme.example/keys',
        ENTERPRISE_IDP_ACME_CORP_ALLOWED_DOMAINS: '@Acme.example, acme.dev',
        ENTERPRISE_IDP_ACME_CORP_SCOPES: 'tickets:read,tickets:write',
        ENTERPRISE_IDP_ACME_CORP_TRUST_EMAIL: 'true',
      },
      { production: true },
    );
    expect(acme).toEqual({ id: 'acme-corp', label: 'Acme corp', issuer: 'https://idp.acme.example/', jwksUri: 'https://idp.acme.example/keys', allowedDomains: ['acme.example', 'acme.dev'], scopes: ['tickets:read', 'tickets:write'], trustEmail: true });
    expect(okta).toMatchObject({ id: 'okta', issuer: 'https://acme.okta.com', jwksUri: undefined, scopes: [], trustEmail: false });
  });

  it('reports every bad variable by name, at once', () => {
    const load = () =>
      loadEnterpriseIdps(
        { ENTERPRISE_IDP_A_JWKS_URI: 'https://a.example/keys', ENTERPRISE_IDP_B_ISSUER: 'http://idp.example', ENTERPRISE_IDP_C_ISSUER: 'https://c.example', ENTERPRISE_IDP_C_SCOPES: 'admin', ENTERPRISE_IDP_C_TRUST_EMAIL: 'maybe' },
        { production: false },
      );
    expect(load).toThrow(ConfigError);
    const message = (() => {
      try {
        load();
      } catch (err) {
        return (err as Error).message;
      }
    })()!;
    expect(message).toContain('ENTERPRISE_IDP_A_ISSUER: is required');
    expect(message).toContain('ENTERPRISE_IDP_B_ISSUER: must be https');
    expect(message).toContain('ENTERPRISE_IDP_C_SCOPES: unknown scope admin');
    expect(message).toContain('ENTERPRISE_IDP_C_TRUST_EMAIL: must be true or false');
  });

  it('accepts plain http for a loopback IdP outside production only', () => {
    expect(loadEnterpriseIdps({ ENTERPRISE_IDP_T_ISSUER: 'http://127.0.0.1:4999' }, { production: false })).toHaveLength(1);
    expect(() => loadEnterpriseIdps({ ENTERPRISE_IDP_T_ISSUER: 'http://127.0.0.1:4999' }, { production: true })).toThrow(/must be https/);
  });

  it('is reported together with bad IDP_<ID>_* variables by the server\'s configuration', () => {
    expect(() => loadAuthServerConfig({ IDP_X_ISSUER: 'https://x.example', ENTERPRISE_IDP_Y_JWKS_URI: 'https://y.example/keys' })).toThrow(
      /IDP_X_CLIENT_ID: is required[\s\S]*ENTERPRISE_IDP_Y_ISSUER: is required/,
    );
    expect(loadAuthServerConfig({ ENTERPRISE_IDP_Y_ISSUER: 'https://y.example' }).ENTERPRISE_IDPS).toMatchObject([{ id: 'y', issuer: 'https://y.example' }]);
  });
});
