import { z } from 'zod';
import { MCP_SCOPES, TICKETS_READ, describeScope } from '@mcp-gw/shared';
import { defineTool, type ToolSpec } from './registry.js';

/**
 * `whoami`: what this connection is allowed to do, answered from the verified access token alone
 * (no database): the agent can tell the person why a write is refused, and what reconnecting with
 * more permissions would change, without trying a tool and failing.
 */
export function whoamiTool(tools: () => readonly ToolSpec[]) {
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
      const describe = (scope: string) => ({ scope, description: describeScope(scope) });
      const granted = MCP_SCOPES.filter((s) => principal.scopes.includes(s));
      const notGranted = MCP_SCOPES.filter((s) => !principal.scopes.includes(s));
      const allowed = tools().filter((t) => principal.scopes.includes(t.scope)).map((t) => t.name);
      const expires = principal.expiresAt ? new Date(principal.expiresAt * 1000).toISOString() : null;
      const lines = [
        `Connected as user ${principal.sub} through client ${principal.clientId}.`,
        `Granted: ${granted.map((s) => `${s} (${describeScope(s)})`).join('; ') || 'none'}.`,
        notGranted.length
          ? `Not granted: ${notGranted.map((s) => `${s} (${describeScope(s)})`).join('; ')}. To get it, the person reconnects the server in their MCP client and approves it.`
          : 'Every permission this server offers is granted.',
        `Tools allowed: ${allowed.join(', ')}.`,
        expires ? `The current access token expires at ${expires}; the client renews it without asking while the grant stands.` : '',
      ].filter(Boolean);
      return {
        result: {
          content: [{ type: 'text', text: lines.join('\n') }],
          structuredContent: {
            user_id: principal.sub,
            client_id: principal.clientId,
            permissions: granted.map(describe),
            not_granted: notGranted.map(describe),
            tools_allowed: allowed,
            access_expires_at: expires,
          },
        },
      };
    },
  });
}
