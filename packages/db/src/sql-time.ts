/**
 * The one convention for timestamps in SQL written outside Prisma: columns are Prisma's `TIMESTAMP(3)`
 * (no time zone) holding UTC, as Prisma writes them. These fragments write and read them so that
 * neither the database session's nor the Node process's time zone ever shifts a value.
 */

/** The current time, as Prisma would store it. */
export const SQL_NOW_UTC = "(now() AT TIME ZONE 'UTC')";

/** A timestamp column read as epoch milliseconds (`float8`, null stays null). */
export function sqlEpochMs(column: string): string {
  return `(extract(epoch FROM ${column}) * 1000)::float8`;
}

/** Epoch milliseconds given as a parameter (`$n`), as the UTC timestamp Prisma would store. */
export function sqlUtcFromEpochMs(param: string): string {
  return `(to_timestamp(${param}::float8 / 1000) AT TIME ZONE 'UTC')`;
}
