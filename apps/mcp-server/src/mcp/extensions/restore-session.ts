// Patches @modelcontextprotocol/sdk 1.x dist/esm/server/index.js Server's _clientCapabilities and _clientVersion (set by _oninitialize).
//
// Sessions continue on whichever replica receives the next request (docs/adr/0008). The transport is
// ours (sessions/streamable-http.ts: `restore(sessionId)`), but
// SDK 1.x has no public way to build a Server whose client capabilities/info come from an earlier
// initialize handshake: `Server` keeps `_clientCapabilities` / `_clientVersion` from `_oninitialize`.
// So `restoreSession` writes exactly those two fields, and checks that the SDK reads them back (a
// different SDK fails loudly here instead of serving half-restored sessions). The 2.x migration
// replaces this with whatever 2.x offers for resuming sessions. Checked by test/sdk-extensions.test.ts.
import type { ClientCapabilities as Caps, Implementation as Impl, McpServer as McpServerType } from '../sdk.js';

export interface RestoredSessionState {
  clientCapabilities: Caps;
  clientInfo: Impl;
}

interface ServerInternals {
  _clientCapabilities?: Caps;
  _clientVersion?: Impl;
}

/** Makes a fresh server know the client's capabilities (elicitation...) and info from the session's initialize. */
export function restoreSession(server: McpServerType, state: RestoredSessionState): void {
  const inner = server.server as unknown as ServerInternals;
  inner._clientCapabilities = state.clientCapabilities;
  inner._clientVersion = state.clientInfo;
  if (server.server.getClientCapabilities() !== state.clientCapabilities || server.server.getClientVersion() !== state.clientInfo) {
    throw new Error('restoreSession: the SDK did not take the restored state (see src/mcp/extensions/restore-session.ts)');
  }
}
