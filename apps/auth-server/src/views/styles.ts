/** The only stylesheet, served from /assets/app.css (the CSP allows no inline style or remote asset). */
export const APP_CSS = `
:root { color-scheme: light dark; --bg:#f5f6f8; --card:#fff; --fg:#1c1f24; --muted:#5c6470; --line:#dde1e6;
  --accent:#2f5bd3; --accent-fg:#fff; --danger:#b42318; --ok:#067647; --warn-bg:#fff7e6; }
@media (prefers-color-scheme: dark) { :root { --bg:#111318; --card:#1a1d23; --fg:#e6e8eb; --muted:#9aa3ae;
  --line:#2c313a; --accent:#6c8cff; --accent-fg:#0b0d12; --danger:#f97066; --ok:#47cd89; --warn-bg:#2a2212; } }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--fg); }
main { max-width: 460px; margin: 6vh auto; padding: 0 16px; }
main.wide { max-width: 1100px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:12px; padding:28px; box-shadow:0 1px 2px rgba(0,0,0,.04); }
h1 { font-size:1.35rem; margin:0 0 4px; }
h2 { font-size:1.05rem; margin:24px 0 8px; }
p.lead { color:var(--muted); margin:0 0 20px; }
label { display:block; font-weight:600; margin:14px 0 6px; }
input[type=email], input[type=password], input[type=text], input[type=url], textarea, select { width:100%; padding:10px 12px; font:inherit; color:inherit;
  background:var(--bg); border:1px solid var(--line); border-radius:8px; }
textarea { font-family: ui-monospace, monospace; font-size: 0.85em; }
fieldset { border:1px solid var(--line); border-radius:8px; margin:16px 0 0; padding:4px 14px 12px; }
label.check { font-weight:400; display:flex; gap:8px; align-items:baseline; }
input:focus, button:focus, a:focus { outline: 3px solid color-mix(in srgb, var(--accent) 40%, transparent); outline-offset: 1px; }
.actions { display:flex; gap:12px; margin-top:24px; flex-wrap: wrap; }
button, .button { flex:1; min-width:120px; padding:11px 16px; font:inherit; font-weight:600; border-radius:8px; cursor:pointer;
  border:1px solid var(--line); background:var(--card); color:var(--fg); text-align:center; text-decoration:none; }
button.primary { background:var(--accent); border-color:var(--accent); color:var(--accent-fg); }
button.danger { background:var(--danger); border-color:var(--danger); color:#fff; }
.error { background: color-mix(in srgb, var(--danger) 12%, transparent); border:1px solid var(--danger); color:var(--fg);
  border-radius:8px; padding:10px 12px; margin: 0 0 12px; }
.notice { background: var(--warn-bg); border:1px solid var(--line); border-radius:8px; padding:10px 12px; margin:12px 0; font-size:.95rem; }
.client { display:flex; align-items:center; gap:12px; margin-bottom: 16px; }
.client .badge { width:44px; height:44px; border-radius:10px; background:var(--accent); color:var(--accent-fg);
  display:flex; align-items:center; justify-content:center; font-weight:700; font-size:1.2rem; flex:none; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap: 6px 14px; margin: 8px 0 0; font-size:.95rem; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; overflow-wrap:anywhere; }
ul.scopes { list-style:none; padding:0; margin: 8px 0 0; }
ul.scopes li { padding:10px 12px; border:1px solid var(--line); border-radius:8px; margin-bottom:8px; }
ul.scopes code { font-size:.85rem; color:var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
small, .muted { color:var(--muted); }
table { width:100%; border-collapse: collapse; font-size:.93rem; }
/* break-word, not anywhere: "anywhere" lets a column shrink to one character, so on a phone tables
   crushed their columns into letter-high stacks instead of scrolling sideways in .table-wrap. */
th, td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line); vertical-align: top; overflow-wrap:break-word; }
th { color:var(--muted); font-weight:600; white-space:nowrap; }
/* Ids and URLs outside tables (a client id under its name) wrap rather than widen the page. */
p code, dd code, h1 code, .notice { overflow-wrap:anywhere; }
nav.top { display:flex; gap:16px; align-items:center; margin-bottom:16px; flex-wrap:wrap; }
nav.top a { color:var(--accent); text-decoration:none; font-weight:600; }
nav.top .spacer { flex:1; }
td .button, td button { flex:none; min-width:0; display:inline-block; padding:6px 12px; white-space:nowrap; }
/* Long ids and redirect URIs wrap inside their column (a nowrap URI pushed every other column of the
   clients list out of sight at 1100 px); a column never gets narrower than 6rem, so on a phone the
   table scrolls sideways in .table-wrap rather than stacking letters. */
td code { overflow-wrap:anywhere; }
th, td { min-width:6rem; }
main.wide nav.top { margin-top: 0; }
pre { background:var(--bg); border:1px solid var(--line); border-radius:8px; padding:12px; overflow:auto; font-size:.85rem; }
form.inline { display:inline; }
form.inline button { flex:none; min-width:0; padding:6px 10px; }
.table-wrap { overflow-x:auto; }
form.upstream { margin: 0 0 10px; }
button.wide { width:100%; }
p.divider { display:flex; align-items:center; gap:12px; color:var(--muted); margin: 18px 0 4px; font-size:.9rem; }
p.divider::before, p.divider::after { content:""; flex:1; border-top:1px solid var(--line); }
@media (max-width: 480px) { main { margin: 2vh auto; } .card { padding:20px; } .actions { flex-direction: column-reverse; } }
`;
