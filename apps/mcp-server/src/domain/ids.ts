import { InvalidInputError } from './errors.js';

/** Ticket ids are shown as `T-<n>`; `n` is the ticket's database number. */
export const TICKET_ID_PATTERN = /^(?:[Tt]-?)?([1-9][0-9]{0,8})$/;

export function formatTicketId(number: number): string {
  return `T-${number}`;
}

/** Accepts `T-12`, `t-12`, `T12` or `12`. */
export function parseTicketId(id: string): number {
  const match = TICKET_ID_PATTERN.exec(id.trim());
  if (!match) throw new InvalidInputError(`"${id.slice(0, 40)}" is not a ticket id: use the form T-123.`);
  const n = Number(match[1]);
  if (!Number.isSafeInteger(n) || n > 2_147_483_647) throw new InvalidInputError(`${id.slice(0, 40)} is out of range.`);
  return n;
}
