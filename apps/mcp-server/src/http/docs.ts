import { MCP_SCOPES, describeScope } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';
import { TOOLS } from '../tools/tickets.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The resource_documentation page named in the protected resource metadata. */
export function renderDocs(config: McpServerConfig): string {
  const tools = TOOLS.map(
    (t) => `<h3><code>${esc(t.name)}</code> (${esc(t.scope)})</h3><p>${esc(t.description).replace(/\n/g, '<br>')}</p>`,
  ).join('\n');
  const scopes = MCP_SCOPES.map((s) => `<li><code>${esc(s)}</code>: ${esc(describeScope(s))}</li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ticketing MCP server</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2em}</style></head>
<body><h1>Ticketing MCP server</h1>
<p>Add this server to your MCP client with the URL <code>${esc(config.MCP_RESOURCE_URL)}</code>. The client signs you in at
<code>${esc(config.AUTH_ISSUER)}</code> (OAuth 2.1); you only see tickets of the projects you are a member of.</p>
<h2>Permissions</h2><ul>${scopes}</ul>
<p>If tools start failing with "reconnect the server", your access was revoked or expired: reconnect the server in your client.</p>
<h2>Tools</h2>${tools}
<h2>Resources and prompts</h2><p><code>ticket://T-&lt;n&gt;</code>: one ticket as markdown. Prompts: <code>triage_ticket</code>, <code>summarize_project</code>.</p>
</body></html>`;
}
