import { describeScope } from '@mcp-gw/shared';
import { html, raw, type RawHtml } from '../views/html.js';
import { layout } from '../views/pages.js';
import { sitePath } from '../site-path.js';
import type { ClientSummary, GrantSummary } from './service.js';

export interface PageUser {
  email: string;
  isAdmin: boolean;
}

export function shell(title: string, user: PageUser, csrfToken: string, body: RawHtml): string {
  return layout(
    title,
    html`<nav class="top" aria-label="Main">
  ${user.isAdmin ? html`<a href="${sitePath('/admin')}">Clients</a><a href="${sitePath('/admin/audit')}">Audit trail</a><a href="${sitePath('/admin/users')}">Users</a><a href="${sitePath('/admin/service-clients')}">Service clients</a>` : ''}
  <a href="${sitePath('/account')}">Connected apps</a>
  <span class="spacer"></span>
  <small>${user.email}</small>
  <form class="inline" method="post" action="${sitePath('/console/logout')}"><input type="hidden" name="csrf" value="${csrfToken}"><button type="submit">Sign out</button></form>
</nav>
<div class="card">${body}</div>`,
    { wide: true },
  );
}

export const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '—');

export function clientsPage(user: PageUser, csrfToken: string, clients: ClientSummary[], search: string, flash?: string): string {
  return shell(
    'Clients',
    user,
    csrfToken,
    html`<h1>Registered clients</h1>
<p class="lead">${clients.length} client(s). Revoking one deletes its registration and every grant and token issued to it.</p>
${flash ? html`<p class="notice" role="status">${flash}</p>` : ''}
<form method="get" action="${sitePath('/admin')}"><label for="q">Search by name or client id</label>
<input id="q" name="q" type="text" maxlength="200" value="${search}"></form>
<div class="table-wrap"><table>
<thead><tr><th>Name</th><th>Redirect URIs</th><th>Registered</th><th>Created</th><th>Last used</th><th>Users</th><th>Scopes granted</th><th></th></tr></thead>
<tbody>${clients.map(
      (c) => html`<tr>
  <td><a href="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}">${c.clientName ?? '(no name)'}</a><br><small><code>${c.clientId}</code></small></td>
  <td>${c.redirectUris.map((u) => html`<code>${u}</code><br>`)}</td>
  <td>${c.registeredVia}${c.registeredIp ? html`<br><small>from ${c.registeredIp}</small>` : ''}</td>
  <td>${when(c.createdAt)}</td>
  <td>${when(c.lastUsedAt)}</td>
  <td>${c.users.length ? c.users.map((u) => html`${u}<br>`) : html`<small>none</small>`}</td>
  <td>${c.scopes.map((s) => html`<code>${s}</code><br>`)}</td>
  <td><a class="button" href="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}/revoke">Revoke</a></td>
</tr>`,
    )}</tbody></table></div>`,
  );
}

function grantsTable(grants: GrantSummary[], csrfToken: string, revokeAction: (g: GrantSummary) => string, showClient: boolean, clientNames: Map<string, string> = new Map()): RawHtml {
  if (!grants.length) return html`<p class="muted">No grants.</p>`;
  return html`<div class="table-wrap"><table>
<thead><tr>${showClient ? html`<th>Application</th>` : html`<th>User</th>`}<th>Access</th><th>Tokens</th><th>Granted</th><th>Expires</th><th></th></tr></thead>
<tbody>${grants.map(
    (g) => html`<tr>
  <td>${showClient ? html`${clientNames.get(g.clientId) ?? g.clientId}<br><small><code>${g.clientId}</code></small>` : (g.userEmail ?? g.accountId)}</td>
  <td>${Object.entries(g.resources).map(([r, scopes]) => html`<code>${r}</code><ul class="scopes">${scopes.map((s) => html`<li>${describeScope(s)} <code>${s}</code></li>`)}</ul>`)}</td>
  <td>${g.keyBound === null ? '—' : g.keyBound ? html`<strong>Key-bound</strong> (DPoP)` : 'Bearer'}</td>
  <td>${when(g.createdAt)}</td>
  <td>${when(g.expiresAt)}</td>
  <td><form method="post" action="${revokeAction(g)}"><input type="hidden" name="csrf" value="${csrfToken}"><button class="danger" type="submit">Revoke</button></form></td>
</tr>`,
  )}</tbody></table></div>`;
}

export function clientDetailPage(
  user: PageUser,
  csrfToken: string,
  detail: { summary: ClientSummary; metadata: Record<string, unknown>; grants: GrantSummary[] },
  flash?: string,
): string {
  const c = detail.summary;
  return shell(
    c.clientName ?? c.clientId,
    user,
    csrfToken,
    html`<h1>${c.clientName ?? '(no name)'}</h1>
<p class="lead"><code>${c.clientId}</code></p>
${flash ? html`<p class="notice" role="status">${flash}</p>` : ''}
<dl class="facts">
  <dt>Registered</dt><dd>${c.registeredVia}${c.registeredIp ? ` from ${c.registeredIp}` : ''}, ${when(c.createdAt)}</dd>
  <dt>Last used</dt><dd>${when(c.lastUsedAt)}</dd>
  <dt>Type</dt><dd>${c.applicationType ?? 'web'}, authenticates with <code>${c.tokenEndpointAuthMethod ?? 'client_secret_basic'}</code></dd>
  <dt>Redirect URIs</dt><dd>${c.redirectUris.map((u) => html`<code>${u}</code><br>`)}</dd>
</dl>
<h2>Grants (${detail.grants.length})</h2>
${grantsTable(detail.grants, csrfToken, (g) => sitePath(`/admin/grants/${encodeURIComponent(g.grantId)}/revoke?client=${encodeURIComponent(c.clientId)}`), false)}
<div class="actions"><a class="button" href="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}/revoke">Revoke this client…</a></div>
<h2>Metadata</h2>
<pre>${JSON.stringify(detail.metadata, null, 2)}</pre>`,
  );
}

export function confirmRevokeClientPage(user: PageUser, csrfToken: string, c: ClientSummary): string {
  return shell(
    'Revoke client',
    user,
    csrfToken,
    html`<h1>Revoke ${c.clientName ?? c.clientId}?</h1>
<p>This deletes the registration <code>${c.clientId}</code> and revokes <strong>${c.grantCount}</strong> grant(s) held by
${c.users.length ? c.users.join(', ') : 'nobody'}: every access and refresh token stops working on the next request.
The application has to register and ask for consent again.</p>
<form method="post" action="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}/revoke">
  <input type="hidden" name="csrf" value="${csrfToken}">
  <div class="actions"><a class="button" href="${sitePath('/admin/clients/')}${encodeURIComponent(c.clientId)}">Cancel</a>
  <button class="danger" type="submit" name="confirm" value="yes">Revoke client</button></div>
</form>`,
  );
}

/**
 * Revoking a grant asks first, like revoking a client: the table's Revoke button only brings the
 * person here, and only the button below (confirm=yes) revokes.
 */
export function confirmRevokeGrantPage(
  user: PageUser,
  csrfToken: string,
  g: GrantSummary,
  clientName: string,
  action: string,
  cancelHref: string,
): string {
  return shell(
    'Revoke access',
    user,
    csrfToken,
    html`<h1>Revoke ${clientName}'s access?</h1>
<p>This revokes the grant <code>${g.grantId}</code> of <strong>${g.userEmail ?? g.accountId}</strong> to <strong>${clientName}</strong>
(<code>${g.clientId}</code>): its access and refresh tokens stop working on the next request. Other people's access to the
application is not affected. The application has to ask for consent again.</p>
<ul class="scopes">${Object.entries(g.resources).flatMap(([r, scopes]) => scopes.map((s) => html`<li>${describeScope(s)} <code>${s}</code> on <code>${r}</code></li>`))}</ul>
<form method="post" action="${action}">
  <input type="hidden" name="csrf" value="${csrfToken}">
  <div class="actions"><a class="button" href="${cancelHref}">Cancel</a>
  <button class="danger" type="submit" name="confirm" value="yes">Revoke access</button></div>
</form>`,
  );
}

export interface AuditRow {
  id: string;
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  outcome: string;
  targetType: string | null;
  targetId: string | null;
  clientId: string | null;
  ip: string | null;
  details: unknown;
}

export function auditPage(user: PageUser, csrfToken: string, events: AuditRow[], filter: Record<string, string>, nextBefore: string | null): string {
  const next = nextBefore ? sitePath(`/admin/audit?${new URLSearchParams({ ...filter, before: nextBefore })}`) : undefined;
  return shell(
    'Audit trail',
    user,
    csrfToken,
    html`<h1>Audit trail</h1>
<form method="get" action="${sitePath('/admin/audit')}" class="filters">
  <label for="action">Action starts with</label><input id="action" name="action" type="text" maxlength="100" value="${filter.action ?? ''}" placeholder="client. / grant. / login. / tool.">
  <label for="client">Client id</label><input id="client" name="client" type="text" maxlength="300" value="${filter.client ?? ''}">
  <label for="actor">Actor id</label><input id="actor" name="actor" type="text" maxlength="300" value="${filter.actor ?? ''}">
  <label for="outcome">Outcome</label><select id="outcome" name="outcome">
    ${['', 'success', 'denied', 'error'].map((o) => html`<option value="${o}"${raw(filter.outcome === o ? ' selected' : '')}>${o || 'any'}</option>`)}
  </select>
  <div class="actions"><button type="submit" class="primary">Filter</button></div>
</form>
<div class="table-wrap"><table>
<thead><tr><th>When</th><th>Who</th><th>Action</th><th>Outcome</th><th>Target</th><th>Client</th><th>IP</th><th>Details</th></tr></thead>
<tbody>${events.map(
      (e) => html`<tr><td>${when(e.at)}</td><td>${e.actorType}<br><small>${e.actorId ?? ''}</small></td><td><code>${e.action}</code></td>
<td>${e.outcome}</td><td>${e.targetType ?? ''}<br><small>${e.targetId ?? ''}</small></td><td><small>${e.clientId ?? ''}</small></td><td><small>${e.ip ?? ''}</small></td>
<td><small>${e.details ? JSON.stringify(e.details) : ''}</small></td></tr>`,
    )}</tbody></table></div>
${next ? html`<div class="actions"><a class="button" href="${next}">Older events</a></div>` : ''}`,
  );
}

export interface UserRow {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
  kind: string;
  disabledAt: Date | null;
  createdAt: Date;
  lastLoginAt: Date | null;
  /** The upstream IdPs this account signs in through (IDP_<ID>_*), with the address each one gave. */
  identities: { provider: string; email: string | null; lastLoginAt: Date | null }[];
  localLogin: boolean;
}

/** How an account signs in: its password, its IdPs, or (a service principal) not at all. */
function signsInWith(u: UserRow): RawHtml {
  if (u.kind === 'service') return html`<small>service principal (client credentials)</small>`;
  const ways = [...(u.localLogin ? [html`password`] : []), ...u.identities.map((i) => html`<code>${i.provider}</code>${i.email && i.email !== u.email ? html` <small>as ${i.email}</small>` : ''}`)];
  return ways.length ? html`${ways.map((w, i) => html`${i ? html`<br>` : ''}${w}`)}` : html`<small>nothing yet</small>`;
}

export function usersPage(user: PageUser, csrfToken: string, users: UserRow[]): string {
  return shell(
    'Users',
    user,
    csrfToken,
    html`<h1>Users</h1><p class="lead">Add users with <code>pnpm admin users add &lt;email&gt; [--admin]</code>, or let them sign in through a configured identity provider.</p>
<div class="table-wrap"><table><thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Signs in with</th><th>Status</th><th>Created</th><th>Last sign-in</th><th></th></tr></thead>
<tbody>${users.map(
      (u) => html`<tr><td>${u.email}</td><td>${u.name}</td><td>${u.kind === 'service' ? 'service' : u.isAdmin ? 'admin' : 'user'}</td><td>${signsInWith(u)}</td><td>${u.disabledAt ? 'disabled' : 'active'}</td>
<td>${when(u.createdAt.toISOString())}</td><td>${when(u.lastLoginAt?.toISOString() ?? null)}</td>
<td><a href="${sitePath('/admin/audit?actor=')}${encodeURIComponent(u.id)}">Activity</a></td></tr>`,
    )}</tbody></table></div>`,
  );
}

export function accountPage(user: PageUser, csrfToken: string, grants: GrantSummary[], clientNames: Map<string, string>, flash?: string): string {
  return shell(
    'Connected apps',
    user,
    csrfToken,
    html`<h1>Connected apps</h1>
<p class="lead">Applications you allowed to act in your name. Revoking one stops it at once; it will have to ask you again.</p>
${flash ? html`<p class="notice" role="status">${flash}</p>` : ''}
${grantsTable(grants, csrfToken, (g) => sitePath(`/account/grants/${encodeURIComponent(g.grantId)}/revoke`), true, clientNames)}`,
  );
}
