import { describeScope } from '@mcp-gw/shared';
import { html, raw, type RawHtml } from './html.js';
import { sitePath } from '../site-path.js';

export function layout(title: string, body: RawHtml, options: { wide?: boolean } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${sitePath('/assets/app.css')}">
</head>
<body><main${raw(options.wide ? ' class="wide"' : '')}>${body}</main></body>
</html>`.__html;
}

export interface LoginPageModel {
  action: string;
  csrfToken: string;
  clientName: string;
  email?: string;
  error?: string;
  /** The password form; false when LOCAL_PASSWORDS=false leaves only the upstream IdPs. */
  passwords?: boolean;
  /** "Continue with <label>" buttons, one form each (POST with the CSRF token). */
  upstream?: { label: string; action: string }[];
}

export function renderLoginPage(m: LoginPageModel): string {
  const passwords = m.passwords ?? true;
  const upstream = m.upstream ?? [];
  return layout(
    'Sign in',
    html`<div class="card">
  <h1>Sign in</h1>
  <p class="lead">to continue to <strong>${m.clientName}</strong></p>
  ${m.error ? html`<div class="error" role="alert">${m.error}</div>` : ''}
  ${upstream.map(
    (idp) => html`<form method="post" action="${idp.action}" class="upstream">
    <input type="hidden" name="csrf" value="${m.csrfToken}">
    <button class="${passwords ? 'secondary' : 'primary'} wide" type="submit">Continue with ${idp.label}</button>
  </form>`,
  )}
  ${upstream.length && passwords ? html`<p class="divider">or</p>` : ''}
  ${passwords
    ? html`<form method="post" action="${m.action}" autocomplete="on">
    <input type="hidden" name="csrf" value="${m.csrfToken}">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" required maxlength="254" autocomplete="username"${raw(upstream.length ? '' : ' autofocus')} value="${m.email ?? ''}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" required maxlength="1024" autocomplete="current-password">
    <div class="actions"><button class="primary" type="submit">Sign in</button></div>
  </form>`
    : ''}
</div>`,
  );
}

export interface ConsentPageModel {
  action: string;
  abortAction: string;
  csrfToken: string;
  clientName: string;
  clientId: string;
  /** The identity the person can check: the host the browser will be sent back to, or the CIMD host. */
  redirectHost: string;
  resources: string[];
  scopes: string[];
  userEmail: string;
  firstParty: boolean;
  registeredVia?: string;
  /** For a Client ID Metadata Document client: the host serving its document (its identity). */
  documentHost?: string;
  /** The request names the key its tokens will be bound to (DPoP `dpop_jkt`). */
  keyBound?: boolean;
}

export function renderConsentPage(m: ConsentPageModel): string {
  const initial = (m.clientName.trim()[0] ?? '?').toUpperCase();
  return layout(
    'Authorize access',
    html`<div class="card">
  <div class="client"><div class="badge" aria-hidden="true">${initial}</div>
    <div><h1>${m.clientName}</h1><small>wants access to your account</small></div></div>
  ${m.documentHost ? html`<p class="notice">Identity verified by <strong>${m.documentHost}</strong>: this application's details are published at its client id.</p>` : ''}
  <dl class="facts">
    <dt>Signed in as</dt><dd>${m.userEmail}</dd>
    ${m.documentHost ? html`<dt>Published by</dt><dd><strong>${m.documentHost}</strong></dd>` : ''}
    <dt>Redirects to</dt><dd><strong>${m.redirectHost}</strong></dd>
    <dt>Access to</dt><dd>${m.resources.map((r) => html`<code>${r}</code><br>`)}</dd>
    <dt>Client id</dt><dd><code>${m.clientId}</code></dd>
    ${m.keyBound ? html`<dt>Tokens</dt><dd>Bound to a key this application holds (DPoP): a copy of them is useless anywhere else</dd>` : ''}
  </dl>
  ${m.registeredVia === 'dcr' ? html`<p class="notice">This application registered itself. Only approve if you just tried to connect it yourself and you trust <strong>${m.redirectHost}</strong>.</p>` : ''}
  <h2>It will be able to</h2>
  <ul class="scopes">${m.scopes.map((s) => html`<li>${describeScope(s)}<br><code>${s}</code></li>`)}</ul>
  <form method="post" action="${m.action}">
    <input type="hidden" name="csrf" value="${m.csrfToken}">
    <div class="actions">
      <button type="submit" formaction="${m.abortAction}" name="decision" value="deny">Deny</button>
      <button class="primary" type="submit" name="decision" value="approve">Approve</button>
    </div>
  </form>
</div>`,
  );
}

export function renderErrorPage(m: { error: string; description: string }): string {
  return layout(
    'Something went wrong',
    html`<div class="card"><h1>This request could not be completed</h1>
  <div class="error" role="alert"><strong>${m.error}</strong><br>${m.description}</div>
  <p class="muted">Go back to the application you came from and try connecting again.</p></div>`,
  );
}
