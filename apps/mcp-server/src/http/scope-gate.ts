import { MCP_SCOPES, TICKETS_READ } from '@mcp-gw/shared';
import { insufficientScope } from '../auth/bearer-auth.js';
import type { Principal } from '../auth/principal.js';
import { isRequest } from '../protocol/jsonrpc.js';
import { TOOL_SCOPES } from '../tools/tickets.js';

/** The Mcp-Name header's value, decoded from the spec's `=?base64?…?=` form when so encoded. */
export function decodeMcpName(value: string | string[] | undefined): string | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (raw === undefined) return undefined;
  const encoded = /^=\?base64\?(.*)\?=$/.exec(raw);
  return encoded ? Buffer.from(encoded[1]!, 'base64').toString('utf8') : raw;
}

/**
 * The scopes a JSON-RPC request needs beyond being authenticated: for tools/call the tool's, judged
 * from the body and from the Mcp-Name header alike (when they differ the modern handler refuses the
 * request with -32020; the scope decision must not depend on which of the two an intermediary read).
 */
function requiredScopes(message: Record<string, unknown>, mcpName: string | undefined): string[] {
  if (!isRequest(message)) return [];
  switch (message.method) {
    case 'tools/call': {
      const scopes = new Set<string>();
      for (const tool of [(message.params as { name?: unknown } | undefined)?.name, mcpName]) {
        const scope = typeof tool === 'string' ? TOOL_SCOPES.get(tool) : undefined;
        if (scope) scopes.add(scope);
      }
      return [...scopes];
    }
    case 'resources/list':
    case 'resources/read':
    case 'prompts/get':
      return [TICKETS_READ];
    default:
      return [];
  }
}

export interface ScopeRefusal {
  required: string | readonly string[];
  message?: Record<string, unknown>;
}

/**
 * The step-up check before any message reaches a handler, in both eras: a token with none of this
 * server's scopes can do nothing here; otherwise each message's own scope. Throws the 403
 * insufficient_scope challenge (after `onRefused`, for the audit log).
 */
export function checkScopes(principal: Principal, messages: readonly Record<string, unknown>[], mcpNameHeader: string | string[] | undefined, onRefused: (refusal: ScopeRefusal) => void): void {
  if (!principal.scopes.some((s) => (MCP_SCOPES as readonly string[]).includes(s))) {
    onRefused({ required: MCP_SCOPES });
    throw insufficientScope(principal, [TICKETS_READ]);
  }
  const mcpName = messages.length === 1 ? decodeMcpName(mcpNameHeader) : undefined;
  for (const message of messages) {
    const scope = requiredScopes(message, mcpName).find((s) => !principal.scopes.includes(s));
    if (scope) {
      onRefused({ required: scope, message });
      throw insufficientScope(principal, [scope]);
    }
  }
}
