import * as oidc from 'openid-client';
import type { UpstreamIdpConfig } from './config.js';

/** Why an upstream sign-in did not produce a person: shown on the sign-in page, audited with `reason`. */
export class FederationError extends Error {
  override name = 'FederationError';
  constructor(
    /** A short machine reason for the audit log: idp_unavailable, state_mismatch, id_token_invalid… */
    readonly reason: string,
    /** What the person reads. */
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}: ${userMessage}`, options);
  }
}

/** What the IdP says about the person, after openid-client checked the ID token (signature, iss, aud, nonce, exp). */
export interface UpstreamPerson {
  issuer: string;
  subject: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  claims: Record<string, unknown>;
}

/** One authorization request sent to the IdP: what the callback needs to check its answer. */
export interface PendingUpstreamSignIn {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

// Discovery documents are re-read this often, so a rotated jwks_uri or endpoint is picked up.
const METADATA_MAX_AGE_MS = 3600_000;
/** An IdP that does not answer within this many seconds is reported as unavailable. */
const REQUEST_TIMEOUT_SECONDS = 10;

/** An upstream OpenID Connect provider as a relying party sees it: discovery, the request, the code exchange. */
export class UpstreamIdp {
  #configuration?: { loaded: number; value: Promise<oidc.Configuration> };

  constructor(
    readonly config: UpstreamIdpConfig,
    /** Where the IdP sends the browser back: registered at the IdP, one per IdP (no mix-up between them). */
    readonly redirectUri: string,
  ) {}

  private configuration(): Promise<oidc.Configuration> {
    const cached = this.#configuration;
    if (cached && Date.now() - cached.loaded < METADATA_MAX_AGE_MS) return cached.value;
    const { issuer, clientId, clientSecret } = this.config;
    const insecure = new URL(issuer).protocol === 'http:'; // loopback only, checked in config.ts
    const value = oidc
      .discovery(new URL(issuer), clientId, undefined, clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(), {
        timeout: REQUEST_TIMEOUT_SECONDS,
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      })
      .catch((err: unknown) => {
        // The next sign-in tries again rather than remembering the outage.
        if (this.#configuration?.value === value) this.#configuration = undefined;
        throw new FederationError('idp_unavailable', `${this.config.label} cannot be reached right now. Try again in a moment, or use another way to sign in.`, { cause: err });
      });
    this.#configuration = { loaded: Date.now(), value };
    return value;
  }

  /** The authorization request (code + PKCE S256 + state + nonce) to send the browser to. */
  async begin(stateTag: string): Promise<PendingUpstreamSignIn> {
    const configuration = await this.configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = `${stateTag}.${oidc.randomState()}`;
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.config.scope,
      response_type: 'code',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    return { url, state, nonce, verifier };
  }

  /**
   * The person the IdP signed in, from the callback's query: the code redeemed with the PKCE verifier,
   * the ID token checked against the nonce, the state against the one sent. Claims missing from the ID
   * token (IdPs that keep email for userinfo) are read from the userinfo endpoint.
   */
  async finish(query: URLSearchParams, pending: Omit<PendingUpstreamSignIn, 'url'>): Promise<UpstreamPerson> {
    const configuration = await this.configuration();
    const callback = new URL(this.redirectUri);
    callback.search = query.toString();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callback, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw this.describe(err);
    }
    const idToken = tokens.claims()!;
    let claims: Record<string, unknown> = { ...idToken };
    if (claims.email === undefined && configuration.serverMetadata().userinfo_endpoint) {
      try {
        claims = { ...(await oidc.fetchUserInfo(configuration, tokens.access_token, idToken.sub)), ...idToken };
      } catch (err) {
        throw this.describe(err);
      }
    }
    const email = typeof claims.email === 'string' ? claims.email : undefined;
    return {
      issuer: idToken.iss,
      subject: idToken.sub,
      email,
      emailVerified: typeof claims.email_verified === 'boolean' ? claims.email_verified : claims.email_verified === 'true' ? true : undefined,
      name: typeof claims.name === 'string' ? claims.name : undefined,
      claims,
    };
  }

  private describe(err: unknown): FederationError {
    const label = this.config.label;
    if (err instanceof FederationError) return err;
    if (err instanceof oidc.AuthorizationResponseError) {
      const refused = err.error === 'access_denied' ? 'You cancelled the sign-in, or it was refused' : `The sign-in was refused (${err.error})`;
      return new FederationError(`idp_error:${err.error}`, `${refused} at ${label}.${err.error_description ? ` ${label} says: ${err.error_description}` : ''}`, { cause: err });
    }
    if (err instanceof oidc.ResponseBodyError) {
      return new FederationError(`token_error:${err.error}`, `${label} did not accept this sign-in (${err.error}). Start again.`, { cause: err });
    }
    const code = (err as { code?: string }).code ?? '';
    if (code === 'OAUTH_INVALID_RESPONSE' && /state/i.test((err as Error).message)) {
      return new FederationError('state_mismatch', 'This sign-in answer does not belong to the sign-in you started. Start again.', { cause: err });
    }
    if (code.startsWith('OAUTH_') || code.startsWith('ERR_JW')) {
      return new FederationError('id_token_invalid', `The answer from ${label} failed its checks (${(err as Error).message}). Start again.`, { cause: err });
    }
    return new FederationError('idp_unavailable', `${label} cannot be reached right now. Try again in a moment, or use another way to sign in.`, { cause: err });
  }
}
