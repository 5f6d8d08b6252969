//! Strict inspection of one JSON object: limits first, then fields by hand, so that each
//! error names its field. Nothing here panics on any input.

use serde_json::{Map, Value};

use super::ProtocolError;

pub(super) type Result<T> = std::result::Result<T, ProtocolError>;

/// Echoed input is cut to this many characters so that every message stays one short line.
const ECHO_MAX: usize = 64;

pub(super) fn echo(text: &str) -> String {
    if text.chars().count() <= ECHO_MAX {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(ECHO_MAX).collect();
    cut.push_str("...");
    cut
}

/// A JSON value described for a message: its type, or the number itself.
pub(super) fn found(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) => echo(&n.to_string()),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// An integer JSON value that fits `T`.
pub(super) fn int_of<T: TryFrom<i64> + TryFrom<u64>>(value: &Value) -> Option<T> {
    if let Some(n) = value.as_u64() {
        return T::try_from(n).ok();
    }
    value.as_i64().and_then(|n| T::try_from(n).ok())
}

/// One line (a trailing `\n` allowed) → one JSON object, with its limits checked first.
pub(super) fn parse_object(
    line: &[u8],
    what: &'static str,
    limit: usize,
) -> Result<Map<String, Value>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    if line.len() > limit {
        return Err(ProtocolError::TooLong {
            what,
            len: line.len(),
            limit,
        });
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(ProtocolError::Empty { what });
    }
    let text = std::str::from_utf8(line).map_err(|e| ProtocolError::NotUtf8 {
        what,
        offset: e.valid_up_to(),
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ProtocolError::NotObject {
            what,
            found: found(&other),
        }),
        Err(source) => Err(ProtocolError::Json { what, source }),
    }
}

/// A JSON object under inspection, with the words that name it in messages.
pub(super) struct Fields<'a> {
    pub(super) map: &'a Map<String, Value>,
    pub(super) context: String,
}

impl<'a> Fields<'a> {
    pub(super) fn new(map: &'a Map<String, Value>, context: impl Into<String>) -> Self {
        Fields {
            map,
            context: context.into(),
        }
    }

    pub(super) fn allow(&self, allowed: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(field) => Err(ProtocolError::UnknownField {
                context: self.context.clone(),
                field: echo(field),
                allowed: allowed.join(", "),
            }),
        }
    }

    pub(super) fn missing(&self, field: &str) -> ProtocolError {
        ProtocolError::MissingField {
            context: self.context.clone(),
            field: field.to_string(),
        }
    }

    pub(super) fn get(&self, field: &str) -> Result<&'a Value> {
        self.map.get(field).ok_or_else(|| self.missing(field))
    }

    pub(super) fn wrong(
        &self,
        field: &str,
        expected: &'static str,
        value: &Value,
    ) -> ProtocolError {
        ProtocolError::WrongType {
            context: self.context.clone(),
            field: field.to_string(),
            expected,
            found: found(value),
        }
    }

    pub(super) fn string(&self, field: &'static str) -> Result<&'a str> {
        match self.get(field)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong(field, "a string", other)),
        }
    }

    pub(super) fn boolean(&self, field: &'static str) -> Result<bool> {
        match self.get(field)? {
            Value::Bool(b) => Ok(*b),
            other => Err(self.wrong(field, "true or false", other)),
        }
    }

    /// An integer that fits `T`.
    pub(super) fn integer<T: TryFrom<i64> + TryFrom<u64>>(
        &self,
        field: &str,
        expected: &'static str,
    ) -> Result<T> {
        let value = self.get(field)?;
        int_of(value).ok_or_else(|| self.wrong(field, expected, value))
    }

    /// An integer that fits `T`, or `null`.
    pub(super) fn optional_integer<T: TryFrom<i64> + TryFrom<u64>>(
        &self,
        field: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>> {
        match self.get(field)? {
            Value::Null => Ok(None),
            value => int_of(value)
                .map(Some)
                .ok_or_else(|| self.wrong(field, expected, value)),
        }
    }
}

pub(super) fn line(value: Value) -> String {
    let mut text = value.to_string();
    text.push('\n');
    text
}
