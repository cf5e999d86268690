import type { AuthServerConfig } from '../config.js';
import { html } from './html.js';
import { layout } from './pages.js';
import { issuerPath } from '../site-path.js';

export function renderHomePage(config: AuthServerConfig): string {
  // RFC 8414 §3.1: the issuer's path goes after the well-known segment.
  const metadata = `${new URL(config.ISSUER).origin}/.well-known/oauth-authorization-server${issuerPath(config.ISSUER)}`;
  return layout(
    'Authorization server',
    html`<div class="card">
  <h1>Authorization server</h1>
  <p class="lead">Issues tokens for the ticketing MCP server. Add the MCP server to your AI client by its URL:</p>
  <p><code>${config.MCP_RESOURCE_URL}</code></p>
  <dl class="facts">
    <dt>Issuer</dt><dd><code>${config.ISSUER}</code></dd>
    <dt>Metadata</dt><dd><a href="${metadata}">${metadata}</a></dd>
    <dt>Keys</dt><dd><a href="${config.ISSUER}/jwks">${config.ISSUER}/jwks</a></dd>
  </dl>
</div>`,
  );
}
