import { describeScope, MCP_SCOPES } from '@mcp-gw/shared';
import { html } from '../views/html.js';
import { sitePath } from '../site-path.js';
import type { ServiceClientSummary } from '../service-clients/registry.js';
import { shell, when, type PageUser } from './views.js';

export interface ServiceClientForm {
  name: string;
  projects: string;
  scopes: string[];
  method: 'private_key_jwt' | 'client_secret_basic';
  jwks: string;
  jwksUri: string;
}

export const EMPTY_SERVICE_CLIENT_FORM: ServiceClientForm = { name: '', projects: '', scopes: ['tickets:read'], method: 'private_key_jwt', jwks: '', jwksUri: '' };

/** The service clients, and the form that creates one (shown again with the error when it was refused). */
export function serviceClientsPage(user: PageUser, csrfToken: string, clients: ServiceClientSummary[], form: ServiceClientForm, error?: string): string {
  return shell(
    'Service clients',
    user,
    csrfToken,
    html`<h1>Service clients</h1>
<p class="lead">Agents and jobs that run with no person behind them get tokens with <code>grant_type=client_credentials</code>.
Each acts as its own service principal: it sees only the projects listed here, gets only these scopes, and
its writes are recorded under its name. Revoke it on its client page, like any client.</p>
<div class="table-wrap"><table>
<thead><tr><th>Name</th><th>Authenticates with</th><th>Projects</th><th>Scopes</th><th>Created</th><th>Last token</th><th></th></tr></thead>
<tbody>${clients.length ? '' : html`<tr><td colspan="7" class="muted">No service clients yet.</td></tr>`}${clients.map(
      (c) => html`<tr>
  <td><a href="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}">${c.name}</a>${c.disabled ? html` <small>(disabled)</small>` : ''}<br><small><code>${c.clientId}</code></small></td>
  <td><code>${c.authMethod}</code></td>
  <td>${c.projects.map((p) => html`<code>${p}</code> `)}</td>
  <td>${c.scopes.map((s) => html`<code>${s}</code><br>`)}</td>
  <td>${when(c.createdAt)}</td>
  <td>${when(c.lastUsedAt)}</td>
  <td><a class="button" href="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}/revoke">Revoke</a></td>
</tr>`,
    )}</tbody></table></div>
<h2 id="new">New service client</h2>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="${sitePath('/admin/service-clients')}">
  <input type="hidden" name="csrf" value="${csrfToken}">
  <label for="sc-name">Name</label>
  <input id="sc-name" name="name" type="text" required maxlength="80" value="${form.name}" placeholder="CI triage bot">
  <label for="sc-projects">Projects (keys, comma-separated)</label>
  <input id="sc-projects" name="projects" type="text" required maxlength="400" value="${form.projects}" placeholder="OPS, WEB">
  <fieldset><legend>Scopes</legend>
  ${MCP_SCOPES.map((s) => html`<label class="check"><input type="checkbox" name="scope" value="${s}"${form.scopes.includes(s) ? html` checked` : ''}> <code>${s}</code> ${describeScope(s)}</label>`)}
  </fieldset>
  <fieldset><legend>Client authentication</legend>
  <label class="check"><input type="radio" name="method" value="private_key_jwt"${form.method === 'private_key_jwt' ? html` checked` : ''}> <code>private_key_jwt</code>: the client signs an assertion with its own key (recommended)</label>
  <label for="sc-jwks">Its public JWKS (<code>{"keys":[…]}</code>)</label>
  <textarea id="sc-jwks" name="jwks" rows="4" maxlength="20000">${form.jwks}</textarea>
  <label for="sc-jwks-uri">or its JWKS URI (https)</label>
  <input id="sc-jwks-uri" name="jwks_uri" type="url" maxlength="2000" value="${form.jwksUri}">
  <label class="check"><input type="radio" name="method" value="client_secret_basic"${form.method === 'client_secret_basic' ? html` checked` : ''}> <code>client_secret_basic</code>: a secret generated now and shown once</label>
  </fieldset>
  <div class="actions"><button type="submit">Create service client</button></div>
</form>`,
  );
}

/** Shown once, right after creation: the only time the secret is visible. */
export function serviceClientCreatedPage(user: PageUser, csrfToken: string, created: { clientId: string; clientSecret?: string; name: string; tokenEndpoint: string; resource: string }): string {
  const auth = created.clientSecret ? `-u '${created.clientId}:${created.clientSecret}'` : `-d client_id=${created.clientId} -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer -d client_assertion=<signed JWT>`;
  return shell(
    'Service client created',
    user,
    csrfToken,
    html`<h1>${created.name} created</h1>
<dl class="facts">
  <dt>client_id</dt><dd><code>${created.clientId}</code></dd>
  ${created.clientSecret ? html`<dt>client_secret</dt><dd><code>${created.clientSecret}</code><br><strong>Copy it now: it is stored hashed and cannot be shown again.</strong></dd>` : ''}
  <dt>Token endpoint</dt><dd><code>${created.tokenEndpoint}</code></dd>
  <dt>Resource</dt><dd><code>${created.resource}</code></dd>
</dl>
<p>A token:</p>
<pre>curl ${created.tokenEndpoint} -d grant_type=client_credentials -d resource=${created.resource} ${auth}</pre>
<div class="actions"><a class="button" href="${sitePath('/admin/service-clients')}">Back to service clients</a></div>`,
  );
}
