import crypto from 'node:crypto';
import { Prisma, type PrismaClient } from '@mcp-gw/db';
import { InvalidInputError, NotFoundError } from './errors.js';
import { formatTicketId } from './ids.js';

export const TICKET_STATUSES = ['open', 'pending', 'closed'] as const;
export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Status = (typeof TICKET_STATUSES)[number];
export type Priority = (typeof TICKET_PRIORITIES)[number];

export const MAX_PAGE_SIZE = 50;
export const MAX_COMMENTS_RETURNED = 50;

/** Prisma client or an interactive transaction's client. */
export type Db = PrismaClient | Prisma.TransactionClient;

export interface PersonView {
  id: string;
  name: string;
  email: string;
}

export interface TicketSummary {
  id: string;
  number: number;
  project: string;
  title: string;
  status: Status;
  priority: Priority;
  assignee: PersonView | null;
  updated_at: string;
  snippet: string;
}

export interface CommentView {
  id: string;
  author: PersonView;
  body: string;
  created_at: string;
}

export interface TicketDetail {
  id: string;
  number: number;
  project: { key: string; name: string };
  title: string;
  body: string;
  status: Status;
  priority: Priority;
  reporter: PersonView;
  assignee: PersonView | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  comment_count: number;
  /** The most recent comments, oldest first (at most MAX_COMMENTS_RETURNED). */
  comments: CommentView[];
}

export interface ProjectView {
  key: string;
  name: string;
  role: string;
  open_tickets: number;
  pending_tickets: number;
  closed_tickets: number;
}

export interface SearchFilters {
  query?: string;
  status?: Status;
  priority?: Priority;
  project?: string;
  /** `me`, `unassigned`, or a member's email address. */
  assignee?: string;
  cursor?: string;
  limit?: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const personSelect = { id: true, name: true, email: true } as const;

/**
 * The ticket repository. Every method takes the acting user's id and every query is filtered by that
 * user's project memberships here, in the data layer: a ticket of a project the user is not a member
 * of is indistinguishable from a ticket that does not exist (same error, no data).
 */
export class TicketRepository {
  constructor(private readonly db: Db) {}

  /** The same repository bound to a transaction's client. */
  withClient(db: Db): TicketRepository {
    return new TicketRepository(db);
  }

  private visibleTo(userId: string): Prisma.TicketWhereInput {
    return { project: { members: { some: { userId } } } };
  }

  async listProjects(userId: string): Promise<ProjectView[]> {
    const memberships = await this.db.projectMember.findMany({
      where: { userId },
      select: { role: true, project: { select: { id: true, key: true, name: true } } },
      orderBy: { project: { key: 'asc' } },
    });
    if (memberships.length === 0) return [];
    const counts = await this.db.ticket.groupBy({
      by: ['projectId', 'status'],
      where: { projectId: { in: memberships.map((m) => m.project.id) } },
      _count: { _all: true },
    });
    return memberships.map((m) => {
      const count = (status: Status) =>
        counts.find((c) => c.projectId === m.project.id && c.status === status)?._count._all ?? 0;
      return {
        key: m.project.key,
        name: m.project.name,
        role: m.role,
        open_tickets: count('open'),
        pending_tickets: count('pending'),
        closed_tickets: count('closed'),
      };
    });
  }

  /** The project with this key, if the user is a member. */
  async findProject(userId: string, key: string): Promise<{ id: string; key: string; name: string }> {
    const project = await this.db.project.findFirst({
      where: { key: { equals: key.trim(), mode: 'insensitive' }, members: { some: { userId } } },
      select: { id: true, key: true, name: true },
    });
    if (!project) {
      throw new NotFoundError(
        `Project "${key.slice(0, 40)}" was not found among your projects. Call list_projects to see the project keys you can use.`,
      );
    }
    return project;
  }

  /** Resolves `me` / an email to a user who shares a project with `userId` (or the given project). */
  private async resolvePerson(userId: string, who: string, projectId?: string): Promise<PersonView> {
    if (who.trim().toLowerCase() === 'me') {
      const me = await this.db.user.findUnique({ where: { id: userId }, select: personSelect });
      if (!me) throw new NotFoundError('Your user account was not found.');
      if (projectId) await this.assertMember(me.id, projectId, 'You are');
      return me;
    }
    const person = await this.db.user.findFirst({
      where: {
        email: { equals: who.trim(), mode: 'insensitive' },
        disabledAt: null,
        memberships: projectId
          ? { some: { projectId } }
          : { some: { project: { members: { some: { userId } } } } },
      },
      select: personSelect,
    });
    if (!person) {
      throw new InvalidInputError(
        projectId
          ? `No member of this project has the email "${who.slice(0, 80)}". Assign the ticket to a project member (or "me").`
          : `No member of your projects has the email "${who.slice(0, 80)}".`,
      );
    }
    return person;
  }

  private async assertMember(userId: string, projectId: string, subject: string): Promise<void> {
    const m = await this.db.projectMember.findUnique({ where: { projectId_userId: { projectId, userId } } });
    if (!m) throw new InvalidInputError(`${subject} not a member of this project.`);
  }

  async search(userId: string, filters: SearchFilters): Promise<Page<TicketSummary>> {
    const limit = Math.min(Math.max(filters.limit ?? 20, 1), MAX_PAGE_SIZE);
    const query = filters.query?.trim() || undefined;
    const fingerprint = filterFingerprint({ ...filters, query });
    const cursor = filters.cursor ? decodeCursor(filters.cursor, fingerprint) : undefined;

    const where: Prisma.Sql[] = [];
    const tsv = Prisma.sql`to_tsvector('simple', t."title" || ' ' || t."body")`;
    const tsq = query ? Prisma.sql`websearch_to_tsquery('simple', ${query})` : undefined;
    if (tsq) where.push(Prisma.sql`${tsv} @@ ${tsq}`);
    if (filters.status) where.push(Prisma.sql`t."status" = ${filters.status}::"TicketStatus"`);
    if (filters.priority) where.push(Prisma.sql`t."priority" = ${filters.priority}::"TicketPriority"`);
    if (filters.project) {
      const project = await this.findProject(userId, filters.project);
      where.push(Prisma.sql`t."project_id" = ${project.id}`);
    }
    if (filters.assignee) {
      if (filters.assignee.trim().toLowerCase() === 'unassigned') where.push(Prisma.sql`t."assignee_id" IS NULL`);
      else {
        const person = await this.resolvePerson(userId, filters.assignee);
        where.push(Prisma.sql`t."assignee_id" = ${person.id}`);
      }
    }
    // Relevance order for a text query, most recently updated first otherwise; the ticket number breaks
    // ties so the keyset cursor is exact.
    const sortKey = tsq
      ? Prisma.sql`round(ts_rank(${tsv}, ${tsq})::numeric, 6)`
      : Prisma.sql`t."updated_at"`;
    if (cursor) {
      const key = tsq ? Prisma.sql`${cursor.k}::numeric` : Prisma.sql`${cursor.k}::timestamp(3)`;
      where.push(Prisma.sql`(${sortKey}, t."number") < (${key}, ${cursor.n}::int)`);
    }
    const sortKeyText = tsq ? Prisma.sql`${sortKey}::text` : Prisma.sql`to_char(t."updated_at", 'YYYY-MM-DD"T"HH24:MI:SS.MS')`;
    const rows = await this.db.$queryRaw<{ number: number; sort_key: string }[]>(Prisma.sql`
      SELECT t."number" AS "number", ${sortKeyText} AS "sort_key"
      FROM "ticket" t
      JOIN "project_member" m ON m."project_id" = t."project_id" AND m."user_id" = ${userId}
      ${where.length ? Prisma.sql`WHERE ${Prisma.join(where, ' AND ')}` : Prisma.empty}
      ORDER BY ${sortKey} DESC, t."number" DESC
      LIMIT ${limit + 1}`);
    const page = rows.slice(0, limit);
    const numbers = page.map((r) => Number(r.number));
    const tickets = await this.db.ticket.findMany({
      where: { number: { in: numbers }, ...this.visibleTo(userId) },
      include: { project: { select: { key: true } }, assignee: { select: personSelect } },
    });
    const byNumber = new Map(tickets.map((t) => [t.number, t]));
    const items: TicketSummary[] = [];
    for (const n of numbers) {
      const t = byNumber.get(n);
      if (!t) continue;
      items.push({
        id: formatTicketId(t.number),
        number: t.number,
        project: t.project.key,
        title: t.title,
        status: t.status,
        priority: t.priority,
        assignee: t.assignee,
        updated_at: t.updatedAt.toISOString(),
        snippet: snippet(t.body),
      });
    }
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? encodeCursor({ k: last.sort_key, n: Number(last.number), f: fingerprint }) : null;
    return { items, nextCursor };
  }

  async get(userId: string, number: number): Promise<TicketDetail> {
    const t = await this.db.ticket.findFirst({
      where: { number, ...this.visibleTo(userId) },
      include: {
        project: { select: { key: true, name: true } },
        reporter: { select: personSelect },
        assignee: { select: personSelect },
        _count: { select: { comments: true } },
        comments: {
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: MAX_COMMENTS_RETURNED,
          include: { author: { select: personSelect } },
        },
      },
    });
    if (!t) throw notFound(number);
    return {
      id: formatTicketId(t.number),
      number: t.number,
      project: t.project,
      title: t.title,
      body: t.body,
      status: t.status,
      priority: t.priority,
      reporter: t.reporter,
      assignee: t.assignee,
      created_at: t.createdAt.toISOString(),
      updated_at: t.updatedAt.toISOString(),
      closed_at: t.closedAt?.toISOString() ?? null,
      comment_count: t._count.comments,
      comments: t.comments
        .map((c) => ({ id: c.id, author: c.author, body: c.body, created_at: c.createdAt.toISOString() }))
        .reverse(),
    };
  }

  /** The ticket's project id, or not found when the user cannot see it. */
  private async visibleTicket(userId: string, number: number): Promise<{ number: number; projectId: string; status: Status }> {
    const t = await this.db.ticket.findFirst({
      where: { number, ...this.visibleTo(userId) },
      select: { number: true, projectId: true, status: true },
    });
    if (!t) throw notFound(number);
    return t;
  }

  async create(
    userId: string,
    input: { project: string; title: string; body: string; priority?: Priority; assignee?: string },
  ): Promise<TicketDetail> {
    const project = await this.findProject(userId, input.project);
    const assignee = input.assignee ? await this.resolvePerson(userId, input.assignee, project.id) : null;
    const created = await this.db.ticket.create({
      data: {
        projectId: project.id,
        title: input.title.trim(),
        body: input.body,
        priority: input.priority ?? 'normal',
        reporterId: userId,
        assigneeId: assignee?.id ?? null,
      },
      select: { number: true },
    });
    return this.get(userId, created.number);
  }

  async comment(userId: string, number: number, body: string): Promise<{ ticket: TicketDetail; comment: CommentView }> {
    const t = await this.visibleTicket(userId, number);
    const c = await this.db.ticketComment.create({
      data: { ticketNumber: t.number, authorId: userId, body },
      include: { author: { select: personSelect } },
    });
    // A comment is activity on the ticket: it moves up in "recently updated".
    await this.db.ticket.update({ where: { number: t.number }, data: { updatedAt: new Date() } });
    return {
      ticket: await this.get(userId, number),
      comment: { id: c.id, author: c.author, body: c.body, created_at: c.createdAt.toISOString() },
    };
  }

  async update(
    userId: string,
    number: number,
    changes: { title?: string; body?: string; status?: 'open' | 'pending'; priority?: Priority; assignee?: string | null },
  ): Promise<{ ticket: TicketDetail; changed: string[] }> {
    const t = await this.visibleTicket(userId, number);
    const current = await this.db.ticket.findUniqueOrThrow({ where: { number: t.number } });
    const data: Prisma.TicketUncheckedUpdateInput = {};
    const changed: string[] = [];
    if (changes.title !== undefined && changes.title.trim() !== current.title) {
      data.title = changes.title.trim();
      changed.push('title');
    }
    if (changes.body !== undefined && changes.body !== current.body) {
      data.body = changes.body;
      changed.push('body');
    }
    if (changes.status !== undefined && changes.status !== current.status) {
      data.status = changes.status;
      // Reopening a closed ticket clears its closing time.
      if (current.status === 'closed') data.closedAt = null;
      changed.push('status');
    }
    if (changes.priority !== undefined && changes.priority !== current.priority) {
      data.priority = changes.priority;
      changed.push('priority');
    }
    if (changes.assignee !== undefined) {
      const assigneeId = changes.assignee === null ? null : (await this.resolvePerson(userId, changes.assignee, t.projectId)).id;
      if (assigneeId !== current.assigneeId) {
        data.assigneeId = assigneeId;
        changed.push('assignee');
      }
    }
    if (changed.length) await this.db.ticket.update({ where: { number: t.number }, data });
    return { ticket: await this.get(userId, number), changed };
  }

  async close(userId: string, number: number, resolution?: string): Promise<{ ticket: TicketDetail; alreadyClosed: boolean }> {
    const t = await this.visibleTicket(userId, number);
    if (t.status === 'closed') return { ticket: await this.get(userId, number), alreadyClosed: true };
    if (resolution) {
      await this.db.ticketComment.create({ data: { ticketNumber: t.number, authorId: userId, body: resolution } });
    }
    await this.db.ticket.update({ where: { number: t.number }, data: { status: 'closed', closedAt: new Date() } });
    return { ticket: await this.get(userId, number), alreadyClosed: false };
  }

  /** Visible tickets for the resource list: newest number first, keyset-paginated by number. */
  async listVisible(userId: string, cursor: string | undefined, limit: number): Promise<Page<{ number: number; title: string; project: string; status: Status; updatedAt: Date }>> {
    const fingerprint = 'resources';
    const after = cursor ? decodeCursor(cursor, fingerprint) : undefined;
    const rows = await this.db.ticket.findMany({
      where: { ...this.visibleTo(userId), ...(after ? { number: { lt: after.n } } : {}) },
      orderBy: { number: 'desc' },
      take: limit + 1,
      select: { number: true, title: true, status: true, updatedAt: true, project: { select: { key: true } } },
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ number: r.number, title: r.title, project: r.project.key, status: r.status, updatedAt: r.updatedAt })),
      nextCursor: rows.length > limit && last ? encodeCursor({ k: '', n: last.number, f: fingerprint }) : null,
    };
  }

  /** Figures and the most pressing open tickets of one project (summarize_project prompt). */
  async projectOverview(userId: string, key: string): Promise<{ project: { key: string; name: string }; counts: Record<Status, number>; byPriority: Record<Priority, number>; recent: TicketSummary[] }> {
    const project = await this.findProject(userId, key);
    const grouped = await this.db.ticket.groupBy({ by: ['status'], where: { projectId: project.id }, _count: { _all: true } });
    const groupedPriority = await this.db.ticket.groupBy({
      by: ['priority'],
      where: { projectId: project.id, status: { not: 'closed' } },
      _count: { _all: true },
    });
    const counts = { open: 0, pending: 0, closed: 0 } as Record<Status, number>;
    for (const g of grouped) counts[g.status] = g._count._all;
    const byPriority = { low: 0, normal: 0, high: 0, urgent: 0 } as Record<Priority, number>;
    for (const g of groupedPriority) byPriority[g.priority] = g._count._all;
    const open = await this.db.ticket.findMany({
      where: { projectId: project.id, status: { not: 'closed' }, ...this.visibleTo(userId) },
      orderBy: [{ updatedAt: 'desc' }, { number: 'desc' }],
      take: 25,
      include: { assignee: { select: personSelect } },
    });
    const rank: Record<Priority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };
    open.sort((a, b) => rank[a.priority] - rank[b.priority]);
    return {
      project: { key: project.key, name: project.name },
      counts,
      byPriority,
      recent: open.slice(0, 15).map((t) => ({
        id: formatTicketId(t.number),
        number: t.number,
        project: project.key,
        title: t.title,
        status: t.status,
        priority: t.priority,
        assignee: t.assignee,
        updated_at: t.updatedAt.toISOString(),
        snippet: snippet(t.body),
      })),
    };
  }
}

function notFound(number: number): NotFoundError {
  // Same text whether the ticket does not exist or belongs to a project the user is not in.
  return new NotFoundError(
    `Ticket ${formatTicketId(number)} was not found in your projects. Check the id, or use search_tickets to find the ticket.`,
  );
}

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

interface CursorPayload {
  k: string;
  n: number;
  f: string;
}

function filterFingerprint(filters: SearchFilters): string {
  const { query, status, priority, project, assignee } = filters;
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([query ?? null, status ?? null, priority ?? null, project?.toLowerCase() ?? null, assignee?.toLowerCase() ?? null]))
    .digest('base64url')
    .slice(0, 16);
}

function encodeCursor(payload: CursorPayload): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

function decodeCursor(cursor: string, fingerprint: string): CursorPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    payload = undefined;
  }
  const p = payload as Partial<CursorPayload> | undefined;
  if (!p || typeof p.k !== 'string' || typeof p.n !== 'number' || !Number.isSafeInteger(p.n) || typeof p.f !== 'string') {
    throw new InvalidInputError('The cursor is not valid. Repeat the search without a cursor to start from the first page.');
  }
  if (p.f !== fingerprint) {
    throw new InvalidInputError('The cursor belongs to a search with different filters. Use the same query and filters as the call that returned it, or start again without a cursor.');
  }
  if (p.k !== '' && !/^[0-9.]+$/.test(p.k) && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/.test(p.k)) {
    throw new InvalidInputError('The cursor is not valid. Repeat the search without a cursor to start from the first page.');
  }
  return p as CursorPayload;
}
