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
