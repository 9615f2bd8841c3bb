//! report.html: report.md rendered to HTML (pulldown-cmark, tables on) with every
//! chart embedded as a data: URI and a small stylesheet, so the one file can be
//! mailed or archived. The document's content is report.md's, never re-derived;
//! the answer (the page's first table: workload, leader and verdict kept on one
//! line) and its charts (one paragraph of several images) side by side.

use base64::Engine;
use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

use super::chart::Chart;
use super::CHART_DIR;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;\
max-width:1280px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}\
h1{font-size:1.6em;margin:0.3em 0}\
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}\
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right;vertical-align:top}\
th:first-child,td:first-child,td:last-child,th:last-child{text-align:left}\
tr:nth-child(even){background:#f6f8fa}\
table:first-of-type td:is(:nth-child(1),:nth-child(2),:nth-child(4)){white-space:nowrap}\
img{max-width:100%;height:auto;border:1px solid #eee;margin:0.5em 0}\
p:has(>img+img){display:flex;flex-wrap:wrap;gap:0.6em;align-items:flex-start}\
p:has(>img+img)>img{max-width:calc(50% - 0.3em);margin:0}\
code{background:#f3f3f3;padding:0 0.2em;border-radius:3px}\
h2{border-bottom:1px solid #ddd;padding-bottom:0.2em;margin-top:1.6em}";

/// The HTML page of `markdown`, images `charts/<id>.png` replaced by `drawn`'s bytes.
pub fn document(title: &str, markdown: &str, drawn: &[(Chart, Vec<u8>)]) -> String {
    let uri = |dest: &str| -> Option<String> {
        let id = dest
            .strip_prefix(CHART_DIR)?
            .strip_prefix('/')?
            .strip_suffix(".png")?;
        let (_, png) = drawn.iter().find(|(c, _)| c.id == id)?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(png);
        Some(format!("data:image/png;base64,{b64}"))
    };
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|e| match e {
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = uri(&dest_url).map_or(dest_url, CowStr::from);
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        other => other,
    });
    let mut body = String::new();
    html::push_html(&mut body, events);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// `s` safe inside HTML text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}
