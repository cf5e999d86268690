export { connectDatabase, parseDatabaseUrl, embeddedEngineVersion, type ConnectOptions, type Database, type DatabaseKind, type SqlConnection } from './connect.js';
export { SQL_NOW_UTC, sqlEpochMs, sqlUtcFromEpochMs } from './sql-time.js';
export { applyMigrations, MIGRATIONS_DIR, type MigrationResult } from './migrate.js';
export { PrismaClient, Prisma } from './generated/prisma/client.js';
export type * from './generated/prisma/models.js';
export type { User, Ticket, TicketComment, Project, ProjectMember, AuditEvent, ClientRegistration, OidcArtifact } from './generated/prisma/client.js';
export { TicketStatus, TicketPriority } from './generated/prisma/enums.js';
export { activeGrantExpiry, artifactKey, isGrantActive } from './artifacts.js';
export { AuditLog, type AuditEntry } from './audit.js';
