export { createAuthApp, startAuthServer, type AuthApp, type AuthAppOptions, type RunningAuthServer } from './app.js';
export { loadAuthServerConfig, resourceUrls, type AuthServerConfig } from './config.js';
export { AccountService } from './accounts.js';
export { SigningKeyStore } from './keys.js';
export { SecretBox } from './crypto-box.js';
export { AdminService, NotFound, type ClientSummary, type GrantSummary } from './admin/service.js';
export { connectRedis, closeRedis } from './redis.js';
export { runAdminCli } from './cli/admin.js';
