// The audit trail is shared by both apps: packages/db.
export { AuditLog, type AuditEntry } from '@mcp-gw/db';
