/**
 * The console's page and style (served by ./routes.ts). The page carries no data and no secret:
 * everything comes from the API once the script runs, with the operator's token. No inline script
 * or style (the CSP forbids both); state is shown by text and shape as well as colour.
 */

export function consoleHtml(built: boolean): string {
  const script = built
    ? '<script type="module" src="/console/main.js"></script>'
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sluice — maintenance console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css">
${script}
</head>
<body>
<header class="top">
  <h1>Sluice <small>maintenance console</small></h1>
  <span id="conn" class="conn" role="status">${built ? 'starting…' : 'the console scripts are not built: run npm run build'}</span>
  <span id="summary" class="summary"></span>
  <form id="token-form" class="token-form" autocomplete="off">
    <label for="token">API token</label>
    <input id="token" name="token" type="password" spellcheck="false" placeholder="(none needed without --api-token)">
    <button type="submit" id="token-use">Use token</button>
    <button type="button" id="token-forget">Forget</button>
  </form>
</header>
<div id="alert" class="alert" role="alert" hidden></div>
<main class="layout">
  <section class="racks-section" aria-labelledby="racks-h">
    <div class="bar-row">
      <h2 id="racks-h">Racks</h2>
      <label><input type="checkbox" id="only-maint"> only hosts in maintenance</label>
      <input id="host-filter" type="search" placeholder="filter hosts" aria-label="filter hosts">
      <span class="legend" aria-label="legend">
        <span class="tile-badge s-UP">● UP</span><span class="tile-badge s-SCHEDULED">◷ SCHEDULED</span><span class="tile-badge s-DRAINING">◐ DRAINING</span><span class="tile-badge s-DRAINED">◯ DRAINED</span><span class="tile-badge s-DOWN">■ DOWN</span>
      </span>
    </div>
    <div id="racks" class="racks" aria-live="off"></div>
  </section>
  <aside class="side">
    <section aria-labelledby="start-h" class="panel">
      <h2 id="start-h">Start maintenance</h2>
      <form id="start-form" class="start-form" autocomplete="off">
        <label>Hosts <input id="start-hosts" placeholder="h1,h2 (or select racks)"></label>
        <label>Racks <input id="start-racks" placeholder="rack-1,rack-2"></label>
        <label>Window start <input id="start-window" value="now" placeholder="now, +10m, ISO time"></label>
        <label>Duration <input id="start-duration" value="2h" placeholder="2h, 30m"></label>
        <label>Group by <select id="start-group"><option value="rack">rack</option><option value="host">host</option></select></label>
        <label>Max parallel <input id="start-parallel" type="number" min="1" placeholder="(all)"></label>
        <label>Timeout <input id="start-timeout" placeholder="e.g. 1h (none)"></label>
        <label>Reason <input id="start-reason" placeholder="why (kept in the audit trail)"></label>
        <button type="submit" id="start-preview">Preview (dry run)</button>
      </form>
      <div id="preview" class="preview" hidden></div>
    </section>
    <section aria-labelledby="req-h" class="panel">
      <h2 id="req-h">Requests</h2>
      <div id="requests"><p class="muted">No maintenance in progress.</p></div>
    </section>
    <section aria-labelledby="detail-h" class="panel" id="detail-panel" hidden>
      <h2 id="detail-h">Host <span id="detail-name"></span> <button type="button" id="detail-close" aria-label="close">×</button></h2>
      <div id="detail"></div>
    </section>
    <section aria-labelledby="sla-h" class="panel">
      <h2 id="sla-h">SLA budgets</h2>
      <table class="sla"><thead><tr><th>job</th><th>up / required</th><th>may go</th><th>in flight</th></tr></thead><tbody id="sla-body"></tbody></table>
    </section>
    <section aria-labelledby="tl-h" class="panel">
      <h2 id="tl-h">Events</h2>
      <ol id="timeline" class="timeline"></ol>
    </section>
  </aside>
</main>
</body>
</html>
`;
}

export const CONSOLE_CSS = `
:root { --bg:#f6f7f9; --fg:#1b1f24; --muted:#5c6670; --line:#d0d5db;
  --up:#e7f5ea; --up-b:#2e7d32; --sch:#e3edfb; --sch-b:#1f5fbf; --drn:#fff1d6; --drn-b:#a35a00;
  --dnd:#efe6fa; --dnd-b:#6a1b9a; --down:#fbe3e3; --down-b:#b71c1c; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.35 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
h1 { font-size:16px; margin:0; } h1 small { font-weight:normal; color:var(--muted); }
h2 { font-size:13px; margin:0 0 6px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.top { display:flex; gap:16px; align-items:center; padding:8px 12px; background:#fff; border-bottom:1px solid var(--line); flex-wrap:wrap; }
.conn { padding:2px 8px; border-radius:10px; background:#eee; }
.conn.live { background:var(--up); color:var(--up-b); } .conn.bad { background:var(--down); color:var(--down-b); }
.summary { color:var(--muted); }
.token-form { margin-left:auto; display:flex; gap:6px; align-items:center; }
.alert { margin:8px 12px; padding:8px 12px; border:1px solid var(--down-b); background:var(--down); color:var(--down-b); white-space:pre-wrap; }
.alert.ok { border-color:var(--up-b); background:var(--up); color:var(--up-b); }
.layout { display:grid; grid-template-columns: minmax(0,1fr) 420px; grid-template-rows: minmax(0,1fr); gap:12px; padding:12px; height:calc(100vh - 60px); }
.racks-section { min-width:0; min-height:0; display:flex; flex-direction:column; }
.racks { min-height:0; }
.bar-row { display:flex; gap:12px; align-items:center; flex-wrap:wrap; margin-bottom:6px; }
.legend { display:flex; gap:4px; flex-wrap:wrap; }
.racks { flex:1; overflow:auto; display:flex; flex-wrap:wrap; align-content:flex-start; gap:8px; }
.rack { width:150px; background:#fff; border:1px solid var(--line); border-radius:4px; contain:content; }
.rack-h { padding:4px 6px; border-bottom:1px solid var(--line); font-weight:600; position:sticky; top:0; background:#fff; }
.rack-h .counts { display:block; font-weight:normal; color:var(--muted); font-size:11px; }
.rack-b { padding:4px; display:flex; flex-direction:column; gap:3px; min-height:20px; }
.rack-b.placeholder { color:var(--muted); font-size:11px; }
.tile, .tile-badge { border:1px solid; border-radius:3px; padding:2px 4px; cursor:pointer; }
.tile { display:grid; grid-template-columns: 1fr auto; gap:0 4px; font-size:11px; contain:layout style; }
.tile:focus { outline:2px solid #000; }
.tile .hn { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.tile .st { font-weight:700; font-size:10px; }
.tile .tl { color:var(--muted); }
.tile progress { grid-column: 1 / span 2; width:100%; height:5px; }
.tile-badge { font-size:11px; cursor:default; }
.s-UP { background:var(--up); border-color:var(--up-b); }
.s-SCHEDULED { background:var(--sch); border-color:var(--sch-b); border-style:dashed; }
.s-DRAINING { background:var(--drn); border-color:var(--drn-b); border-width:2px; }
.s-DRAINED { background:var(--dnd); border-color:var(--dnd-b); border-style:double; border-width:3px; }
.s-DOWN { background:var(--down); border-color:var(--down-b); border-width:2px; }
.s-UP .st { color:var(--up-b); } .s-SCHEDULED .st { color:var(--sch-b); } .s-DRAINING .st { color:var(--drn-b); }
.s-DRAINED .st { color:var(--dnd-b); } .s-DOWN .st { color:var(--down-b); }
.only-maint .tile.s-UP { display:none; }
.tile.filtered { display:none; }
.side { overflow:auto; display:flex; flex-direction:column; gap:12px; }
.panel { background:#fff; border:1px solid var(--line); border-radius:4px; padding:8px; }
.start-form { display:grid; grid-template-columns: 1fr 1fr; gap:4px 8px; }
.start-form label { display:flex; flex-direction:column; font-size:11px; color:var(--muted); }
.start-form button { grid-column: 1 / span 2; }
.preview { margin-top:8px; border-top:1px solid var(--line); padding-top:6px; }
.preview ul, .req ul { margin:4px 0; padding-left:18px; }
.req { border:1px solid var(--line); border-radius:4px; padding:6px; margin-bottom:6px; }
.req-h { display:flex; justify-content:space-between; gap:6px; font-weight:600; }
.req progress { width:100%; }
.muted { color:var(--muted); }
.actions { display:flex; gap:6px; margin-top:4px; flex-wrap:wrap; }
.confirm { background:#fffbe6; border:1px solid #c9a400; padding:4px; margin-top:4px; }
table.sla { width:100%; border-collapse:collapse; font-size:12px; }
table.sla td, table.sla th { text-align:left; padding:2px 4px; border-bottom:1px solid var(--line); }
tr.below td { color:var(--down-b); font-weight:600; }
.timeline { list-style:none; padding:0; margin:0; max-height:300px; overflow:auto; font-size:11px; }
.timeline li { padding:2px 0; border-bottom:1px dotted var(--line); }
.timeline .k { font-weight:600; }
#detail dl { display:grid; grid-template-columns:auto 1fr; gap:2px 8px; margin:0; }
#detail dt { color:var(--muted); }
#detail-close { float:right; }
button { font:inherit; padding:2px 8px; }
button.danger { border-color:var(--down-b); color:var(--down-b); }
`;
