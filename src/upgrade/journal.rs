//! The upgrade journal: what an upgrade in progress has done, kept on the container record
//! itself (a label; the old spec goes in an extension) so that it changes in the same
//! containerd transaction as the swap. `recover` reads it after a crash.

use serde_json::{json, Map, Value};

/// The container label that holds the journal.
pub const LABEL: &str = "io.rich-init.upgrade";
/// The container extension that holds the old runtime spec while a journal exists.
pub const OLD_SPEC_EXTENSION: &str = "io.rich-init.upgrade.old-spec";
/// containerd refuses labels longer than this (key and value together).
pub const MAX_LABEL: usize = 4096;

/// How far an upgrade got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Lease taken, journal written; the container still has its old image and snapshot
    /// (its task may have been stopped). Recovery: roll back.
    Prepared,
    /// Image, snapshot and spec swapped; the new task may be starting or on probation.
    /// Recovery: roll back.
    Swapped,
    /// The upgrade is accepted; what is left is cleanup. Recovery: finish it.
    Committing,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prepared => "prepared",
            Phase::Swapped => "swapped",
            Phase::Committing => "committing",
        }
    }

    fn parse(word: &str) -> Option<Phase> {
        [Phase::Prepared, Phase::Swapped, Phase::Committing]
            .into_iter()
            .find(|p| p.name() == word)
    }
}

/// The task's standard streams, to give the new task the same ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stdio {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub phase: Phase,
    pub old_image: String,
    pub new_image: String,
    pub snapshotter: String,
    pub old_snapshot: String,
    pub new_snapshot: String,
    /// The lease that protects the old snapshot and the new image while this runs.
    pub lease: String,
    pub was_running: bool,
    pub stdio: Stdio,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JournalError {
    #[error("the upgrade journal is not valid JSON ({0})")]
    Json(String),
    #[error("the upgrade journal has no valid {0:?}")]
    Field(&'static str),
    #[error("the upgrade journal is version {0}; this upgrade-helper reads version 1")]
    Version(u64),
    #[error("the upgrade journal is {0} bytes; containerd keeps labels up to {MAX_LABEL}")]
    TooLong(usize),
}

impl Journal {
    /// The label value.
    pub fn encode(&self) -> Result<String, JournalError> {
        let text = json!({
            "version": 1,
            "phase": self.phase.name(),
            "old_image": self.old_image,
            "new_image": self.new_image,
            "snapshotter": self.snapshotter,
            "old_snapshot": self.old_snapshot,
            "new_snapshot": self.new_snapshot,
            "lease": self.lease,
            "was_running": self.was_running,
            "stdin": self.stdio.stdin,
            "stdout": self.stdio.stdout,
            "stderr": self.stdio.stderr,
            "terminal": self.stdio.terminal,
        })
        .to_string();
        if text.len() + LABEL.len() > MAX_LABEL {
            return Err(JournalError::TooLong(text.len()));
        }
        Ok(text)
    }

    /// Read a label value back; anything malformed is an error, never a panic.
    pub fn decode(text: &str) -> Result<Journal, JournalError> {
        let v: Value = serde_json::from_str(text).map_err(|e| JournalError::Json(e.to_string()))?;
        let map: &Map<String, Value> = v.as_object().ok_or(JournalError::Field("version"))?;
        let version = map
            .get("version")
            .and_then(Value::as_u64)
            .ok_or(JournalError::Field("version"))?;
        if version != 1 {
            return Err(JournalError::Version(version));
        }
        let text_of = |name: &'static str| -> Result<String, JournalError> {
            map.get(name)
                .and_then(Value::as_str)
                .map(String::from)
                .ok_or(JournalError::Field(name))
        };
        let flag = |name: &'static str| -> Result<bool, JournalError> {
            map.get(name)
                .and_then(Value::as_bool)
                .ok_or(JournalError::Field(name))
        };
        let nonempty = |name: &'static str| -> Result<String, JournalError> {
            text_of(name).and_then(|s| {
                if s.is_empty() {
                    Err(JournalError::Field(name))
                } else {
                    Ok(s)
                }
            })
        };
        Ok(Journal {
            phase: text_of("phase")
                .ok()
                .and_then(|p| Phase::parse(&p))
                .ok_or(JournalError::Field("phase"))?,
            old_image: nonempty("old_image")?,
            new_image: nonempty("new_image")?,
            snapshotter: nonempty("snapshotter")?,
            old_snapshot: nonempty("old_snapshot")?,
            new_snapshot: nonempty("new_snapshot")?,
            lease: nonempty("lease")?,
            was_running: flag("was_running")?,
            stdio: Stdio {
                stdin: text_of("stdin")?,
                stdout: text_of("stdout")?,
                stderr: text_of("stderr")?,
                terminal: flag("terminal")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Journal {
        Journal {
            phase: Phase::Swapped,
            old_image: "docker.io/library/app:1".into(),
            new_image: "docker.io/library/app:2".into(),
            snapshotter: "overlayfs".into(),
            old_snapshot: "web".into(),
            new_snapshot: "web-upgrade-1".into(),
            lease: "rich-init-upgrade-web-1".into(),
            was_running: true,
            stdio: Stdio {
                stdin: String::new(),
                stdout: "file:///var/log/web.log".into(),
                stderr: "file:///var/log/web.log".into(),
                terminal: false,
            },
        }
    }

    #[test]
    fn round_trips() {
        for phase in [Phase::Prepared, Phase::Swapped, Phase::Committing] {
            let j = Journal { phase, ..sample() };
            let text = j.encode().expect("encode");
            assert_eq!(Journal::decode(&text), Ok(j));
        }
    }

    #[test]
    fn malformed_journals_are_errors() {
        let good: Value = serde_json::from_str(&sample().encode().expect("encode")).expect("json");
        assert!(matches!(Journal::decode(""), Err(JournalError::Json(_))));
        assert!(matches!(Journal::decode("[]"), Err(JournalError::Field(_))));
        let mut v2 = good.clone();
        v2["version"] = json!(2);
        assert_eq!(
            Journal::decode(&v2.to_string()),
            Err(JournalError::Version(2))
        );
        for field in [
            "phase",
            "old_image",
            "new_snapshot",
            "lease",
            "was_running",
            "stdout",
        ] {
            let mut broken = good.clone();
            broken[field] = json!(7);
            assert_eq!(
                Journal::decode(&broken.to_string()),
                Err(JournalError::Field(field)),
                "{field}"
            );
        }
        let mut long = sample();
        long.stdio.stdout = "x".repeat(MAX_LABEL);
        assert!(matches!(long.encode(), Err(JournalError::TooLong(_))));
    }
}
