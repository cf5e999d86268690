import type { AuthServerConfig } from '../config.js';
import { html } from './html.js';
import { layout } from './pages.js';

export function renderHomePage(config: AuthServerConfig): string {
  return layout(
    'Authorization server',
    html`<div class="card">
  <h1>Authorization server</h1>
  <p class="lead">Issues tokens for the ticketing MCP server. Add the MCP server to your AI client by its URL:</p>
  <p><code>${config.MCP_RESOURCE_URL}</code></p>
  <dl class="facts">
    <dt>Issuer</dt><dd><code>${config.ISSUER}</code></dd>
    <dt>Metadata</dt><dd><a href="/.well-known/oauth-authorization-server">/.well-known/oauth-authorization-server</a></dd>
    <dt>Keys</dt><dd><a href="/jwks">/jwks</a></dd>
  </dl>
</div>`,
  );
}
