//! RFC 8785 JSON Canonicalization Scheme: object members sorted by their
//! UTF-16 code units, no insignificant whitespace, minimal string escaping,
//! numbers in ECMAScript `Number.prototype.toString` form.

use serde_json::Value;

/// Canonicalization errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JcsError {
    #[error("number {0} cannot be represented in I-JSON")]
    UnrepresentableNumber(String),
    /// The value could not be turned into JSON at all (e.g. a map with non-string keys).
    #[error("cannot serialize value as JSON: {0}")]
    Serialize(String),
}

/// The canonical serialization of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out.into_bytes())
}

/// Serializes `value` with serde_json and canonicalizes the result.
pub fn to_canonical_vec<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, JcsError> {
    let v = serde_json::to_value(value).map_err(|e| JcsError::Serialize(e.to_string()))?;
    canonicalize(&v)
}

/// A string in canonical form, quotes included; cannot fail.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(&mut out, s);
    out
}

fn write_value(out: &mut String, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&number_to_string(n)?),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json orders keys by UTF-8 bytes (or insertion); RFC 8785
            // §3.2.3 wants UTF-16 code units, which differ above U+FFFF.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// RFC 8785 §3.2.2.2: only `"`, `\` and C0 controls are escaped; the five
/// controls with short forms use them, the rest `\u00xx` in lower case.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{09}' => out.push_str("\\t"),
            '\u{0A}' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\u{0D}' => out.push_str("\\r"),
            c if c < '\u{20}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as the IEEE 754 double an ECMAScript parser would read
/// (RFC 8785 §3.2.2.3), formatted by ECMAScript rules. Integers up to 2^53
/// are exact doubles and print as plain decimals; larger ones round to the
/// nearest double first, as Go's and JavaScript's canonicalizers do, so the
/// output is itself canonical.
fn number_to_string(n: &serde_json::Number) -> Result<String, JcsError> {
    const EXACT: u64 = 1 << 53;
    if let Some(u) = n.as_u64().filter(|u| *u <= EXACT) {
        return Ok(u.to_string());
    }
    if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
        return Ok(i.to_string());
    }
    match n.as_f64() {
        Some(f) => format_number(f),
        None => Err(JcsError::UnrepresentableNumber(n.to_string())),
    }
}

/// ECMAScript `Number.prototype.toString` for finite doubles (-0 is "0");
/// NaN and the infinities are not JSON.
fn format_number(f: f64) -> Result<String, JcsError> {
    if !f.is_finite() {
        return Err(JcsError::UnrepresentableNumber(f.to_string()));
    }
    if f == 0.0 {
        return Ok("0".to_owned());
    }
    Ok(ryu_js::Buffer::new().format_finite(f).to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn canon(text: &str) -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        String::from_utf8(canonicalize(&v).unwrap()).unwrap()
    }

    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    #[test]
    fn appendix_b_numbers() {
        let cases: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for &(bits, want) in cases {
            let f = f64::from_bits(bits);
            assert_eq!(format_number(f).unwrap(), want, "{bits:016x}");
            // The same through a serde_json value, where it can hold the double.
            if let Some(n) = serde_json::Number::from_f64(f) {
                assert_eq!(canonicalize(&Value::Number(n)).unwrap(), want.as_bytes());
            }
        }
        // NaN and Infinity (the Appendix B error cases).
        for bits in [
            0x7fffffffffffffffu64,
            0x7ff0000000000000,
            0xfff0000000000000,
        ] {
            assert!(matches!(
                format_number(f64::from_bits(bits)),
                Err(JcsError::UnrepresentableNumber(_))
            ));
        }
    }

    /// RFC 8785 §3.2.4, the worked example of the whole transformation.
    #[test]
    fn section_3_2_4_example() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    /// RFC 8785 §3.2.3: property sorting by UTF-16 code units.
    #[test]
    fn section_3_2_3_sorting() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        let out: Value = serde_json::from_slice(&canonicalize(&v).unwrap()).unwrap();
        // Re-parse with order kept by scanning the canonical text for the values.
        let text = String::from_utf8(canonicalize(&v).unwrap()).unwrap();
        let order = [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        ];
        let positions: Vec<usize> = order.iter().map(|s| text.find(s).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(out, v);
        // UTF-8 byte order would have put U+1F600 after U+FB33.
        assert!(text.starts_with("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":"));
    }

    #[test]
    fn string_escaping() {
        let v = json!("\u{0}\u{1f}\u{7f}\u{8}\t\n\u{c}\r\"\\/<>&\u{2028}é😀");
        assert_eq!(
            String::from_utf8(canonicalize(&v).unwrap()).unwrap(),
            "\"\\u0000\\u001f\u{7f}\\b\\t\\n\\f\\r\\\"\\\\/<>&\u{2028}é😀\""
        );
    }

    #[test]
    fn nesting_whitespace_and_integers() {
        assert_eq!(
            canon(r#" { "b" : [ 1 , { "z" : -0.0 , "a" : {} } , [] ] , "a" : -12 } "#),
            r#"{"a":-12,"b":[1,{"a":{},"z":0},[]]}"#
        );
        assert_eq!(canon("1.0"), "1");
        assert_eq!(canon("-9007199254740992"), "-9007199254740992");
        // Large integers that a double holds exactly use number formatting.
        assert_eq!(canon("1152921504606846976"), "1152921504606847000");
        assert_eq!(canon("36028797018963968"), "36028797018963970");
    }

    #[test]
    fn large_integers_round_to_doubles() {
        for (text, want) in [
            ("9007199254740993", "9007199254740992"),
            ("-9007199254740993", "-9007199254740992"),
            ("18446744073709551615", "18446744073709552000"),
            ("-9223372036854775807", "-9223372036854776000"),
        ] {
            assert_eq!(canon(text), want, "{text}");
            assert_eq!(canon(want), want, "fixed point");
        }
    }

    /// JSON equality where numbers compare as the doubles JCS sees.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    proptest::proptest! {
        /// Canonical output parses back to the same value and is a fixed point.
        #[test]
        fn canonical_form_round_trips(
            key in "\\PC*",
            text in proptest::string::string_regex("(.|[\\x00-\\x1f\\u{7f}-\\u{ffff}])*").unwrap(),
            int in -(1i64 << 53)..=(1i64 << 53),
            float in proptest::num::f64::NORMAL,
        ) {
            let v = json!({ "k": [text, int, float], key: { "z": null, "a": text } });
            let once = canonicalize(&v).unwrap_or_else(|_| b"skip".to_vec());
            if once != b"skip" {
                let back: Value = serde_json::from_slice(&once).unwrap();
                proptest::prop_assert!(same(&back, &v), "{back} != {v}");
                proptest::prop_assert_eq!(canonicalize(&back).unwrap(), once);
            }
        }
    }

    #[test]
    fn serialize_structs() {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Set<'a> {
            log_index: u64,
            body: &'a str,
            integrated_time: i64,
        }
        let got = to_canonical_vec(&Set {
            log_index: 7,
            body: "e30=",
            integrated_time: 1_700_000_000,
        })
        .unwrap();
        assert_eq!(
            got,
            br#"{"body":"e30=","integratedTime":1700000000,"logIndex":7}"#
        );
        let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        assert!(matches!(
            to_canonical_vec(&bad),
            Err(JcsError::Serialize(_))
        ));
    }
}
