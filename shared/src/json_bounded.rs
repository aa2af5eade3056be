//! JSON trees with a bounded shape, for documents from untrusted clients.
//!
//! `serde_json::from_slice::<Value>` builds a node per array element: a
//! 32 MiB body of `[0,0,…]` becomes a 16-million-node tree of about 850 MB
//! before anything looks at its shape (docs/design.md, "Hostile input").
//! Proposed Rekor entries are small trees (tens of nodes, a few of them long
//! strings), so this parser refuses, while parsing, any document with more than
//! `max_nodes` values or nested deeper than `max_depth`. Memory is then bounded
//! by the body's own bytes plus `max_nodes` small nodes.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The shape a document may have.
#[derive(Clone, Copy, Debug)]
pub struct JsonLimits {
    /// Values in the whole document: scalars, arrays, objects and keys.
    pub max_nodes: usize,
    /// Arrays and objects nested in each other.
    pub max_depth: usize,
}

impl JsonLimits {
    /// For Rekor entries: an intoto entry with 16 signatures and 16 keys is
    /// under 200 values; 4,096 leaves room for any honest document.
    pub const ENTRY: Self = Self {
        max_nodes: 4096,
        max_depth: 32,
    };
}

/// Parses `bytes` as one JSON value within `limits`.
pub fn from_slice(bytes: &[u8], limits: JsonLimits) -> Result<Value, serde_json::Error> {
    let budget = Cell::new(limits.max_nodes);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        budget: &budget,
        depth: 0,
        limits,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct Node<'a> {
    budget: &'a Cell<usize>,
    depth: usize,
    limits: JsonLimits,
}

impl Node<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        match self.budget.get().checked_sub(1) {
            Some(left) => {
                self.budget.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the document holds more than {} JSON values",
                self.limits.max_nodes
            ))),
        }
    }

    fn child(&self) -> Self {
        Node {
            budget: self.budget,
            depth: self.depth + 1,
            limits: self.limits,
        }
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        self.spend()?;
        if self.depth >= self.limits.max_depth {
            return Err(E::custom(format!(
                "the document nests arrays and objects deeper than {}",
                self.limits.max_depth
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.spend()?;
            let value = map.next_value_seed(self.child())?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: JsonLimits = JsonLimits {
        max_nodes: 10,
        max_depth: 3,
    };

    #[test]
    fn parses_what_serde_json_parses_within_the_limits() {
        let text = r#"{"a":[1,-2,3.5],"b":{"c":null,"d":true},"e":"x"}"#;
        let limits = JsonLimits {
            max_nodes: 100,
            max_depth: 8,
        };
        assert_eq!(
            from_slice(text.as_bytes(), limits).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn refuses_too_many_values_or_too_deep_a_nesting() {
        let err = from_slice(b"[0,0,0,0,0,0,0,0,0,0,0]", SMALL).unwrap_err();
        assert!(
            err.to_string().contains("more than 10 JSON values"),
            "{err}"
        );
        let err = from_slice(br#"{"a":{"b":{"c":{}}}}"#, SMALL).unwrap_err();
        assert!(err.to_string().contains("deeper than 3"), "{err}");
        assert!(from_slice(br#"{"a":{"b":{}}}"#, SMALL).is_ok());
        // Trailing bytes and syntax errors are still errors.
        assert!(from_slice(b"{} x", SMALL).is_err());
        assert!(from_slice(b"[1,", SMALL).is_err());
    }

    /// The body of docs/design.md, "Hostile input": a 32 MiB array of zeros.
    /// Refused after the first few thousand values, so the tree never grows
    /// past them.
    #[test]
    fn a_huge_array_is_refused_while_parsing() {
        let mut body = Vec::with_capacity(32 << 20);
        body.push(b'[');
        while body.len() < (32 << 20) - 2 {
            body.extend_from_slice(b"0,");
        }
        body.extend_from_slice(b"0]");
        let err = from_slice(&body, JsonLimits::ENTRY).unwrap_err();
        assert!(err.to_string().contains("more than 4096"), "{err}");
    }
}
