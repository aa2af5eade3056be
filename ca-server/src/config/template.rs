//! The part of Go's `text/template` (https://pkg.go.dev/text/template) that
//! Fulcio's `CIIssuerMetadata` templates use, executed over a
//! `map[string]string` with `missingkey=error`: literal text, `{{ .key }}`,
//! `{{ index . "key" }}` (parenthesised or not), string literals,
//! `{{ if COND }}…{{ else }}…{{ end }}` where COND is an operand or
//! `eq A B…`, and `{{-`/`-}}` trim markers. Anything else is refused when the
//! configuration loads, so an unsupported template never reaches a request.

use std::collections::BTreeMap;

/// Why a template did not parse (at load) or execute (per request).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("template {template:?}: {reason}")]
    Parse { template: String, reason: String },
    #[error("map has no entry for key {0:?}")]
    MissingKey(String),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Print(Operand),
    If {
        cond: Cond,
        then: Vec<Self>,
        otherwise: Vec<Self>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cond {
    Truthy(Operand),
    /// `eq a b c…`: a equals any of the rest.
    Eq(Operand, Vec<Operand>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Operand {
    /// `.key`: missing keys are an error.
    Field(String),
    /// `index . "key"`: missing keys give "" (Go's zero value).
    Index(String),
    Literal(String),
}

/// One lexed action or text run.
enum Piece {
    Text(String),
    Action(String),
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let fail = |reason: String| TemplateError::Parse {
            template: source.to_owned(),
            reason,
        };
        let pieces = lex(source).map_err(fail)?;
        let mut iter = pieces.into_iter();
        let (nodes, end) = parse_nodes(&mut iter).map_err(fail)?;
        if let Some(end) = end {
            return Err(fail(format!("unexpected {{{{{end}}}}}")));
        }
        Ok(Self {
            source: source.to_owned(),
            nodes,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn execute(&self, data: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        let mut out = String::new();
        run(&self.nodes, data, &mut out)?;
        Ok(out)
    }
}

fn lex(source: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = source;
    let mut trim_next_text = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next_text {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "unclosed action (missing \"}}\")".to_owned())?;
        let mut action = &after[..end];
        if let Some(stripped) = action.strip_prefix("- ") {
            text = text.trim_end();
            action = stripped;
        }
        trim_next_text = false;
        if let Some(stripped) = action.strip_suffix(" -") {
            trim_next_text = true;
            action = stripped;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_owned()));
        }
        pieces.push(Piece::Action(action.trim().to_owned()));
        rest = &after[end + 2..];
    }
    let text = if trim_next_text {
        rest.trim_start()
    } else {
        rest
    };
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_owned()));
    }
    Ok(pieces)
}

/// Parses until the input ends or an `else`/`end` action, which is returned.
fn parse_nodes(
    pieces: &mut impl Iterator<Item = Piece>,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.next() {
        let action = match piece {
            Piece::Text(text) => {
                nodes.push(Node::Text(text));
                continue;
            }
            Piece::Action(action) => action,
        };
        if action == "else" || action == "end" {
            return Ok((nodes, Some(action)));
        }
        if let Some(cond) = action.strip_prefix("if ") {
            let cond = parse_cond(cond)?;
            let (then, end) = parse_nodes(pieces)?;
            let otherwise = match end.as_deref() {
                Some("end") => Vec::new(),
                Some("else") => match parse_nodes(pieces)? {
                    (nodes, Some(end)) if end == "end" => nodes,
                    _ => return Err("{{else}} without a matching {{end}}".into()),
                },
                _ => return Err("{{if}} without a matching {{end}}".into()),
            };
            nodes.push(Node::If {
                cond,
                then,
                otherwise,
            });
            continue;
        }
        if action.starts_with("/*") {
            continue; // a comment
        }
        let words = words(&action)?;
        nodes.push(Node::Print(operand(&words)?));
    }
    Ok((nodes, None))
}

fn parse_cond(text: &str) -> Result<Cond, String> {
    let words = words(text)?;
    match words.first().map(String::as_str) {
        Some("eq") => {
            let args = split_operands(&words[1..])?;
            let mut args = args.into_iter();
            let first = args
                .next()
                .ok_or_else(|| "eq needs at least two arguments".to_owned())?;
            let rest: Vec<Operand> = args.collect();
            if rest.is_empty() {
                return Err("eq needs at least two arguments".into());
            }
            Ok(Cond::Eq(first, rest))
        }
        _ => Ok(Cond::Truthy(operand(&words)?)),
    }
}

/// Splits an argument list into operands: `index . "k"` takes three words,
/// a parenthesised group one word, anything else one word.
fn split_operands(words: &[String]) -> Result<Vec<Operand>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "index" {
            let end = (i + 3).min(words.len());
            out.push(operand(&words[i..end])?);
            i = end;
        } else {
            out.push(operand(&words[i..=i])?);
            i += 1;
        }
    }
    Ok(out)
}

/// One operand from its words.
fn operand(words: &[String]) -> Result<Operand, String> {
    match words {
        [word] if word.starts_with('(') && word.ends_with(')') && word.len() >= 2 => {
            operand(&self::words(&word[1..word.len() - 1])?)
        }
        [word] if word.starts_with('"') || word.starts_with('`') => Ok(Operand::Literal(
            unquote(word).ok_or_else(|| format!("bad string literal {word}"))?,
        )),
        [word] if word.starts_with('.') && word.len() > 1 => {
            let key = &word[1..];
            if key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                Ok(Operand::Field(key.to_owned()))
            } else {
                Err(format!(
                    "unsupported field reference {word} (use index . \"key\" for such keys)"
                ))
            }
        }
        [index, dot, key] if index == "index" && dot == "." => Ok(Operand::Index(
            unquote(key).ok_or_else(|| format!("index key must be a string literal, not {key}"))?,
        )),
        _ => Err(format!(
            "unsupported template construct {:?}: only .key, index . \"key\", string literals, if/else/end and eq are supported",
            words.join(" ")
        )),
    }
}

/// Splits on whitespace, keeping string literals and parenthesised groups whole.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("unterminated string literal".into());
                }
                i += 1;
            }
            '`' => {
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("unterminated raw string".into());
                }
                i += 1;
            }
            '(' => {
                let mut depth = 0;
                while i < chars.len() {
                    match chars[i] {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        '"' => {
                            i += 1;
                            while i < chars.len() && chars[i] != '"' {
                                if chars[i] == '\\' {
                                    i += 1;
                                }
                                i += 1;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
                if depth != 0 {
                    return Err("unbalanced parentheses".into());
                }
            }
            _ => {
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
            }
        }
        out.push(chars[start..i].iter().collect());
    }
    Ok(out)
}

fn unquote(word: &str) -> Option<String> {
    if let Some(raw) = word.strip_prefix('`').and_then(|w| w.strip_suffix('`')) {
        return Some(raw.to_owned());
    }
    let inner = word.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn run(
    nodes: &[Node],
    data: &BTreeMap<String, String>,
    out: &mut String,
) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Print(op) => out.push_str(&eval(op, data)?),
            Node::If {
                cond,
                then,
                otherwise,
            } => {
                let holds = match cond {
                    Cond::Truthy(op) => !eval(op, data)?.is_empty(),
                    Cond::Eq(first, rest) => {
                        let first = eval(first, data)?;
                        let mut any = false;
                        for op in rest {
                            any |= eval(op, data)? == first;
                        }
                        any
                    }
                };
                run(if holds { then } else { otherwise }, data, out)?;
            }
        }
    }
    Ok(())
}

fn eval(op: &Operand, data: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    match op {
        Operand::Field(key) => data
            .get(key)
            .cloned()
            .ok_or_else(|| TemplateError::MissingKey(key.clone())),
        Operand::Index(key) => Ok(data.get(key).cloned().unwrap_or_default()),
        Operand::Literal(s) => Ok(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn render(t: &str, d: &[(&str, &str)]) -> Result<String, TemplateError> {
        Template::parse(t).unwrap().execute(&data(d))
    }

    #[test]
    fn fields_and_text() {
        assert_eq!(
            render(
                "{{ .url }}/{{ .repository }}/actions/runs/{{.run_id}}",
                &[
                    ("url", "https://github.com"),
                    ("repository", "o/r"),
                    ("run_id", "7")
                ]
            )
            .unwrap(),
            "https://github.com/o/r/actions/runs/7"
        );
        assert_eq!(render("no actions", &[]).unwrap(), "no actions");
        // missingkey=error
        assert_eq!(
            render("{{ .url }}/{{ .nope }}", &[("url", "u")]).unwrap_err(),
            TemplateError::MissingKey("nope".into())
        );
    }

    #[test]
    fn gitlab_ref_conditional() {
        let t = r#"refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}"#;
        assert_eq!(
            render(t, &[("ref_type", "branch"), ("ref", "main")]).unwrap(),
            "refs/heads/main"
        );
        assert_eq!(
            render(t, &[("ref_type", "tag"), ("ref", "v1")]).unwrap(),
            "refs/tags/v1"
        );
        assert!(render(t, &[("ref", "v1")]).is_err());
    }

    #[test]
    fn index_with_dotted_keys() {
        let t = r#"{{.api_url}}/pipeline/{{(index . "oidc.circleci.com/pipeline-id")}}/config"#;
        assert_eq!(
            render(
                t,
                &[
                    ("api_url", "https://a"),
                    ("oidc.circleci.com/pipeline-id", "p1")
                ]
            )
            .unwrap(),
            "https://a/pipeline/p1/config"
        );
        let t = r#"{{if eq (index . "oidc.circleci.com/ssh-rerun") "true"}}ssh-rerun{{ else }}""{{end}}"#;
        assert_eq!(
            render(t, &[("oidc.circleci.com/ssh-rerun", "true")]).unwrap(),
            "ssh-rerun"
        );
        assert_eq!(render(t, &[]).unwrap(), "\"\"");
    }

    #[test]
    fn trim_markers_and_refusals() {
        assert_eq!(render("a  {{- .x -}}  b", &[("x", "X")]).unwrap(), "aXb");
        for bad in [
            "{{ .a",
            "{{ if .a }}x",
            "{{ end }}",
            "{{ printf \"%s\" .a }}",
            "{{ .a | html }}",
            "{{ .a.b }}",
            "{{ range .a }}{{ end }}",
        ] {
            assert!(
                matches!(Template::parse(bad), Err(TemplateError::Parse { .. })),
                "{bad}"
            );
        }
    }
}
