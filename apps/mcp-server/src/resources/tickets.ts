import { TICKETS_READ } from '@mcp-gw/shared';
import { ListResourcesRequestSchema, McpError, ErrorCode, ResourceTemplate, type McpServer, type ReadResourceResult } from '../mcp/sdk.js';
import { principalFromAuthInfo, type Principal } from '../auth/principal.js';
import { DomainError } from '../domain/errors.js';
import { formatTicketId, parseTicketId } from '../domain/ids.js';
import type { TicketDetail } from '../domain/tickets.js';
import type { ToolServices } from '../tools/registry.js';
import { UNTRUSTED_NOTICE, untrusted } from '../tools/untrusted.js';

export const RESOURCE_PAGE_SIZE = 50;

function requireRead(auth: Parameters<typeof principalFromAuthInfo>[0]): Principal {
  const principal = principalFromAuthInfo(auth);
  if (!principal) throw new McpError(ErrorCode.InvalidRequest, 'Not authenticated');
  if (!principal.scopes.includes(TICKETS_READ)) {
    throw new McpError(ErrorCode.InvalidRequest, `Reading tickets needs the ${TICKETS_READ} permission; reconnect the server and grant it.`);
  }
  return principal;
}

/** The full ticket as markdown; user text stays inside untrusted-content delimiters. */
export function ticketMarkdown(t: TicketDetail): string {
  const who = (p: { name: string; email: string } | null) => (p ? `${p.name} <${p.email}>` : 'unassigned');
  const lines = [
    `# ${t.id}`,
    '',
    `- Project: ${t.project.key} (${t.project.name})`,
    `- Status: ${t.status}`,
    `- Priority: ${t.priority}`,
    `- Reporter: ${who(t.reporter)}`,
    `- Assignee: ${who(t.assignee)}`,
    `- Created: ${t.created_at}`,
    `- Updated: ${t.updated_at}`,
    ...(t.closed_at ? [`- Closed: ${t.closed_at}`] : []),
    '',
    `> ${UNTRUSTED_NOTICE}`,
    '',
    '## Title',
    '',
    untrusted(t.title, { ticket: t.id, field: 'title' }),
    '',
    '## Description',
    '',
    untrusted(t.body, { ticket: t.id, field: 'body' }),
    '',
    `## Comments (${t.comment_count}${t.comment_count > t.comments.length ? `, latest ${t.comments.length} shown` : ''})`,
  ];
  for (const c of t.comments) {
    lines.push('', `### ${who(c.author)}, ${c.created_at}`, '', untrusted(c.body, { ticket: t.id, field: 'comment', comment: c.id }));
  }
  return lines.join('\n');
}

/**
 * `ticket://{id}`: one ticket as markdown. The resource list (tickets the person can see, newest first)
 * is paginated with the protocol's cursor; the SDK's own list handler has no paging, so ours replaces it.
 */
export function registerTicketResources(server: McpServer, services: ToolServices): void {
  server.registerResource(
    'ticket',
    new ResourceTemplate('ticket://{id}', { list: undefined }),
    {
      title: 'Ticket',
      description: 'A ticket with its description and latest comments, as markdown. Ticket text is user-written data.',
      mimeType: 'text/markdown',
    },
    async (uri, variables, extra): Promise<ReadResourceResult> => {
      const principal = requireRead(extra.authInfo);
      const raw = Array.isArray(variables.id) ? variables.id[0] : variables.id;
      try {
        const ticket = await services.tickets.get(principal.sub, parseTicketId(decodeURIComponent(String(raw ?? ''))));
        return { contents: [{ uri: uri.toString(), mimeType: 'text/markdown', text: ticketMarkdown(ticket) }] };
      } catch (err) {
        // -32002 is the spec's "resource not found".
        if (err instanceof DomainError) throw new McpError(-32002, err.message, { uri: uri.toString() });
        throw err;
      }
    },
  );

  server.server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    const principal = requireRead(extra.authInfo);
    let page;
    try {
      page = await services.tickets.listVisible(principal.sub, request.params?.cursor, RESOURCE_PAGE_SIZE);
    } catch (err) {
      if (err instanceof DomainError) throw new McpError(ErrorCode.InvalidParams, err.message);
      throw err;
    }
    return {
      resources: page.items.map((t) => ({
        uri: `ticket://${formatTicketId(t.number)}`,
        name: formatTicketId(t.number),
        title: `${formatTicketId(t.number)} [${t.project}, ${t.status}] ${t.title.slice(0, 120)}`,
        mimeType: 'text/markdown',
      })),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  });
}
