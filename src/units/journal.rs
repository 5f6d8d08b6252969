//! The journal the init keeps in memory: every unit's recent output lines, for `journalctl`.
//! Pure; the driver pushes what it reads and answers queries from it.
//!
//! Bounds (see [`Limits::DEFAULT`]): per unit at most 1000 entries and 256 KiB, all units
//! together at most 2 MiB, one message at most [`MAX_MESSAGE`] bytes (longer ones are cut on
//! a character boundary). Bytes are counted as [`Journal::memory`] does: the message's length
//! plus a fixed per-entry overhead ([`ENTRY_OVERHEAD`]) for the record itself; a unit's name
//! and its identifiers are shared by its entries and counted once per unit. When a bound is
//! passed, the oldest entries go first: the unit's own for a unit bound, the oldest of all
//! units for the global bound. The newest entry is always kept, so memory stays under
//! `max(total_bytes, one entry)`.
//!
//! Cost: an entry is its message plus 56 bytes on a 64-bit target, so the defaults hold about
//! 2 MiB of logical data in all: e.g. ~13 000 lines of 100 bytes, at most 1000 of them one
//! unit's. The allocator's own header per message (8-16 bytes) and a ring's spare capacity
//! (a VecDeque grows by doubling: at most 56 bytes more per kept entry) come on top and are
//! not counted by [`Journal::memory`]; the real heap stays under about 3 MiB.
//!
//! Every entry gets a sequence number, one more than the last; [`Journal::cursor`] is the
//! next one, so a follower remembers it and later asks for [`Journal::since`] it.
//! systemd's journald keeps history on disk; we keep a ring, which is what `journalctl -u`
//! needs in a container (the output also still goes to the init's stdout, see logsink.rs).

use super::status::JournalEntry;
use crate::logsink::{Line, LineBuffer};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The longest message kept, in bytes: logsink's line piece, so that a piece from
/// [`Splitter`] is never cut again; a longer line is split there into several entries, as
/// journald's LineMax= does.
pub const MAX_MESSAGE: usize = crate::logsink::MAX_LINE;

/// What one entry costs besides its message: the stored record (sequence, time, pid, the
/// shared identifier and the message's pointer and length).
pub const ENTRY_OVERHEAD: usize = std::mem::size_of::<Stored>();

/// How much the journal keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries kept per unit.
    pub unit_entries: usize,
    /// Bytes kept per unit (messages plus [`ENTRY_OVERHEAD`] each).
    pub unit_bytes: usize,
    /// Bytes kept for all units together.
    pub total_bytes: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        unit_entries: 1000,
        unit_bytes: 256 * 1024,
        total_bytes: 2 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// One entry as kept: the unit is the ring's, the identifier shared with its neighbours.
#[derive(Debug)]
struct Stored {
    seq: u64,
    time_us: u64,
    pid: i32,
    ident: Arc<str>,
    message: Box<str>,
}

impl Stored {
    fn cost(&self) -> usize {
        self.message.len() + ENTRY_OVERHEAD
    }
}

/// One unit's entries, oldest first.
#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Stored>,
    /// Sum of the entries' costs.
    bytes: usize,
    /// The identifiers in use, so that entries share them (a unit has one or a few).
    idents: Vec<Arc<str>>,
}

impl Ring {
    fn ident(&mut self, ident: &str) -> Arc<str> {
        if let Some(found) = self.idents.iter().find(|i| ***i == *ident) {
            return Arc::clone(found);
        }
        let new: Arc<str> = Arc::from(ident);
        // Forget identifiers that no entry uses any more, so the list stays short.
        self.idents.retain(|i| Arc::strong_count(i) > 1);
        self.idents.push(Arc::clone(&new));
        new
    }

    fn pop(&mut self) -> Option<Stored> {
        let gone = self.entries.pop_front()?;
        self.bytes = self.bytes.saturating_sub(gone.cost());
        Some(gone)
    }

    fn shared_bytes(&self, unit: &str) -> usize {
        unit.len() + self.idents.iter().map(|i| i.len()).sum::<usize>()
    }
}

/// The init's in-memory journal.
#[derive(Debug)]
pub struct Journal {
    limits: Limits,
    units: BTreeMap<String, Ring>,
    /// Sum of every ring's `bytes`.
    bytes: usize,
    next_seq: u64,
}

/// Cut `text` to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

impl Journal {
    pub fn new(limits: Limits) -> Journal {
        Journal {
            limits,
            units: BTreeMap::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    /// Keep `entry` (its message cut to [`MAX_MESSAGE`]), dropping the oldest entries that
    /// no longer fit. Returns its sequence number.
    pub fn push(&mut self, entry: JournalEntry) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let ring = self.units.entry(entry.unit).or_default();
        let stored = Stored {
            seq,
            time_us: entry.time_us,
            pid: entry.pid,
            ident: ring.ident(&entry.ident),
            message: cut(&entry.message, MAX_MESSAGE).into(),
        };
        ring.bytes += stored.cost();
        self.bytes += stored.cost();
        ring.entries.push_back(stored);
        while ring.entries.len() > 1
            && (ring.entries.len() > self.limits.unit_entries
                || ring.bytes > self.limits.unit_bytes)
        {
            if let Some(gone) = ring.pop() {
                self.bytes = self.bytes.saturating_sub(gone.cost());
            }
        }
        while self.bytes > self.limits.total_bytes && self.drop_oldest(seq) {}
        seq
    }

    /// Drop the oldest entry of all, unless it is `keep`; false when there is none to drop.
    fn drop_oldest(&mut self, keep: u64) -> bool {
        let oldest = self
            .units
            .iter()
            .filter_map(|(unit, ring)| ring.entries.front().map(|e| (e.seq, unit)))
            .min()
            .filter(|(seq, _)| *seq != keep)
            .map(|(_, unit)| unit.clone());
        let Some(unit) = oldest else {
            return false;
        };
        if let Some(ring) = self.units.get_mut(&unit) {
            if let Some(gone) = ring.pop() {
                self.bytes = self.bytes.saturating_sub(gone.cost());
            }
            if ring.entries.is_empty() {
                self.units.remove(&unit);
            }
        }
        true
    }

    /// The sequence number the next entry will get: entries at or after it are new.
    pub fn cursor(&self) -> u64 {
        self.next_seq
    }

    /// The last `last` entries (all when None) of `unit` (every unit when None), oldest first.
    pub fn query(&self, unit: Option<&str>, last: Option<usize>) -> Vec<JournalEntry> {
        self.select(unit, 0, last)
    }

    /// The entries with a sequence number >= `seq`, oldest first, and the cursor to ask
    /// with next time.
    pub fn since(&self, seq: u64, unit: Option<&str>) -> (Vec<JournalEntry>, u64) {
        (self.select(unit, seq, None), self.next_seq)
    }

    fn select(&self, unit: Option<&str>, from: u64, last: Option<usize>) -> Vec<JournalEntry> {
        let take = last.unwrap_or(usize::MAX);
        let mut picked: Vec<(&str, &Stored)> = Vec::new();
        for (name, ring) in &self.units {
            if unit.is_some_and(|u| u != name) {
                continue;
            }
            // Each ring is in order: its newest `take` at or after `from` are candidates.
            let newer = ring.entries.iter().rev().take_while(|e| e.seq >= from);
            picked.extend(newer.take(take).map(|e| (name.as_str(), e)));
        }
        crate::sort::sort_by_key(&mut picked, |(_, e)| e.seq);
        let skip = picked.len().saturating_sub(take);
        picked
            .into_iter()
            .skip(skip)
            .map(|(name, e)| JournalEntry {
                time_us: e.time_us,
                unit: name.to_string(),
                ident: e.ident.to_string(),
                pid: e.pid,
                message: e.message.to_string(),
            })
            .collect()
    }

    /// Bytes held: every entry's cost plus each unit's name and identifiers.
    pub fn memory(&self) -> usize {
        let shared: usize = self
            .units
            .iter()
            .map(|(unit, ring)| ring.shared_bytes(unit))
            .sum();
        self.bytes + shared
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.units.values().map(|r| r.entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// Where a pipe's lines come from: they become entries of this unit with this identifier
/// and pid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub unit: String,
    pub ident: String,
    pub pid: i32,
}

impl Source {
    /// One line read from the pipe as an entry (invalid UTF-8 replaced by U+FFFD).
    pub fn entry(&self, line: &Line, time_us: u64) -> JournalEntry {
        JournalEntry {
            time_us,
            unit: self.unit.clone(),
            ident: self.ident.clone(),
            pid: self.pid,
            message: String::from_utf8_lossy(&line.text).into_owned(),
        }
    }
}

/// A service's stdout or stderr pipe as journal entries: bytes in (partial lines wait for
/// the rest), one entry per line out. Lines are split as logsink splits them for the
/// `[name] line` output (a line longer than [`MAX_MESSAGE`] becomes several entries, a
/// trailing `\r` is dropped). Where the driver already has logsink's lines, it uses
/// [`Source::entry`] on them instead, so the bytes are split once.
#[derive(Debug, Default)]
pub struct Splitter {
    pub source: Source,
    buf: LineBuffer,
}

impl Splitter {
    pub fn new(source: Source) -> Splitter {
        Splitter {
            source,
            buf: LineBuffer::default(),
        }
    }

    /// Add bytes read at `time_us`; the whole lines among them come out.
    pub fn push(&mut self, data: &[u8], time_us: u64) -> Vec<JournalEntry> {
        let mut lines = Vec::new();
        self.buf.push(data, &mut lines);
        lines
            .iter()
            .map(|l| self.source.entry(l, time_us))
            .collect()
    }

    /// End of file: what is left is the last line.
    pub fn finish(&mut self, time_us: u64) -> Vec<JournalEntry> {
        let mut lines = Vec::new();
        self.buf.finish(&mut lines);
        lines
            .iter()
            .map(|l| self.source.entry(l, time_us))
            .collect()
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
