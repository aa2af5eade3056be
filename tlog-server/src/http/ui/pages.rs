//! The explorer's HTML. One inline stylesheet, no scripts, no external
//! assets: the pages work offline and without JavaScript. maud escapes every
//! value interpolated into the markup.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::EntryRow;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;\
padding:0 1rem;color:#1b1f24}h1 a{color:inherit;text-decoration:none}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;\
border-bottom:1px solid #d0d7de;vertical-align:top}code,pre{font-size:.85rem;\
overflow-wrap:anywhere}pre{background:#f6f8fa;padding:.75rem;white-space:pre-wrap}\
form{margin:1rem 0}input[type=search]{width:70%;padding:.4rem}.ok{color:#1a7f37}\
.bad{color:#cf222e}svg{background:#f6f8fa}";

/// What the entry page shows.
pub(crate) struct Entry<'a> {
    pub(crate) index: u64,
    pub(crate) uuid: String,
    pub(crate) entry_id: String,
    pub(crate) kind: String,
    pub(crate) time: String,
    pub(crate) signers: &'a [shared::entry::signers::Signer],
    pub(crate) tree_size: u64,
    pub(crate) root: String,
    pub(crate) proof: Vec<String>,
    pub(crate) verified: bool,
    pub(crate) body: String,
}

pub(crate) fn log(
    size: u64,
    root: &str,
    checkpoint: &str,
    recent: &[EntryRow],
    per_hour: &[u64; 24],
) -> Markup {
    layout(
        "Transparency log",
        html! {
            p { "Entries: " strong { (size) } " · root hash " code { (root) } }
            h2 { "Signed checkpoint" }
            pre { (checkpoint) }
            h2 { "Entries per hour, last 24 hours" }
            (chart(per_hour))
            h2 { "Latest entries" }
            (entry_table(recent))
        },
    )
}

pub(crate) fn search(query: &str, total: usize, rows: &[EntryRow]) -> Markup {
    layout(
        "Search",
        html! {
            p {
                (total) " entries match " code { (query) }
                @if total > rows.len() { " (the latest " (rows.len()) " shown)" }
            }
            (entry_table(rows))
        },
    )
}

pub(crate) fn not_found(index: u64) -> Markup {
    layout(
        "Not found",
        html! { p { "The log has no entry " (index) "." } },
    )
}

pub(crate) fn entry(e: &Entry<'_>) -> Markup {
    layout(
        &format!("Entry {}", e.index),
        html! {
            table {
                tr { th { "Log index" } td { (e.index) } }
                tr { th { "UUID" } td { code { (e.uuid) } } }
                tr { th { "Entry ID" } td { code { (e.entry_id) } } }
                tr { th { "Kind" } td { (e.kind) } }
                tr { th { "Integrated time" } td { (e.time) } }
            }
            @for (i, s) in e.signers.iter().enumerate() {
                h2 { "Signer " (i + 1) }
                table {
                    @for san in &s.sans { tr { th { "Subject alternative name" } td { (san) } } }
                    @if let Some(issuer) = &s.issuer_dn { tr { th { "Certificate issuer" } td { (issuer) } } }
                    @if let Some((from, to)) = &s.validity {
                        tr { th { "Valid" } td { (from) " to " (to) } }
                    }
                    @for (name, value) in &s.extensions { tr { th { (name) } td { (value) } } }
                    tr { th { "Key fingerprint (SHA-256 of SPKI)" } td { code { (s.key_fingerprint) } } }
                }
            }
            h2 { "Inclusion proof" }
            @if e.verified {
                p.ok { "Verified: the entry is leaf " (e.index) " of the current tree of "
                    (e.tree_size) " entries, root " code { (e.root) } "." }
            } @else {
                p.bad { "The inclusion proof does NOT verify against the current checkpoint." }
            }
            @if !e.proof.is_empty() {
                details { summary { (e.proof.len()) " hashes, leaf to root" }
                    ol { @for h in &e.proof { li { code { (h) } } } } }
            }
            h2 { "Body" }
            p { a href={ "/ui/entry/" (e.index) "/body.json" } download { "Download the canonical body" } }
            pre { (e.body) }
        },
    )
}

fn entry_table(rows: &[EntryRow]) -> Markup {
    html! {
        table {
            tr { th { "Index" } th { "Kind" } th { "Integrated" } th { "UUID" } }
            @for r in rows {
                tr {
                    td { a href={ "/ui/entry/" (r.index) } { (r.index) } }
                    td { (r.kind) }
                    td { (r.time) }
                    td { code { (r.uuid) } }
                }
            }
        }
    }
}

/// 24 bars, oldest hour on the left, scaled to the busiest hour.
fn chart(per_hour: &[u64; 24]) -> Markup {
    let max = per_hour.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, bar) = (480u64, 120u64, 20u64);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height=(h + 16)
            role="img" aria-label="entries per hour" {
            @for (i, n) in per_hour.iter().enumerate() {
                @let height = n * h / max;
                rect x=(i as u64 * bar + 1) y=(h - height) width=(bar - 2) height=(height) fill="#0969da" {
                    title { (n) " entries, " (23 - i) " to " (24 - i) " hours ago" }
                }
            }
            text x="0" y=(h + 14) font-size="11" { "24 h ago" }
            text x=(w - 30) y=(h + 14) font-size="11" { "now" }
            text x=(w - 60) y="12" font-size="11" { "max " (max) }
        }
    }
}

fn layout(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Sigil" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { a href="/ui" { "Sigil log explorer" } }
                form action="/ui/search" method="get" {
                    input type="search" name="q" placeholder="email, SAN, artifact hash, UUID, log index, key hash" aria-label="search";
                    " "
                    button type="submit" { "Search" }
                }
                h2 { (title) }
                (content)
            }
        }
    }
}
