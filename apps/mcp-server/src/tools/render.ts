import type { CallToolResult } from '../mcp/wire-types.js';
import type { PersonView, TicketDetail, TicketSummary } from '../domain/tickets.js';
import { UNTRUSTED_NOTICE, truncate, untrusted } from './untrusted.js';

export const TEXT_BODY_LIMIT = 8000;
export const TEXT_COMMENTS_LIMIT = 20;
export const TEXT_COMMENT_LIMIT = 2000;

type Content = CallToolResult['content'][number];

export function ticketUri(id: string): string {
  return `ticket://${id}`;
}

export function ticketLink(t: { id: string; title: string }, description?: string): Content {
  return {
    type: 'resource_link',
    uri: ticketUri(t.id),
    name: t.id,
    title: `${t.id} (full ticket as markdown)`,
    mimeType: 'text/markdown',
    ...(description ? { description } : {}),
  };
}

function who(p: PersonView | null): string {
  return p ? `${p.name} <${p.email}>` : 'unassigned';
}

/** A compact, server-written header (trusted) followed by the user text (delimited, untrusted). */
export function renderTicket(t: TicketDetail): { text: string; truncated: boolean } {
  const header = [
    `Ticket ${t.id} in project ${t.project.key} (${t.project.name})`,
    `Status: ${t.status}; priority: ${t.priority}; assignee: ${who(t.assignee)}; reporter: ${who(t.reporter)}`,
    `Created ${t.created_at}; updated ${t.updated_at}${t.closed_at ? `; closed ${t.closed_at}` : ''}`,
    `Comments: ${t.comment_count}`,
  ];
  const body = truncate(t.body, TEXT_BODY_LIMIT);
  const shown = t.comments.slice(-TEXT_COMMENTS_LIMIT);
  let truncated = body.truncated || shown.length < t.comment_count;
  const parts = [
    header.join('\n'),
    UNTRUSTED_NOTICE,
    untrusted(t.title, { ticket: t.id, field: 'title' }),
    untrusted(body.text, { ticket: t.id, field: 'body' }),
  ];
  for (const c of shown) {
    const text = truncate(c.body, TEXT_COMMENT_LIMIT);
    truncated ||= text.truncated;
    parts.push(
      `Comment by ${who(c.author)} at ${c.created_at}:\n${untrusted(text.text, { ticket: t.id, field: 'comment', comment: c.id })}`,
    );
  }
  if (truncated) {
    parts.push(
      `Some text or older comments were left out. Read the resource ${ticketUri(t.id)} for the complete ticket if you need it.`,
    );
  }
  return { text: parts.join('\n\n'), truncated };
}

export function renderSummaries(items: TicketSummary[]): string {
  if (items.length === 0) return '';
  const lines = items.map(
    (t) => `${t.id} [${t.project}] status=${t.status} priority=${t.priority} assignee=${t.assignee?.email ?? 'unassigned'} updated=${t.updated_at}\n  title: ${t.title}\n  excerpt: ${t.snippet}`,
  );
  return untrusted(lines.join('\n'), { field: 'search-results' });
}
