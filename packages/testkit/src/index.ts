export { createTestDatabase, createPostgresDatabase, openEmbeddedDatabase, type TestDatabase, type PostgresDatabase } from './database.js';
export { freePort } from './ports.js';
export {
  CookieJar,
  pkcePair,
  registerClient,
  authorize,
  authorizeAndRedeem,
  walkAuthorization,
  tokenRequest,
  obtainTokens,
  type RegisteredClient,
  type AuthorizeOptions,
  type AuthorizeResult,
  type TokenResponse,
} from './oauth-flow.js';
export { startDocumentServer, type DocumentServer, type DocumentRoute } from './document-server.js';
export { localhostCertificate, startTlsProxy, type ProxyRoute, type TlsProxy } from './tls-proxy.js';
export { startUpstreamIdp, type UpstreamIdp, type UpstreamIdpOptions, type UpstreamUser } from './upstream-idp.js';
