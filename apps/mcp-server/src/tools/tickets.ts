import { z } from 'zod';
import { TICKETS_READ, TICKETS_WRITE } from '@mcp-gw/shared';
import type { CallToolResult } from '../mcp/wire-types.js';
import { parseTicketId } from '../domain/ids.js';
import { MAX_PAGE_SIZE, type TicketDetail } from '../domain/tickets.js';
import { InvalidInputError } from '../domain/errors.js';
import { idempotencyKey } from './idempotency.js';
import { whoamiTool } from './connection.js';
import { defineTool, type ElicitForm, type ToolCall, type ToolRun, type ToolSpec } from './registry.js';
import { renderSummaries, renderTicket, ticketLink } from './render.js';
import {
  comment,
  contentNotice,
  idempotencyKeyInput,
  priorityEnum,
  statusEnum,
  ticketDetail,
  ticketIdInput,
  ticketSummary,
} from './schemas.js';
import { UNTRUSTED_NOTICE, untrusted } from './untrusted.js';

const READ_ANNOTATIONS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

function ticketResult(ticket: TicketDetail, lead: string, extra: Record<string, unknown> = {}): CallToolResult {
  const rendered = renderTicket(ticket);
  const content: CallToolResult['content'] = [{ type: 'text', text: `${lead}\n\n${rendered.text}` }];
  if (rendered.truncated) content.push(ticketLink(ticket, 'The complete ticket with every comment'));
  return { content, structuredContent: { ...extra, ticket, content_notice: UNTRUSTED_NOTICE } };
}

/**
 * Runs a write through the idempotency store when the caller gave a key, plainly otherwise. The write
 * receives a repository bound to the transaction the idempotency claim lives in.
 */
async function idempotentWrite(
  call: ToolCall,
  tool: string,
  args: Record<string, unknown> & { idempotency_key?: string },
  write: (tickets: ToolCall['services']['tickets']) => Promise<CallToolResult>,
): Promise<CallToolResult> {
  const { services, principal } = call;
  if (!args.idempotency_key) return write(services.tickets);
  const key = idempotencyKey(principal, tool, args.idempotency_key, args);
  return services.idempotency.run(key, (tx) => write(services.tickets.withClient(tx)));
}

export const listProjects = defineTool({
  name: 'list_projects',
  title: 'List my projects',
  access: 'read',
  scope: TICKETS_READ,
  description: [
    'Lists the ticketing projects the signed-in person is a member of, with their keys and ticket counts by status.',
    'Use it first when you need a project key (for create_ticket, or to filter search_tickets), or when the person asks which projects they can see.',
    'Do not use it to find tickets: use search_tickets for that. Takes no arguments.',
  ].join('\n'),
  input: {},
  output: {
    projects: z.array(
      z.object({
        key: z.string(),
        name: z.string(),
        role: z.string(),
        open_tickets: z.number().int(),
        pending_tickets: z.number().int(),
        closed_tickets: z.number().int(),
      }),
    ),
  },
  annotations: READ_ANNOTATIONS,
  async run(_args, { principal, services }) {
    const projects = await services.tickets.listProjects(principal.sub);
    const text = projects.length
      ? `You are a member of ${projects.length} project(s):\n${projects
          .map((p) => `- ${p.key}: ${p.name} (role ${p.role}; ${p.open_tickets} open, ${p.pending_tickets} pending, ${p.closed_tickets} closed)`)
          .join('\n')}`
      : 'You are not a member of any project, so there are no tickets you can see. A project owner has to add you.';
    return { result: { content: [{ type: 'text', text }], structuredContent: { projects } } };
  },
});

export const searchTickets = defineTool({
  name: 'search_tickets',
  title: 'Search tickets',
  access: 'read',
  scope: TICKETS_READ,
  description: [
    'Finds tickets in the projects the person is a member of, by full-text query and/or filters. Returns one page of short summaries (id, project, title, status, priority, assignee, excerpt) and a next_cursor when more results exist.',
    'Use it to find a ticket whose id you do not know, to list open or urgent work, or to check whether a problem was already reported before creating a ticket.',
    'Good queries are a few distinctive words ("checkout safari", "backup failing"); quotes match a phrase, "-word" excludes a word, "or" gives alternatives. Matching is on whole words of the title and body, case-insensitive. With a query, results are ordered by relevance; without one, by most recently updated.',
    'Filters: status (open, pending, closed), priority (low, normal, high, urgent), project (a key from list_projects), assignee ("me", "unassigned", or a member\'s email).',
    'To read a ticket in full (body and comments), call get_ticket with its id; do not guess from the excerpt. To get the next page, repeat the call with the same query and filters plus cursor=next_cursor.',
  ].join('\n'),
  input: {
    query: z.string().trim().max(200).optional().describe('Full-text search words (web-search syntax). Omit to list by filters only.'),
    status: statusEnum.optional().describe('Only tickets with this status.'),
    priority: priorityEnum.optional().describe('Only tickets with this priority.'),
    project: z.string().trim().min(1).max(32).optional().describe('Only tickets of this project key (see list_projects).'),
    assignee: z.string().trim().min(1).max(254).optional().describe('"me", "unassigned", or the email of a project member.'),
    limit: z.number().int().min(1).max(MAX_PAGE_SIZE).default(20).describe(`Results per page, 1-${MAX_PAGE_SIZE} (default 20).`),
    cursor: z.string().max(512).optional().describe('next_cursor from the previous page of the same search.'),
  },
  output: {
    tickets: z.array(ticketSummary),
    next_cursor: z.string().nullable(),
    content_notice: contentNotice,
  },
  annotations: READ_ANNOTATIONS,
  async run(args, { principal, services }) {
    const page = await services.tickets.search(principal.sub, args);
    const header = page.items.length
      ? `Found ${page.items.length} ticket(s)${page.nextCursor ? ' on this page; more exist: call search_tickets again with the same arguments and cursor set to next_cursor' : ''}.`
      : 'No tickets matched. Try fewer or different words, or remove a filter.';
    const content: CallToolResult['content'] = [
      { type: 'text', text: page.items.length ? `${header}\n${UNTRUSTED_NOTICE}\n\n${renderSummaries(page.items)}` : header },
    ];
    if (page.nextCursor) content.push({ type: 'text', text: `next_cursor: ${page.nextCursor}` });
    for (const t of page.items) content.push(ticketLink(t));
    return {
      result: {
        content,
        structuredContent: { tickets: page.items, next_cursor: page.nextCursor, content_notice: UNTRUSTED_NOTICE },
      },
    };
  },
});

export const getTicket = defineTool({
  name: 'get_ticket',
  title: 'Get a ticket',
  access: 'read',
  scope: TICKETS_READ,
  description: [
    'Returns one ticket in full: title, description, status, priority, reporter, assignee, timestamps and its most recent comments.',
    'Use it when you have a ticket id (from the person or from search_tickets) and need the details, before updating, commenting on or closing a ticket, or to answer questions about it.',
    'Do not call it in a loop over many search results; search_tickets excerpts are enough to choose which ticket to open. Very long tickets are shortened in the text and linked as the resource ticket://T-<n>.',
  ].join('\n'),
  input: { ticket_id: ticketIdInput },
  output: { ticket: ticketDetail, content_notice: contentNotice },
  annotations: READ_ANNOTATIONS,
  async run(args, { principal, services }) {
    const ticket = await services.tickets.get(principal.sub, parseTicketId(args.ticket_id));
    return { result: ticketResult(ticket, `Here is ticket ${ticket.id}.`) };
  },
});

export const createTicket = defineTool({
  name: 'create_ticket',
  title: 'Create a ticket',
  access: 'write',
  scope: TICKETS_WRITE,
  description: [
    'Creates a new ticket in one of the person\'s projects, reported by them. Returns the new ticket with its id (T-<n>).',
    'Use it only when the person asks to file, open or report something. Search first (search_tickets) when the problem may already be reported, and ask the person rather than creating a duplicate.',
    'Write a specific title (what is wrong and where, under 200 characters) and a body with the facts the person gave: observed behaviour, expected behaviour, steps, versions, impact. Do not invent details.',
    'Priority defaults to normal; use urgent only for outages or data loss. assignee is optional: "me" or a project member\'s email.',
    'Pass an idempotency_key (for example a UUID you generate) so that a retry after a timeout cannot create the ticket twice.',
  ].join('\n'),
  input: {
    project: z.string().trim().min(1).max(32).describe('Project key, e.g. WEB (see list_projects).'),
    title: z.string().trim().min(3).max(200).describe('Short, specific summary.'),
    body: z.string().trim().min(1).max(20_000).describe('Description: what happens, what was expected, steps, impact.'),
    priority: priorityEnum.optional().describe('low, normal (default), high or urgent.'),
    assignee: z.string().trim().min(1).max(254).optional().describe('"me" or the email of a member of the project.'),
    idempotency_key: idempotencyKeyInput,
  },
  output: { ticket: ticketDetail, content_notice: contentNotice },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, call) {
    let created: TicketDetail | undefined;
    const result = await idempotentWrite(call, 'create_ticket', args, async (tickets) => {
      created = await tickets.create(call.principal.sub, args);
      return ticketResult(created, `Created ticket ${created.id}.`);
    });
    const ticket = (result.structuredContent as { ticket?: TicketDetail } | undefined)?.ticket;
    return {
      result,
      audit: {
        targetType: 'ticket',
        targetId: ticket?.id ?? 'unknown',
        details: { replayed: created === undefined, project: args.project, idempotency_key: args.idempotency_key },
      },
    };
  },
});

export const commentOnTicket = defineTool({
  name: 'comment_on_ticket',
  title: 'Comment on a ticket',
  access: 'write',
  scope: TICKETS_WRITE,
  description: [
    'Adds a comment, in the person\'s name, to a ticket they can see. Returns the comment and the ticket.',
    'Use it to record information, answers or progress the person wants on the ticket. Do not use it to change status, priority or assignee (use update_ticket) or to close a ticket (use close_ticket).',
    'Write the comment as the person would: factual, no meta-commentary about being an AI unless they ask. Pass an idempotency_key so a retry cannot post the comment twice.',
  ].join('\n'),
  input: {
    ticket_id: ticketIdInput,
    body: z.string().trim().min(1).max(10_000).describe('The comment text.'),
    idempotency_key: idempotencyKeyInput,
  },
  output: { ticket_id: z.string(), comment, ticket: ticketDetail, content_notice: contentNotice },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, call) {
    const number = parseTicketId(args.ticket_id);
    const result = await idempotentWrite(call, 'comment_on_ticket', args, async (tickets) => {
      const { ticket, comment: c } = await tickets.comment(call.principal.sub, number, args.body);
      const base = ticketResult(ticket, `Added a comment to ${ticket.id}.`, { ticket_id: ticket.id, comment: c });
      return base;
    });
    const structured = result.structuredContent as { ticket_id?: string; comment?: { id: string } } | undefined;
    return {
      result,
      audit: { targetType: 'ticket', targetId: structured?.ticket_id ?? `T-${number}`, details: { comment_id: structured?.comment?.id } },
    };
  },
});

export const updateTicket = defineTool({
  name: 'update_ticket',
  title: 'Update a ticket',
  access: 'write',
  scope: TICKETS_WRITE,
  description: [
    'Changes fields of a ticket: title, body (replaces the whole description), status (open or pending), priority, assignee. Only the fields you pass change. Returns the updated ticket and the list of changed fields.',
    'Use it when the person asks to re-prioritise, assign, reword, or move a ticket between open and pending (pending = waiting on someone else). Reopen a closed ticket with status "open".',
    'To close a ticket use close_ticket (it asks for confirmation). To add information without rewriting the description, use comment_on_ticket. Read the ticket first (get_ticket) before replacing its body, and keep what the person did not ask to change.',
    'assignee: "me", a project member\'s email, or null to unassign.',
  ].join('\n'),
  input: {
    ticket_id: ticketIdInput,
    title: z.string().trim().min(3).max(200).optional().describe('New title.'),
    body: z.string().trim().min(1).max(20_000).optional().describe('New full description (replaces the old one).'),
    status: z.enum(['open', 'pending']).optional().describe('open or pending. Use close_ticket to close.'),
    priority: priorityEnum.optional(),
    assignee: z.string().trim().min(1).max(254).nullable().optional().describe('"me", a member\'s email, or null to unassign.'),
    idempotency_key: idempotencyKeyInput,
  },
  output: { ticket: ticketDetail, changed: z.array(z.string()), content_notice: contentNotice },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, call) {
    const number = parseTicketId(args.ticket_id);
    const { title, body, status, priority } = args;
    const assignee = args.assignee === undefined ? undefined : args.assignee === null || args.assignee.toLowerCase() === 'unassigned' ? null : args.assignee;
    if ([title, body, status, priority, assignee].every((v) => v === undefined)) {
      throw new InvalidInputError('Nothing to update: pass at least one of title, body, status, priority or assignee.');
    }
    const result = await idempotentWrite(call, 'update_ticket', args, async (tickets) => {
      const { ticket, changed } = await tickets.update(call.principal.sub, number, { title, body, status, priority, assignee });
      const lead = changed.length ? `Updated ${ticket.id}: changed ${changed.join(', ')}.` : `No change: ${ticket.id} already had these values.`;
      return ticketResult(ticket, lead, { changed });
    });
    const changed = (result.structuredContent as { changed?: string[] } | undefined)?.changed ?? [];
    return { result, audit: { targetType: 'ticket', targetId: `T-${number}`, details: { changed } } };
  },
});

const closeOutput = {
  outcome: z
    .enum(['closed', 'already_closed', 'confirmation_required', 'not_closed'])
    .describe('closed / already_closed: done. confirmation_required: ask the person, then call again with the token. not_closed: the person declined.'),
  ticket_id: z.string(),
  message: z.string(),
  ticket: ticketDetail.optional(),
  confirmation_token: z.string().optional(),
  expires_at: z.string().optional(),
  content_notice: contentNotice.optional(),
};

/** The key of close_ticket's one embedded question on 2026-07-28 (input_required). */
export const CLOSE_CONFIRMATION_KEY = 'confirm_close';

function closeConfirmationForm(id: string, title: string, project: string, withResolution: boolean): ElicitForm {
  return {
    message: `Close ticket ${id} ("${title.slice(0, 120)}") in project ${project}? It will be removed from open work.${withResolution ? ' A resolution comment will be added.' : ''}`,
    requestedSchema: {
      type: 'object',
      properties: {
        confirm: { type: 'boolean', title: `Close ${id}`, description: 'Check to close the ticket.', default: true },
      },
      required: ['confirm'],
    },
  };
}

/** An elicitation answer as the client sent it (untrusted): its action, with confirm=false read as a decline. */
function readAnswer(answer: unknown): 'accept' | 'decline' | 'cancel' | undefined {
  if (!answer || typeof answer !== 'object') return undefined;
  const { action, content } = answer as { action?: unknown; content?: { confirm?: unknown } };
  if (action === 'decline' || action === 'cancel') return action;
  if (action !== 'accept') return undefined;
  return content?.confirm === true ? 'accept' : 'decline';
}

export const closeTicket = defineTool({
  name: 'close_ticket',
  title: 'Close a ticket',
  access: 'write',
  scope: TICKETS_WRITE,
  description: [
    'Closes a ticket (status closed), optionally recording a resolution comment. Closing is destructive: the ticket leaves everyone\'s open work, so it always needs the person\'s explicit confirmation.',
    'Use it only when the person asks to close or resolve a ticket, never on your own initiative.',
    'If the client supports it, the server asks the person directly and the call returns outcome "closed" or "not_closed". Otherwise the first call returns outcome "confirmation_required" with a confirmation_token: show the person which ticket will be closed, and only if they agree call close_ticket again with the same ticket_id, confirm: true and that confirmation_token (valid a few minutes, single use).',
    'If the outcome is "not_closed", the person declined: do not retry unless they ask again. To reopen a closed ticket, use update_ticket with status "open".',
  ].join('\n'),
  input: {
    ticket_id: ticketIdInput,
    resolution: z.string().trim().min(1).max(5000).optional().describe('Optional resolution note, added as a comment when the ticket is closed.'),
    confirm: z.boolean().optional().describe('Set to true only on the second call, after the person confirmed.'),
    confirmation_token: z.string().trim().min(8).max(128).optional().describe('The confirmation_token from the first call.'),
    idempotency_key: idempotencyKeyInput,
  },
  output: closeOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, call) {
    const { principal, services } = call;
    const number = parseTicketId(args.ticket_id);
    const id = `T-${number}`;
    const audit = (details: Record<string, unknown>) => ({ targetType: 'ticket', targetId: id, details });

    const key = args.idempotency_key ? idempotencyKey(principal, 'close_ticket', args.idempotency_key, { ticket_id: id, resolution: args.resolution }) : undefined;
    if (key) {
      const replay = await services.idempotency.lookup(key);
      if (replay) return { result: replay, audit: audit({ replayed: true }) };
    }
    // Visibility first: a ticket the person cannot see is "not found", whatever the confirmation state.
    const current = await services.tickets.get(principal.sub, number);
    if (current.status === 'closed') {
      return {
        result: {
          content: [{ type: 'text', text: `${id} is already closed (since ${current.closed_at}). Nothing was changed.` }],
          structuredContent: { outcome: 'already_closed', ticket_id: id, message: 'Already closed.', ticket: current, content_notice: UNTRUSTED_NOTICE },
        },
        audit: audit({ already_closed: true }),
      };
    }

    let resolution = args.resolution;
    let confirmedBy: 'token' | 'elicitation';
    if (args.confirm === true && args.confirmation_token) {
      const stored = await services.confirmations.consume(principal, 'close_ticket', args.confirmation_token);
      if (!stored || stored.ticket !== number) {
        throw new InvalidInputError(
          `The confirmation_token is not valid for ${id}: it expired, was already used, or was issued for another ticket or connection. Call close_ticket again without a token to get a new one, and confirm with the person again.`,
        );
      }
      resolution = typeof stored.resolution === 'string' ? stored.resolution : undefined;
      confirmedBy = 'token';
    } else {
      let elicited: 'accept' | 'decline' | 'cancel' | undefined;
      const { interaction } = call;
      const form = closeConfirmationForm(id, current.title, current.project.key, resolution !== undefined);
      if (interaction.era === 'legacy' && interaction.canElicitForm) {
        try {
          elicited = readAnswer(await interaction.elicit(form));
        } catch (err) {
          services.logger.warn({ err, tool: 'close_ticket' }, 'elicitation failed; falling back to a confirmation token');
        }
      } else if (interaction.era === 'modern' && interaction.canElicitForm) {
        // 2026-07-28: ask through input_required. The requestState is a pending confirmation's one-time
        // token: its record (in the database, so any replica can take the retry) binds it to this user,
        // client, grant, ticket and resolution, and expires; consuming it makes it single-use.
        const ask = async (): Promise<ToolRun> => {
          const { token } = await services.confirmations.create(principal, 'close_ticket', { ticket: number, resolution: resolution ?? null, grant: principal.grantId ?? null });
          return {
            result: { inputRequired: { inputRequests: { [CLOSE_CONFIRMATION_KEY]: form }, requestState: token } },
            audit: audit({ outcome: 'input_required' }),
          };
        };
        if (interaction.requestState === undefined) return ask();
        const stored = await services.confirmations.consume(principal, 'close_ticket', interaction.requestState);
        if (!stored || stored.ticket !== number || stored.resolution !== (resolution ?? null) || stored.grant !== (principal.grantId ?? null)) {
          throw new InvalidInputError(
            `The requestState of this close_ticket call is not valid for ${id}: it expired, was already used, was altered, or was issued for another ticket, resolution or connection. Call close_ticket again without it to ask the person again.`,
          );
        }
        elicited = readAnswer(interaction.responses?.[CLOSE_CONFIRMATION_KEY]);
        // No usable answer: ask again rather than fail (the spec's advice for missing input).
        if (elicited === undefined) return ask();
      }
      if (elicited === 'decline' || elicited === 'cancel') {
        const message = `The person ${elicited === 'decline' ? 'declined' : 'cancelled'} the confirmation: ${id} was NOT closed. Do not retry unless they ask again.`;
        return {
          result: {
            content: [{ type: 'text', text: message }],
            structuredContent: { outcome: 'not_closed', ticket_id: id, message },
          },
          audit: audit({ outcome: 'not_closed', elicitation: elicited }),
        };
      }
      if (elicited !== 'accept') {
        const { token, expiresAt } = await services.confirmations.create(principal, 'close_ticket', { ticket: number, resolution: resolution ?? null });
        const message = `Confirmation needed: ask the person whether to close ${id}. Only if they clearly agree, call close_ticket again with ticket_id "${id}", confirm: true and confirmation_token "${token}" (expires ${expiresAt.toISOString()}). Nothing was closed yet.`;
        return {
          result: {
            content: [
              { type: 'text', text: `${message}\n\nTicket to close (user-written title):\n${untrusted(current.title, { ticket: id, field: 'title' })}` },
            ],
            structuredContent: {
              outcome: 'confirmation_required',
              ticket_id: id,
              message,
              confirmation_token: token,
              expires_at: expiresAt.toISOString(),
            },
          },
          audit: audit({ outcome: 'confirmation_required' }),
        };
      }
      confirmedBy = 'elicitation';
    }

    const close = async (tickets: ToolCall['services']['tickets']): Promise<CallToolResult> => {
      const { ticket, alreadyClosed } = await tickets.close(principal.sub, number, resolution);
      const message = alreadyClosed ? `${id} was already closed.` : `Closed ${id}.`;
      return {
        content: [{ type: 'text', text: `${message}\n\n${renderTicket(ticket).text}` }],
        structuredContent: { outcome: alreadyClosed ? 'already_closed' : 'closed', ticket_id: id, message, ticket, content_notice: UNTRUSTED_NOTICE },
      };
    };
    const result = key ? await services.idempotency.run(key, (tx) => close(services.tickets.withClient(tx))) : await close(services.tickets);
    return { result, audit: audit({ outcome: 'closed', confirmed_by: confirmedBy }) };
  },
});

export const TOOLS: ToolSpec[] = [
  whoamiTool(() => TOOLS),
  listProjects,
  searchTickets,
  getTicket,
  createTicket,
  commentOnTicket,
  updateTicket,
  closeTicket,
] as unknown as ToolSpec[];

/** The scope each tool needs, for the HTTP layer's check before a tools/call reaches the server. */
export const TOOL_SCOPES: ReadonlyMap<string, string> = new Map(TOOLS.map((t) => [t.name, t.scope]));
