import { z } from 'zod';
import { TICKETS_READ } from '@mcp-gw/shared';
import type { GetPromptResult } from '../mcp/wire-types.js';
import type { Principal } from '../auth/principal.js';
import { RequestError } from '../protocol/errors.js';
import { DomainError } from '../domain/errors.js';
import { parseTicketId } from '../domain/ids.js';
import type { ToolServices } from '../tools/registry.js';
import { UNTRUSTED_NOTICE, untrusted } from '../tools/untrusted.js';
import { ticketMarkdown } from '../resources/tickets.js';

function principalOrThrow(principal: Principal | undefined): Principal {
  if (!principal || !principal.scopes.includes(TICKETS_READ)) {
    throw new RequestError('not_permitted', `This prompt reads tickets and needs the ${TICKETS_READ} permission.`);
  }
  return principal;
}

function domain<T>(p: Promise<T>): Promise<T> {
  return p.catch((err) => {
    if (err instanceof DomainError) throw new RequestError('invalid_params', err.message);
    throw err;
  });
}

/** A prompt, whatever the era: its arguments' zod shape and what it answers for a caller. */
export interface PromptSpec<A extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  args: A;
  get(args: z.infer<z.ZodObject<A>>, principal: Principal | undefined, services: ToolServices): Promise<GetPromptResult>;
}

function definePrompt<A extends z.ZodRawShape>(spec: PromptSpec<A>): PromptSpec<A> {
  return spec;
}

/**
 * Prompts put server-written instructions in one message and the ticket data, delimited as untrusted,
 * in a separate embedded resource: the data never becomes part of the instructions.
 */
export const PROMPTS: readonly PromptSpec[] = [
  definePrompt({
    name: 'triage_ticket',
    title: 'Triage a ticket',
    description: 'Assess one ticket: severity, missing information, suggested priority, assignee and next step.',
    args: { ticket_id: z.string().max(16).describe('Ticket id, e.g. T-12') },
    async get({ ticket_id }, caller, services): Promise<GetPromptResult> {
      const principal = principalOrThrow(caller);
      const number = await domain(Promise.resolve().then(() => parseTicketId(ticket_id)));
      const ticket = await domain(services.tickets.get(principal.sub, number));
      return {
        description: `Triage ${ticket.id}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text: [
                `Triage ticket ${ticket.id} (attached below). ${UNTRUSTED_NOTICE}`,
                'Answer with: 1) a one-sentence summary; 2) severity and the priority you suggest (low, normal, high, urgent) with the reason; 3) information missing to act on it; 4) who should own it, if the ticket or comments say; 5) the next concrete step.',
                'Do not change the ticket. If you recommend a change, say which tool call would make it (update_ticket, comment_on_ticket) and wait for the person to agree.',
              ].join('\n'),
            },
          },
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: { uri: `ticket://${ticket.id}`, mimeType: 'text/markdown', text: ticketMarkdown(ticket) },
            },
          },
        ],
      };
    },
  }),
  definePrompt({
    name: 'summarize_project',
    title: 'Summarize a project',
    description: 'Status report of one project: counts by status and priority and the most pressing open tickets.',
    args: { project: z.string().max(32).describe('Project key, e.g. WEB') },
    async get({ project }, caller, services): Promise<GetPromptResult> {
      const principal = principalOrThrow(caller);
      const overview = await domain(services.tickets.projectOverview(principal.sub, project));
      const figures = [
        `Project ${overview.project.key} (${overview.project.name})`,
        `Tickets by status: open ${overview.counts.open}, pending ${overview.counts.pending}, closed ${overview.counts.closed}`,
        `Not closed, by priority: urgent ${overview.byPriority.urgent}, high ${overview.byPriority.high}, normal ${overview.byPriority.normal}, low ${overview.byPriority.low}`,
      ].join('\n');
      const list = overview.recent
        .map((t) => `${t.id} [${t.status}, ${t.priority}] assignee=${t.assignee?.email ?? 'unassigned'} updated=${t.updated_at}\n  ${t.title}`)
        .join('\n');
      return {
        description: `Summary of ${overview.project.key}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text: [
                `Write a short status report for project ${overview.project.key} for its team lead.`,
                'Cover: overall health, the urgent and high-priority work and whether it has an owner, what is blocked (pending), and up to three recommended next actions.',
                `Figures (from the server):\n${figures}`,
                `The open tickets follow as user-written data. ${UNTRUSTED_NOTICE}`,
                'Use get_ticket for details of a ticket before making claims about it.',
              ].join('\n\n'),
            },
          },
          {
            role: 'user',
            content: { type: 'text', text: overview.recent.length ? untrusted(list, { field: 'open-tickets', project: overview.project.key }) : 'There are no open or pending tickets.' },
          },
        ],
      };
    },
  }),
] as unknown as PromptSpec[];
