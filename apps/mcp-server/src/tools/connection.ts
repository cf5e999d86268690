import { z } from 'zod';
import { MCP_SCOPES, TICKETS_READ, describeScope } from '@mcp-gw/shared';
import { defineTool, type ToolSpec } from './registry.js';

interface ScopeView {
  permissions: readonly { scope: string; description: string }[];
  notGranted: readonly { scope: string; description: string }[];
  toolsAllowed: readonly string[];
  grantedLine: string;
  notGrantedLine: string;
  toolsLine: string;
}

/**
 * `whoami`: what this connection is allowed to do, answered from the verified access token alone
 * (no database): the agent can tell the person why a write is refused, and what reconnecting with
 * more permissions would change, without trying a tool and failing.
 */
export function whoamiTool(tools: () => readonly ToolSpec[]) {
  // What a set of granted scopes allows depends on nothing else, and there are only 2^|MCP_SCOPES| such
  // sets: each view is built once (frozen: the same objects go into every answer for that set).
  const views = new Map<string, ScopeView>();
  const scopeView = (scopes: readonly string[]): ScopeView => {
    const granted = MCP_SCOPES.filter((s) => scopes.includes(s));
    const key = granted.join(' ');
    let view = views.get(key);
    if (!view) {
      const describe = (scope: string) => Object.freeze({ scope, description: describeScope(scope) });
      const notGranted = MCP_SCOPES.filter((s) => !granted.includes(s));
      const allowed = tools().filter((t) => granted.includes(t.scope as (typeof granted)[number])).map((t) => t.name);
      view = Object.freeze({
        permissions: Object.freeze(granted.map(describe)),
        notGranted: Object.freeze(notGranted.map(describe)),
        toolsAllowed: Object.freeze(allowed),
        grantedLine: `Granted: ${granted.map((s) => `${s} (${describeScope(s)})`).join('; ') || 'none'}.`,
        notGrantedLine: notGranted.length
          ? `Not granted: ${notGranted.map((s) => `${s} (${describeScope(s)})`).join('; ')}. To get it, the person reconnects the server in their MCP client and approves it.`
          : 'Every permission this server offers is granted.',
        toolsLine: `Tools allowed: ${allowed.join(', ')}.`,
      });
      views.set(key, view);
    }
    return view;
  };
  return defineTool({
    name: 'whoami',
    title: 'Who am I connected as',
    access: 'read',
    scope: TICKETS_READ,
    description: [
      'Describes this connection: the account it acts for (its user id), the client application, the permissions the person granted, which tools those permissions allow, and when the current access expires.',
      'Use it when the person asks what you can do on their behalf, or to explain why a tool reported a missing permission. It reads no tickets.',
    ].join('\n'),
    input: {},
    output: {
      user_id: z.string(),
      client_id: z.string(),
      permissions: z.array(z.object({ scope: z.string(), description: z.string() })),
      not_granted: z.array(z.object({ scope: z.string(), description: z.string() })),
      tools_allowed: z.array(z.string()),
      access_expires_at: z.string().nullable(),
    },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run(_args, { principal }) {
      const view = scopeView(principal.scopes);
      const expires = principal.expiresAt ? new Date(principal.expiresAt * 1000).toISOString() : null;
      const lines = [
        `Connected as user ${principal.sub} through client ${principal.clientId}.`,
        view.grantedLine,
        view.notGrantedLine,
        view.toolsLine,
        expires ? `The current access token expires at ${expires}; the client renews it without asking while the grant stands.` : '',
      ].filter(Boolean);
      return {
        result: {
          content: [{ type: 'text', text: lines.join('\n') }],
          structuredContent: {
            user_id: principal.sub,
            client_id: principal.clientId,
            permissions: view.permissions,
            not_granted: view.notGranted,
            tools_allowed: view.toolsAllowed,
            access_expires_at: expires,
          },
        },
      };
    },
  });
}
