//! Reading claims the way Fulcio's Go structs do: a string claim that is
//! absent or null reads as empty, one of another JSON type is an error; Go's
//! `fmt` rendering of any claim value (for `ci-provider` templates and the
//! IssuerClaim); and the small JSONPath subset an `IssuerClaim` uses
//! (`$.a.b`, `$['a'].b`, `$.a[0]`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::IdentityError;

/// A string claim: "" when absent or null.
pub(crate) fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, IdentityError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(IdentityError::ClaimType {
            claim: name.to_owned(),
            expected: "a string",
        }),
    }
}

/// A string claim that must be present and non-empty.
pub(crate) fn required_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, IdentityError> {
    let value = string_claim(claims, name)?;
    if value.is_empty() {
        return Err(IdentityError::MissingClaim(name));
    }
    Ok(value)
}

/// `email_verified` as Fulcio's oauthflow reads it: JSON `true`, or a string
/// Go's `strconv.ParseBool` takes for true. Anything else is "not verified".
pub(crate) fn email_verified(claims: &Map<String, Value>) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True"),
        _ => false,
    }
}

/// Go's rendering of a decoded JSON value: Fulcio's `mapValuesToString`
/// (integral numbers without a fraction) and `fmt.Sprintf("%v")` otherwise.
pub(crate) fn go_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_string).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .map(|(k, v)| format!("{k}:{}", go_string(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// All claims as strings, for template data.
pub(crate) fn claims_as_strings(claims: &Map<String, Value>) -> BTreeMap<String, String> {
    claims
        .iter()
        .map(|(k, v)| (k.clone(), go_string(v)))
        .collect()
}

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
    fn go_rendering() {
        assert_eq!(go_string(&json!("x")), "x");
        assert_eq!(go_string(&json!(123456789)), "123456789");
        assert_eq!(go_string(&json!(1.5)), "1.5");
        assert_eq!(go_string(&json!(true)), "true");
        assert_eq!(go_string(&json!(null)), "<nil>");
        assert_eq!(go_string(&json!(["a", 1])), "[a 1]");
        assert_eq!(go_string(&json!({"b": 1, "a": "x"})), "map[a:x b:1]");
    }

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

    #[test]
    fn email_verified_follows_parse_bool() {
        for yes in [
            json!(true),
            json!("1"),
            json!("t"),
            json!("T"),
            json!("TRUE"),
            json!("true"),
            json!("True"),
        ] {
            let c = json!({ "email_verified": yes });
            assert!(email_verified(c.as_object().unwrap()), "{yes}");
        }
        for no in [
            json!(false),
            json!("false"),
            json!("yes"),
            json!("tRUE"),
            json!(1),
            json!(null),
            json!({}),
        ] {
            let c = json!({ "email_verified": no });
            assert!(!email_verified(c.as_object().unwrap()), "{no}");
        }
        assert!(!email_verified(&Map::new()));
    }

    #[test]
    fn string_claims() {
        let claims = json!({"s": "v", "n": 1, "z": null, "e": ""});
        let claims = claims.as_object().unwrap();
        assert_eq!(string_claim(claims, "s").unwrap(), "v");
        assert_eq!(string_claim(claims, "z").unwrap(), "");
        assert_eq!(string_claim(claims, "absent").unwrap(), "");
        assert!(matches!(
            string_claim(claims, "n"),
            Err(IdentityError::ClaimType { .. })
        ));
        assert_eq!(
            required_claim(claims, "e").unwrap_err(),
            IdentityError::MissingClaim("e")
        );
    }
}
