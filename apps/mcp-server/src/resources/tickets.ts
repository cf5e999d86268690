import { TICKETS_READ } from '@mcp-gw/shared';
import type { ListResourcesResult, ReadResourceResult } from '../mcp/wire-types.js';
import type { Principal } from '../auth/principal.js';
import { RequestError } from '../protocol/errors.js';
import { DomainError } from '../domain/errors.js';
import { formatTicketId, parseTicketId } from '../domain/ids.js';
import type { TicketDetail } from '../domain/tickets.js';
import type { ToolServices } from '../tools/registry.js';
import { UNTRUSTED_NOTICE, untrusted } from '../tools/untrusted.js';

export const RESOURCE_PAGE_SIZE = 50;

/** The caller, when it may read tickets (the HTTP layer checked the scope already; this is defence in depth). */
export function requireRead(principal: Principal | undefined): Principal {
  if (!principal) throw new RequestError('not_permitted', 'Not authenticated');
  if (!principal.scopes.includes(TICKETS_READ)) {
    throw new RequestError('not_permitted', `Reading tickets needs the ${TICKETS_READ} permission; reconnect the server and grant it.`);
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

export const TICKET_URI_TEMPLATE = 'ticket://{id}';

export const TICKET_RESOURCE = {
  name: 'ticket',
  title: 'Ticket',
  description: 'A ticket with its description and latest comments, as markdown. Ticket text is user-written data.',
  mimeType: 'text/markdown',
} as const;

/**
 * `ticket://{id}`: one ticket as markdown, for whoever may see it; any other id is "not found".
 * Registered by each era's server (src/mcp/), which renders the RequestError with its revision's code.
 */
export async function readTicketResource(services: ToolServices, principal: Principal | undefined, uri: string, rawId: unknown): Promise<ReadResourceResult> {
  const caller = requireRead(principal);
  const raw = Array.isArray(rawId) ? rawId[0] : rawId;
  try {
    const ticket = await services.tickets.get(caller.sub, parseTicketId(decodeURIComponent(String(raw ?? ''))));
    return { contents: [{ uri, mimeType: 'text/markdown', text: ticketMarkdown(ticket) }] };
  } catch (err) {
    if (err instanceof DomainError) throw new RequestError('resource_not_found', err.message, { uri });
    throw err;
  }
}

/** The tickets the person can see, newest first, paginated with the protocol's cursor. */
export async function listTicketResources(services: ToolServices, principal: Principal | undefined, cursor: string | undefined): Promise<ListResourcesResult> {
  const caller = requireRead(principal);
  let page;
  try {
    page = await services.tickets.listVisible(caller.sub, cursor, RESOURCE_PAGE_SIZE);
  } catch (err) {
    if (err instanceof DomainError) throw new RequestError('invalid_params', err.message);
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
}
