import { expect } from 'vitest';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError as V1UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import * as v2 from '@modelcontextprotocol/client';
import { walkAuthorization } from '@mcp-gw/testkit';
import { InMemoryOAuthProvider, startCallbackServer } from './oauth-client.js';
import { recordingFetch, type WireExchange } from './wire-log.js';
import type { RunningSystem } from './system.js';

/**
 * The OAuth state an SDK 2.x application keeps: besides the registration, tokens and verifier, the
 * discovery state recorded at redirect time, so the client checks on the callback leg that the code
 * goes back to the authorization server that issued it (SEP-2352).
 */
export class V2OAuthProvider extends InMemoryOAuthProvider {
  discovery: v2.OAuthDiscoveryState | undefined;
  saveDiscoveryState(state: v2.OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
  override invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    super.invalidateCredentials(scope);
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
}

/** An elicitation the server asked the client for, as the client's handler saw it. */
export interface AskedElicitation {
  message: string;
  requestedSchema: unknown;
}

/** What the person answers to every elicitation (the handler records each question first). */
export type ElicitationAnswer = { action: 'accept'; content: Record<string, unknown> } | { action: 'decline' | 'cancel' };

export interface SignedInClient<C> {
  client: C;
  provider: InMemoryOAuthProvider;
  /** Every exchange with the MCP URL after sign-in (the connection that is used). */
  wire: WireExchange[];
  elicitations: AskedElicitation[];
  /** The answer the elicitation handler gives (change it between calls). */
  answer: ElicitationAnswer;
}

/**
 * The browser part of a native client's sign-in: open the authorization URL the client asked for,
 * sign in and consent as the demo user, and land on the client's loopback redirect, which receives
 * the response as it would from a browser.
 */
async function signInInBrowser(system: RunningSystem, provider: InMemoryOAuthProvider, callback: Awaited<ReturnType<typeof startCallbackServer>>) {
  expect(provider.authorizationUrls, 'the client asked to open one authorization URL').toHaveLength(1);
  const authUrl = provider.authorizationUrls[0]!;
  expect(authUrl.origin).toBe(new URL(system.issuer).origin);
  expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authUrl.searchParams.get('resource')).toBe(system.mcpUrl);
  const walked = await walkAuthorization(authUrl, { issuer: system.issuer, email: system.demoEmail, password: system.demoPassword });
  expect(walked.location.href.startsWith(`${callback.url}?`), walked.location.href).toBe(true);
  const received = callback.next();
  const landing = await fetch(walked.location);
  expect(landing.status).toBe(200);
  return received;
}

/**
 * The SDK 2.x client (`@modelcontextprotocol/client`) as an application sets it up: version
 * negotiation, form elicitation answered by a handler, OAuth through discovery, dynamic registration,
 * sign-in, consent and the token exchange. The first connect fails with UnauthorizedError after
 * asking to open the authorization URL; the second, after finishAuth, is the one returned.
 */
export async function signInSdkV2(
  system: RunningSystem,
  options: { name: string; versionNegotiation?: { mode: 'auto' | 'legacy' } } = { name: 'sdk-v2' },
): Promise<SignedInClient<v2.Client> & { provider: V2OAuthProvider }> {
  const callback = await startCallbackServer();
  try {
    const provider = new V2OAuthProvider(callback.url, { client_name: options.name });
    const elicitations: AskedElicitation[] = [];
    const make = () => {
      const client = new v2.Client(
        { name: options.name, version: '2.4.0' },
        { versionNegotiation: options.versionNegotiation ?? { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
      );
      client.setRequestHandler('elicitation/create', async (request) => {
        const params = request.params as { message: string; requestedSchema?: unknown };
        elicitations.push({ message: params.message, requestedSchema: params.requestedSchema });
        return signed.answer as never;
      });
      return client;
    };
    const first = make();
    await expect(first.connect(new v2.StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider as never }))).rejects.toBeInstanceOf(v2.UnauthorizedError);
    const params = await signInInBrowser(system, provider, callback);
    expect(provider.discovery?.authorizationServerUrl?.replace(/\/$/, '')).toBe(system.issuer);
    // v2 checks RFC 9207's iss against the authorization server metadata before redeeming the code.
    await new v2.StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider as never }).finishAuth(params);
    expect(provider.savedTokens?.access_token).toBeTruthy();
    const { fetch: wireFetch, exchanges } = recordingFetch(system.mcpUrl);
    const client = make();
    await client.connect(new v2.StreamableHTTPClientTransport(new URL(system.mcpUrl), { authProvider: provider as never, fetch: wireFetch }));
    const signed: SignedInClient<v2.Client> & { provider: V2OAuthProvider } = { client, provider, wire: exchanges, elicitations, answer: { action: 'accept', content: { confirm: true } } };
    return signed;
  } finally {
    await callback.close();
  }
}

/** The SDK 1.x client (`@modelcontextprotocol/sdk`) on a 2025-era session, signed in the same way. */
export async function signInSdkV1(system: RunningSystem, options: { name: string } = { name: 'sdk-v1' }): Promise<SignedInClient<V1Client> & { transport: V1Transport }> {
  const callback = await startCallbackServer();
  try {
    const provider = new InMemoryOAuthProvider(callback.url, { client_name: options.name });
    const elicitations: AskedElicitation[] = [];
    const make = () => {
      const client = new V1Client({ name: options.name, version: '1.32.2' }, { capabilities: { elicitation: { form: {} } } });
      client.setRequestHandler(ElicitRequestSchema, async (request) => {
        const params = request.params as { message: string; requestedSchema?: unknown };
        elicitations.push({ message: params.message, requestedSchema: params.requestedSchema });
        return signed.answer as never;
      });
      return client;
    };
    await expect(make().connect(new V1Transport(new URL(system.mcpUrl), { authProvider: provider }))).rejects.toBeInstanceOf(V1UnauthorizedError);
    const params = await signInInBrowser(system, provider, callback);
    await new V1Transport(new URL(system.mcpUrl), { authProvider: provider }).finishAuth(params.get('code')!);
    expect(provider.savedTokens?.access_token).toBeTruthy();
    const { fetch: wireFetch, exchanges } = recordingFetch(system.mcpUrl);
    const client = make();
    const transport = new V1Transport(new URL(system.mcpUrl), { authProvider: provider, fetch: wireFetch });
    await client.connect(transport);
    const signed = { client, transport, provider, wire: exchanges, elicitations, answer: { action: 'accept', content: { confirm: true } } as ElicitationAnswer };
    return signed;
  } finally {
    await callback.close();
  }
}
