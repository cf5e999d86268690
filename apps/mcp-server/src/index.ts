export { createMcpApp, startMcpServer, type McpApp, type McpAppOptions, type StartedMcpServer } from './app.js';
export { loadMcpConfig, buildConfig, configSchema, resourceMetadataUrl, type McpServerConfig } from './config.js';
export { protectedResourceMetadata } from './auth/protected-resource.js';
export { seedDemoTickets, addUserToDemoProjects, DEMO_PROJECTS } from './domain/seed.js';
export { TicketRepository } from './domain/tickets.js';
export { Metrics } from './observability/metrics.js';
export { startTelemetry } from './observability/tracing.js';
export { SessionManager } from './transport/session-manager.js';
export { TOOLS, TOOL_SCOPES } from './tools/tickets.js';
