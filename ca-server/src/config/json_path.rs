//! The JSONPath subset Fulcio's `IssuerClaim` setting uses to pick the
//! issuer recorded in a certificate out of a token's claims
//! (docs/fulcio-wire.md §4): `$` followed by `.name`, `['name']` or `[index]`
//! steps.

use serde_json::{Map, Value};

/// A parsed JSONPath of member names and array indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath(Vec<Step>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Member(String),
    Index(usize),
}

impl JsonPath {
    pub fn parse(path: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("unsupported JSONPath {path:?}: {why}");
        let mut rest = path
            .strip_prefix('$')
            .ok_or_else(|| bad("must start with $"))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err(bad("empty member name"));
                }
                steps.push(Step::Member(name.to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| bad("unclosed ["))?;
                let inner = after[..end].trim();
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                if let Some(name) = quoted {
                    steps.push(Step::Member(name.to_owned()));
                } else {
                    let index = inner
                        .parse()
                        .map_err(|_| bad("brackets hold a quoted name or an index"))?;
                    steps.push(Step::Index(index));
                }
                rest = &after[end + 1..];
            } else {
                return Err(bad("expected . or ["));
            }
        }
        if steps.is_empty() {
            return Err(bad("selects the whole token"));
        }
        Ok(Self(steps))
    }

    /// The selected value, if present.
    pub fn get<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut steps = self.0.iter();
        let mut current = match steps.next()? {
            Step::Member(name) => claims.get(name)?,
            Step::Index(_) => return None,
        };
        for step in steps {
            current = match (step, current) {
                (Step::Member(name), Value::Object(map)) => map.get(name)?,
                (Step::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_paths() {
        let claims = json!({"federated_claims": {"connector_id": "https://github.com/login/oauth",
            "user_id": "1"}, "list": ["a", "b"], "a.b": "dotted"});
        let claims = claims.as_object().unwrap();
        let get = |p: &str| JsonPath::parse(p).unwrap().get(claims).cloned();
        assert_eq!(
            get("$.federated_claims.connector_id"),
            Some(json!("https://github.com/login/oauth"))
        );
        assert_eq!(get("$['federated_claims']['user_id']"), Some(json!("1")));
        assert_eq!(get("$.list[1]"), Some(json!("b")));
        assert_eq!(get("$[\"a.b\"]"), Some(json!("dotted")));
        assert_eq!(get("$.nope.x"), None);
        assert_eq!(get("$.list[9]"), None);
        for bad in ["federated_claims", "$", "$..x", "$.a[", "$.a[x]"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }
}
