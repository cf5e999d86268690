import { describe, expect, it } from 'vitest';
import { normalizeRegistration, RegistrationError } from './normalize.js';

function refusal(body: unknown): RegistrationError {
  try {
    normalizeRegistration(body);
  } catch (err) {
    expect(err).toBeInstanceOf(RegistrationError);
    return err as RegistrationError;
  }
  throw new Error('accepted');
}

const https = ['https://app.example/cb'];

describe('normalizeRegistration', () => {
  it('refuses anything but a JSON object', () => {
    for (const body of [undefined, null, 'x', 42, [], [{ redirect_uris: https }]]) {
      expect(refusal(body).error).toBe('invalid_client_metadata');
    }
  });

  it('requires redirect URIs and checks each one', () => {
    expect(refusal({}).error).toBe('invalid_redirect_uri');
    expect(refusal({ redirect_uris: [] }).error).toBe('invalid_redirect_uri');
    expect(refusal({ redirect_uris: 'https://app.example/cb' }).error).toBe('invalid_redirect_uri');
    const bad = refusal({ redirect_uris: ['https://ok.example/cb', 'javascript:alert(1)'] });
    expect(bad.error).toBe('invalid_redirect_uri');
    expect(bad.errorDescription).toContain('redirect_uris[1]');
    expect(refusal({ redirect_uris: Array.from({ length: 21 }, (_, i) => `https://app.example/${i}`) }).error).toBe('invalid_redirect_uri');
  });

  it('treats null members as absent', () => {
    const { metadata } = normalizeRegistration({ redirect_uris: https, client_uri: null, scope: null, grant_types: null });
    expect(metadata).not.toHaveProperty('client_uri');
    expect(metadata).not.toHaveProperty('scope');
    expect(metadata.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });

  it('drops unsupported grant types and keeps authorization_code', () => {
    const vscode = normalizeRegistration({
      redirect_uris: https,
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    });
    expect(vscode.metadata.grant_types).toEqual(['authorization_code', 'refresh_token']);
    expect(vscode.adjustments.join(' ')).toContain('device_code');
    expect(normalizeRegistration({ redirect_uris: https, grant_types: ['refresh_token', 'implicit'] }).metadata.grant_types).toEqual([
      'authorization_code',
      'refresh_token',
    ]);
    expect(normalizeRegistration({ redirect_uris: https, grant_types: ['authorization_code', 'authorization_code'] }).metadata.grant_types).toEqual([
      'authorization_code',
    ]);
  });

  it('refuses grant_types that are not an array of strings, or leave nothing to do', () => {
    expect(refusal({ redirect_uris: https, grant_types: 'authorization_code' }).error).toBe('invalid_client_metadata');
    expect(refusal({ redirect_uris: https, grant_types: [1] }).error).toBe('invalid_client_metadata');
    expect(refusal({ redirect_uris: https, grant_types: ['refresh_token'] }).error).toBe('invalid_client_metadata');
  });

  it('keeps only the code response type', () => {
    expect(normalizeRegistration({ redirect_uris: https, response_types: ['code', 'token'] }).metadata.response_types).toEqual(['code']);
    expect(refusal({ redirect_uris: https, response_types: ['token'] }).error).toBe('invalid_client_metadata');
    expect(refusal({ redirect_uris: https, response_types: 'code' }).error).toBe('invalid_client_metadata');
  });

  it('accepts the supported authentication methods only', () => {
    for (const method of ['none', 'client_secret_basic', 'client_secret_post']) {
      expect(normalizeRegistration({ redirect_uris: https, token_endpoint_auth_method: method }).metadata.token_endpoint_auth_method).toBe(method);
    }
    for (const method of ['private_key_jwt', 'client_secret_jwt', 'tls_client_auth', 42]) {
      expect(refusal({ redirect_uris: https, token_endpoint_auth_method: method }).error).toBe('invalid_client_metadata');
    }
  });

  it('ignores unknown scopes and keeps only identity scopes in the client metadata', () => {
    expect(normalizeRegistration({ redirect_uris: https, scope: 'claudeai' }).metadata).not.toHaveProperty('scope');
    expect(normalizeRegistration({ redirect_uris: https, scope: 'tickets:read tickets:write' }).metadata).not.toHaveProperty('scope');
    expect(normalizeRegistration({ redirect_uris: https, scope: '  openid   claudeai email ' }).metadata.scope).toBe('openid email');
    expect(refusal({ redirect_uris: https, scope: ['openid'] }).error).toBe('invalid_client_metadata');
  });

  it('defaults application_type from the redirect URIs', () => {
    expect(normalizeRegistration({ redirect_uris: https }).metadata.application_type).toBe('web');
    expect(normalizeRegistration({ redirect_uris: ['http://127.0.0.1:3000/cb'] }).metadata.application_type).toBe('native');
    expect(normalizeRegistration({ redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', ...https] }).metadata.application_type).toBe('native');
    expect(
      normalizeRegistration({ redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'], application_type: 'web' }).metadata.application_type,
    ).toBe('native');
    expect(normalizeRegistration({ redirect_uris: https, application_type: 'native' }).metadata.application_type).toBe('native');
    expect(refusal({ redirect_uris: https, application_type: 'desktop' }).error).toBe('invalid_client_metadata');
  });

  it('cleans the client name and bounds it', () => {
    expect(normalizeRegistration({ redirect_uris: https, client_name: ' Claude\u0000\u001b[31m ' }).metadata.client_name).toBe('Claude[31m');
    expect(refusal({ redirect_uris: https, client_name: 'x'.repeat(201) }).error).toBe('invalid_client_metadata');
    expect(refusal({ redirect_uris: https, client_name: 42 }).error).toBe('invalid_client_metadata');
  });
});
