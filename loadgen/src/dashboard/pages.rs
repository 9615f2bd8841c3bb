//! The live pages, rendered on the server: the shell every page shares (navigation,
//! the CSRF token, the message area), the servers-and-run page and the engineering
//! page. Live parts (server rows, run progress) are filled by assets/app.js from
//! the SSE snapshots. Every interpolated string goes through [`esc`].

use super::state::{server_names, AppState};

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Which navigation entry is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Lab,
    Results,
    Engineering,
}

/// A whole page: `body` inside the shared shell.
pub fn layout(title: &str, tab: Tab, csrf: &str, body: &str) -> String {
    let nav = [
        (Tab::Lab, "/", "Servers &amp; runs"),
        (Tab::Results, "/runs", "Results"),
        (Tab::Engineering, "/engineering", "Engineering"),
    ]
    .iter()
    .map(|(t, href, label)| {
        let current = if *t == tab {
            " aria-current=\"page\""
        } else {
            ""
        };
        format!("<a href=\"{href}\"{current}>{label}</a>")
    })
    .collect::<String>();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"csrf-token\" content=\"{csrf}\">\
<title>{title} · protolab</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
<body><header><strong>protolab</strong><nav>{nav}</nav><span id=\"conn\" class=\"muted\"></span></header>\
<main><div id=\"flash\" role=\"alert\" hidden></div>{body}</main>\
<script src=\"/assets/app.js\"></script></body></html>\n",
        csrf = esc(csrf),
        title = esc(title),
    )
}

/// An error page (4xx/5xx) in the same shell.
pub fn error_page(csrf: &str, message: &str) -> String {
    let body = format!(
        "<h1>Not here</h1><p class=\"error\">{}</p><p><a href=\"/\">Back to the lab</a></p>",
        esc(message)
    );
    layout("error", Tab::Lab, csrf, &body)
}

/// The servers table, the run form and the live run.
pub fn index(state: &AppState) -> String {
    let mode = match &state.servers {
        super::state::Servers::Local(_) => "local child processes on loopback".to_string(),
        super::state::Servers::Docker(d) => match &d.controller {
            Ok(c) => format!("compose project {} (Docker)", c.project()),
            Err(e) => format!("no Docker controller, status only: {e}"),
        },
    };
    let mode = esc(&mode);
    let targets: String = server_names()
        .iter()
        .map(|n| {
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"targets\" value=\"{n}\" checked> {n}</label>",
                n = esc(n)
            )
        })
        .collect();
    let ops: String = ["get_item", "ping", "list_items", "echo", "score"]
        .iter()
        .map(|o| format!("<option>{o}</option>"))
        .collect();
    let body = format!(
        r#"<section><h2>Servers <small class="muted">{mode}</small></h2>
<table id="servers" class="grid"><thead><tr><th>server</th><th>state</th><th>ready</th><th class="num">CPU %</th><th class="num">memory</th><th class="num">open conns</th><th>ports</th><th>control</th></tr></thead>
<tbody><tr><td colspan="8" class="muted">connecting…</td></tr></tbody></table>
<p id="servers-paused" class="muted small" hidden></p></section>
<section class="cols">
<form id="launch" class="card"><h2>Launch a run</h2>
<fieldset><legend>What</legend>
<label class="check"><input type="radio" name="mode" value="custom" checked> one case</label>
<label class="check"><input type="radio" name="mode" value="suite"> a suite</label>
<div data-mode="suite" hidden><label>suite <select name="suite"><option>quick</option><option>full</option></select></label>
<p class="muted">quick: every op on every endpoint, a few minutes; full: much longer.</p></div>
<div data-mode="custom">
<label>op <select name="op">{ops}</select></label>
<label>load model <select name="model"><option value="closed">closed loop (as fast as answered)</option><option value="open">open loop (fixed rate)</option><option value="sweep">sweep (rate steps to the knee)</option></select></label>
<label data-needs-rate>rate, req/s <input name="rate" type="number" min="1" step="any" value="1000"> <span class="muted small">open loop: fixed; sweep: first step</span></label>
<label>connections <input name="connections" type="number" min="1" max="10000" value="16"></label>
<label>duration <input name="duration" value="5s" size="6"></label>
</div>
<label>repetitions <input name="repeat" type="number" min="1" max="20" value="1"></label>
</fieldset>
<fieldset><legend>Targets</legend>{targets}
<label>only endpoints <input name="endpoints" placeholder="e.g. rest-h1,grpc (optional)"></label></fieldset>
<p><button type="submit">Start run</button> <button type="button" id="stop-run" class="secondary">Stop run</button></p>
<p id="launch-error" class="error" hidden></p>
</form>
<section id="run" class="card"><h2>Live run</h2><p class="muted">connecting…</p></section>
</section>"#,
    );
    layout("lab", Tab::Lab, state.guard.csrf(), &body)
}

/// Re-seeding and each server's configuration.
pub fn engineering(state: &AppState) -> String {
    let mut body = String::from("<h1>Engineering</h1>");
    match (state.servers.items(), state.servers.files()) {
        (Some(items), Some((db, certs))) => body.push_str(&format!(
            r#"<section class="card"><h2>Dataset</h2>
<p>{items} items in <code>{db}</code>; certificates in <code>{certs}</code>.</p>
<form id="reseed"><label>items <input name="items" type="number" min="1" max="10000000" value="{items}"></label>
<button type="submit">Re-seed and restart the servers</button></form>
<p id="reseed-status" class="muted" hidden></p><p id="reseed-error" class="error" hidden></p></section>"#,
            db = esc(&db.display().to_string()),
            certs = esc(&certs.display().to_string()),
        )),
        _ => body.push_str(&format!(
            r#"<section class="card"><h2>Dataset</h2>
<p>The compose lab's dataset is in the <code>dataset</code> volume, written by its <code>seed</code> service.
Re-seeding runs a one-off container of that service with the new count, then restarts the running servers on it.</p>
<form id="reseed"><label>items <input name="items" type="number" min="1" max="10000000" value="{items}"></label>
<button type="submit">Re-seed and restart the servers</button></form>
<p id="reseed-status" class="muted" hidden></p><p id="reseed-error" class="error" hidden></p></section>"#,
            items = state.servers.items().unwrap_or(protolab_core::dataset::DEFAULT_ITEMS)
        )),
    }
    body.push_str("<section><h2>Server configuration</h2>");
    for info in state.servers.infos() {
        let rows: String = info
            .config
            .iter()
            .map(|(k, v)| {
                format!(
                    "<tr><th>{}</th><td><code>{}</code></td></tr>",
                    esc(k),
                    esc(v)
                )
            })
            .collect();
        let pid = info.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
        let detail = if rows.is_empty() {
            let why = info.note.as_deref().unwrap_or("not running");
            format!("<p class=\"muted\">{}</p>", esc(why))
        } else {
            format!("<table class=\"kv\">{rows}</table>")
        };
        body.push_str(&format!(
            "<details open><summary><strong>{}</strong> <span class=\"muted\">{}{}</span></summary>{detail}</details>",
            esc(&info.name),
            esc(&info.ports),
            pid
        ));
    }
    body.push_str("</section>");
    layout("engineering", Tab::Engineering, state.guard.csrf(), &body)
}
