// protolab dashboard: fills the live parts of the page from one SSE stream
// (/events: "servers" and "run" snapshots) and sends the buttons' actions as POSTs
// carrying the page's CSRF token. No polling, no framework.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (sel, root = document) => root.querySelector(sel);

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function show(el, text) {
  if (!el) return;
  el.textContent = text || "";
  el.hidden = !text;
}

// POSTs JSON; resolves to the answer's JSON, or throws its error message.
async function post(url, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body ?? {}),
  });
  const text = await r.text();
  let json = {};
  try { json = JSON.parse(text); } catch (_) { json = { error: text.trim() }; }
  if (!r.ok) throw new Error(json.error || `${r.status} ${r.statusText}`);
  return json;
}

const num = (v, digits = 0) => (v === null || v === undefined) ? "—" : Number(v).toFixed(digits);
function bytes(v) {
  if (v === null || v === undefined) return "—";
  const mib = v / (1024 * 1024);
  return mib >= 1024 ? `${(mib / 1024).toFixed(2)} GiB` : `${mib.toFixed(1)} MiB`;
}

let runActive = false;
let lastServers = [];

function renderServers(servers) {
  lastServers = servers;
  const body = $("#servers tbody");
  if (!body) return;
  show($("#servers-paused"), runActive ? "Server control is paused while a run holds the lab." : "");
  body.innerHTML = servers.map(s => {
    const busy = ["starting", "stopping", "restarting"].includes(s.state);
    const running = s.state === "running";
    const dis = cond => (cond || busy || runActive) ? " disabled" : "";
    const note = s.note ? `<div class="error small">${esc(s.note)}</div>` : "";
    return `<tr data-server="${esc(s.name)}">
      <td><strong>${esc(s.name)}</strong>${note}</td>
      <td><span class="badge ${esc(s.state)}">${esc(s.state)}</span></td>
      <td>${s.ready ? "✔ ready" : "—"}</td>
      <td class="num">${num(s.cpu_percent, 1)}</td>
      <td class="num">${bytes(s.memory_bytes)}</td>
      <td class="num">${num(s.open_connections)}</td>
      <td class="small">${esc(s.ports)}</td>
      <td class="actions">
        <button data-action="start"${dis(running)}>start</button>
        <button data-action="stop"${dis(!running && s.state !== "exited")}>stop</button>
        <button data-action="restart"${dis(false)}>restart</button>
      </td></tr>`;
  }).join("");
}

function renderRun(run) {
  const panel = $("#run");
  if (!panel) return;
  const wasActive = runActive;
  runActive = run.state === "running";
  if (wasActive !== runActive) renderServers(lastServers);
  const stop = $("#stop-run");
  if (stop) stop.disabled = !runActive;
  const done = run.cases.filter(c => c.status !== "running").length;
  const head = run.state === "idle"
    ? `<p class="muted">No run yet. Pick what to run and press <em>Start run</em>.</p>`
    : `<p><span class="badge ${esc(run.state)}">${esc(run.state)}</span> ${esc(run.label)}
       <span class="muted">— ${done} of ${run.total || "?"} case(s) done</span></p>`;
  const rows = run.cases.map(c => `<tr class="${esc(c.status)}">
      <td>${esc(c.name)}</td><td><span class="badge ${esc(c.status)}">${esc(c.status)}</span></td>
      <td class="num" data-field="rps">${num(c.rps)}</td>
      <td class="num" data-field="p50">${num(c.p50_ms, 3)}</td>
      <td class="num" data-field="p99">${num(c.p99_ms, 3)}</td>
      <td class="num" data-field="requests">${num(c.requests)}</td>
      <td class="num">${num(c.errors)}</td>
      <td class="small">${esc(c.brief || "")}</td></tr>`).join("");
  const table = run.cases.length ? `<table class="grid live"><thead><tr><th>case</th><th>status</th>
      <th class="num">req/s</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th class="num">requests</th>
      <th class="num">errors</th><th>summary</th></tr></thead><tbody>${rows}</tbody></table>
      <p class="muted small">req/s, p50 and p99 of the last second while a case runs; the case's result once done.</p>` : "";
  const warnings = run.warnings.length
    ? `<h3>Validity warnings</h3><ul class="warnings">${run.warnings.map(w => `<li>${esc(w)}</li>`).join("")}</ul>` : "";
  const error = run.error ? `<p class="error">${esc(run.error)}</p>` : "";
  const link = run.run_id
    ? `<p class="done">Written to results/${esc(run.run_id)}: <a id="open-run" href="/runs/${encodeURIComponent(run.run_id)}">open the run's tables and charts →</a></p>` : "";
  panel.innerHTML = `<h2>Live run</h2>${head}${error}${table}${warnings}${link}`;
  const submit = $('#launch button[type="submit"]');
  if (submit) submit.disabled = runActive;
}

function connect() {
  if (!$("#servers") && !$("#run")) return;
  const status = $("#conn");
  const es = new EventSource("/events");
  es.addEventListener("servers", e => renderServers(JSON.parse(e.data)));
  es.addEventListener("run", e => renderRun(JSON.parse(e.data)));
  es.onopen = () => { status.textContent = "● live"; status.className = "ok"; };
  es.onerror = () => { status.textContent = "○ reconnecting…"; status.className = "muted"; };
}

function formParams(form) {
  const f = new FormData(form);
  const opt = name => { const v = (f.get(name) || "").toString().trim(); return v === "" ? undefined : v; };
  const int = name => opt(name) === undefined ? undefined : Number(opt(name));
  const mode = f.get("mode");
  const p = { mode, targets: f.getAll("targets"), repeat: int("repeat") };
  const endpoints = opt("endpoints");
  if (endpoints) p.endpoints = endpoints.split(",").map(s => s.trim()).filter(Boolean);
  if (mode === "suite") {
    p.suite = opt("suite");
  } else {
    Object.assign(p, { op: opt("op"), model: opt("model"), rate: int("rate"), connections: int("connections"), duration: opt("duration") });
  }
  return p;
}

function wireLaunch() {
  const form = $("#launch");
  if (!form) return;
  const error = $("#launch-error");
  const modes = () => {
    const mode = new FormData(form).get("mode");
    form.querySelectorAll("[data-mode]").forEach(d => { d.hidden = d.dataset.mode !== mode; });
    // A rate only means something to the open loop and the sweep.
    const rate = form.querySelector("[data-needs-rate]");
    if (rate) rate.hidden = new FormData(form).get("model") === "closed";
  };
  form.addEventListener("change", modes);
  modes();
  form.addEventListener("submit", async e => {
    e.preventDefault();
    show(error, "");
    try { await post("/api/runs", formParams(form)); } catch (err) { show(error, err.message); }
  });
  $("#stop-run").addEventListener("click", async () => {
    show(error, "");
    try { await post("/api/runs/stop"); } catch (err) { show(error, err.message); }
  });
}

function wireServers() {
  const table = $("#servers");
  if (!table) return;
  table.addEventListener("click", async e => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const name = b.closest("tr").dataset.server;
    b.disabled = true;
    try {
      await post(`/api/servers/${encodeURIComponent(name)}/${b.dataset.action}`);
      show($("#flash"), "");
    } catch (err) {
      show($("#flash"), `${name}: ${err.message}`);
    }
  });
}

function wireReseed() {
  const form = $("#reseed");
  if (!form) return;
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const items = Number(new FormData(form).get("items"));
    const status = $("#reseed-status"), error = $("#reseed-error");
    show(error, "");
    show(status, `Seeding ${items} items and restarting the servers…`);
    form.querySelector("button").disabled = true;
    try {
      await post("/api/reseed", { items });
      location.reload();
    } catch (err) {
      show(status, "");
      show(error, err.message);
    } finally {
      form.querySelector("button").disabled = false;
    }
  });
}

connect();
wireLaunch();
wireServers();
wireReseed();
