//! The journal's messages on the control socket, for `journalctl` (kept apart so that they
//! can join [`super::Request`] and [`super::Response`] as `Journal` variants).
//!
//! Request: `{"cmd":"journal","unit":"cron.service"|null,"lines":10|null,"follow":false}`:
//! the last `lines` entries (all when null) of `unit` (every unit when null).
//! Response: one or more lines `{"ok":true,"journal":[ENTRY...]}`, each ENTRY
//! `{"time_us":N,"unit":"…","ident":"…","pid":N,"message":"…"}`, oldest first; then the
//! server closes the connection, unless `follow`: then it keeps sending a line with the new
//! entries as they come, until the client closes. A refusal is `{"ok":false,"error":"…"}`.
//! Several lines are allowed so that no line has to pass [`super::MAX_RESPONSE_LINE`].

use serde_json::{Map, Value};

use super::json::{echo, line, parse_object, Fields, Result};
use super::unit_json::{journal_value, parse_journal_entry};
use super::{ProtocolError, MAX_LINE, MAX_RESPONSE_LINE};
use crate::units::status::JournalEntry;

/// The longest unit name a request may carry.
pub const MAX_UNIT: usize = 256;

/// What `journalctl` asks the init for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRequest {
    pub unit: Option<String>,
    pub lines: Option<usize>,
    pub follow: bool,
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalReply {
    Entries(Vec<JournalEntry>),
    Error(String),
}

pub fn render_journal_request(request: &JournalRequest) -> String {
    let mut map = Map::new();
    map.insert("cmd".into(), "journal".into());
    map.insert(
        "unit".into(),
        request.unit.as_deref().map_or(Value::Null, Value::from),
    );
    map.insert(
        "lines".into(),
        request.lines.map_or(Value::Null, Value::from),
    );
    map.insert("follow".into(), request.follow.into());
    line(Value::Object(map))
}

/// Parse a journal request line (the server has seen `"cmd":"journal"`).
pub fn parse_journal_request(text: &[u8]) -> Result<JournalRequest> {
    let map = parse_object(text, "request line", MAX_LINE)?;
    let f = Fields::new(&map, "a \"journal\" request");
    f.allow(&["cmd", "unit", "lines", "follow"])?;
    if f.string("cmd")? != "journal" {
        return Err(ProtocolError::UnknownCmd {
            cmd: echo(f.string("cmd")?),
        });
    }
    let unit = match map.get("unit") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if !u.is_empty() && u.len() <= MAX_UNIT => Some(u.clone()),
        Some(other) => return Err(f.wrong("unit", "a unit name of 1-256 bytes or null", other)),
    };
    let lines = match map.get("lines") {
        None => None,
        Some(_) => f.optional_integer::<usize>("lines", "an integer >= 0 or null")?,
    };
    let follow = match map.get("follow") {
        None => false,
        Some(_) => f.boolean("follow")?,
    };
    Ok(JournalRequest {
        unit,
        lines,
        follow,
    })
}

/// Entries as response lines, each under `budget` bytes (but one entry per line at least);
/// the server uses [`MAX_RESPONSE_LINE`] as the budget.
pub fn render_journal_lines(entries: &[JournalEntry], budget: usize) -> Vec<String> {
    let wrap = |values: Vec<Value>| {
        let mut map = Map::new();
        map.insert("ok".into(), true.into());
        map.insert("journal".into(), Value::Array(values));
        line(Value::Object(map))
    };
    let mut lines = Vec::new();
    let mut batch = Vec::new();
    let mut size = 0;
    for e in entries {
        let value = journal_value(e);
        let len = value.to_string().len() + 1;
        if !batch.is_empty() && size + len + 32 > budget {
            lines.push(wrap(std::mem::take(&mut batch)));
            size = 0;
        }
        size += len;
        batch.push(value);
    }
    if !batch.is_empty() || lines.is_empty() {
        lines.push(wrap(batch));
    }
    lines
}

/// Parse one response line to a journal request.
pub fn parse_journal_reply(text: &[u8]) -> Result<JournalReply> {
    let map = parse_object(text, "response line", MAX_RESPONSE_LINE)?;
    let f = Fields::new(&map, "the response");
    if !f.boolean("ok")? {
        f.allow(&["ok", "error"])?;
        return Ok(JournalReply::Error(f.string("error")?.to_string()));
    }
    f.allow(&["ok", "journal"])?;
    match f.get("journal")? {
        Value::Array(rows) => {
            let entries = rows
                .iter()
                .enumerate()
                .map(|(i, v)| parse_journal_entry(v, i));
            Ok(JournalReply::Entries(entries.collect::<Result<_>>()?))
        }
        other => Err(f.wrong("journal", "an array", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(message: &str) -> JournalEntry {
        JournalEntry {
            time_us: 1_701_862_801_000_000,
            unit: "cron.service".into(),
            ident: "cron".into(),
            pid: 42,
            message: message.into(),
        }
    }

    #[test]
    fn requests_round_trip() {
        let cases = [
            JournalRequest {
                unit: None,
                lines: None,
                follow: false,
            },
            JournalRequest {
                unit: Some("cron.service".into()),
                lines: Some(10),
                follow: true,
            },
            JournalRequest {
                unit: None,
                lines: Some(0),
                follow: false,
            },
        ];
        for req in cases {
            let text = render_journal_request(&req);
            assert!(text.ends_with('\n'));
            assert_eq!(parse_journal_request(text.as_bytes()).ok(), Some(req));
        }
        assert_eq!(
            render_journal_request(&JournalRequest {
                unit: Some("a.service".into()),
                lines: Some(5),
                follow: false
            }),
            "{\"cmd\":\"journal\",\"unit\":\"a.service\",\"lines\":5,\"follow\":false}\n"
        );
        // Defaults: only cmd is needed.
        assert_eq!(
            parse_journal_request(b"{\"cmd\":\"journal\"}").ok(),
            Some(JournalRequest {
                unit: None,
                lines: None,
                follow: false
            })
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases: &[(&[u8], &str)] = &[
            (b"{\"cmd\":\"journal\",\"lines\":-1}", "field \"lines\" in a \"journal\" request must be an integer >= 0 or null, not -1"),
            (b"{\"cmd\":\"journal\",\"unit\":\"\"}", "field \"unit\" in a \"journal\" request must be a unit name of 1-256 bytes or null, not a string"),
            (b"{\"cmd\":\"journal\",\"follow\":1}", "field \"follow\" in a \"journal\" request must be true or false, not 1"),
            (b"{\"cmd\":\"journal\",\"since\":1}", "a \"journal\" request has an unknown field \"since\": allowed are cmd, unit, lines, follow"),
        ];
        for (text, want) in cases {
            let got = parse_journal_request(text).map_err(|e| e.to_string());
            assert_eq!(
                got,
                Err(want.to_string()),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn responses_round_trip_and_split_under_the_budget() {
        let entries: Vec<JournalEntry> = (0..10)
            .map(|i| entry(&format!("line {i} \"quoted\"\t")))
            .collect();
        let one = render_journal_lines(&entries, MAX_RESPONSE_LINE);
        assert_eq!(one.len(), 1);
        assert_eq!(
            parse_journal_reply(one[0].as_bytes()).ok(),
            Some(JournalReply::Entries(entries.clone()))
        );
        let many = render_journal_lines(&entries, 300);
        assert!(many.len() > 1);
        let mut back = Vec::new();
        for l in &many {
            assert!(l.len() <= 300 || l.matches("time_us").count() == 1, "{l}");
            match parse_journal_reply(l.as_bytes()) {
                Ok(JournalReply::Entries(e)) => back.extend(e),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, entries);
        assert_eq!(
            render_journal_lines(&[], 100),
            ["{\"ok\":true,\"journal\":[]}\n"]
        );
        assert_eq!(
            parse_journal_reply(b"{\"ok\":false,\"error\":\"no\"}").ok(),
            Some(JournalReply::Error("no".into()))
        );
        assert!(parse_journal_reply(b"{\"ok\":true,\"journal\":[{\"time_us\":1}]}").is_err());
    }
}
