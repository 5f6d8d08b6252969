//! `ctr events`, subscribed once for the whole upgrade measure. It is how the recreate
//! path learns that the old task has stopped, the way a script would, without polling
//! `ctr task ls`; and it times the service gap of both paths alike: from the old task's
//! `/tasks/exit` (the shim's exited_at) to the new task's `/tasks/start` (when its shim
//! published it). A reader thread parses each line into an [`Event`].

use crate::child;
use crate::ctrd::{Ctrd, LIMIT};
use serde_json::Value;
use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const EXIT: &str = "/tasks/exit";
pub const START: &str = "/tasks/start";

/// One event line.
#[derive(Debug, Clone)]
pub struct Event {
    pub topic: String,
    /// The task's container and pid ("" and 0 for events about something else).
    pub container: String,
    pub pid: i64,
    /// For an exit, the shim's exited_at; else when the event was published.
    pub at: Option<SystemTime>,
    /// When the bench read the line.
    pub seen_wall: SystemTime,
}

pub struct Events {
    child: Option<Child>,
    lines: Receiver<Event>,
    /// Read but not yet asked for.
    pending: RefCell<Vec<Event>>,
    reader: Option<JoinHandle<()>>,
}

/// `ctr events` prints `DATE TIME OFFSET ZONE NS TOPIC JSON` (Go's time format).
fn parse(line: &str) -> Option<Event> {
    let (head, payload) = line.split_once(" {")?;
    let head: Vec<&str> = head.split_whitespace().collect();
    let v: Value = serde_json::from_str(&format!("{{{payload}")).ok()?;
    let topic = head.last()?.to_string();
    let at = if topic == EXIT {
        v["exited_at"].as_str().and_then(parse_rfc3339)
    } else {
        parse_go_time(head.first()?, head.get(1)?, head.get(2)?)
    };
    Some(Event {
        topic,
        container: v["container_id"].as_str().unwrap_or_default().to_string(),
        pid: v["pid"].as_i64().unwrap_or_default(),
        at,
        seen_wall: SystemTime::now(),
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` and `HH:MM:SS[.fraction]` as UTC: seconds and nanoseconds since the epoch.
fn civil(date: &str, time: &str) -> Option<(i64, u32)> {
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let digits: String = frac.chars().take(9).collect();
    let nanos = if digits.is_empty() {
        0
    } else {
        digits.parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(digits.len()).ok()?)
    };
    Some((
        days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s,
        nanos,
    ))
}

fn system_time(secs: i64, nanos: u32) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::new(u64::try_from(secs).ok()?, nanos))
}

/// protobuf's JSON time, always UTC: `2024-01-02T03:04:05.123456789Z`.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let (secs, nanos) = civil(date, time)?;
    system_time(secs, nanos)
}

/// Go's `time.Time` printed: `2024-01-02 03:04:05.123456789 +0100` (then the zone name).
fn parse_go_time(date: &str, time: &str, offset: &str) -> Option<SystemTime> {
    let (secs, nanos) = civil(date, time)?;
    let (sign, hhmm) = match offset.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let hours: i64 = hhmm.get(..2)?.parse().ok()?;
    let minutes: i64 = hhmm.get(2..4)?.parse().ok()?;
    system_time(secs - sign * (hours * 3600 + minutes * 60), nanos)
}

impl Events {
    /// Start `ctr events` and make sure it is subscribed: label the namespace (which
    /// publishes `/namespaces/update`) until an event comes through.
    pub fn subscribe(ctrd: &Ctrd) -> Result<Events, String> {
        let mut child = child::spawn(ctrd.ctr().arg("events").stderr(Stdio::null()), "ctr events")?;
        let stdout = child.stdout.take().ok_or("ctr events has no stdout")?;
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(parsed) = parse(&line) {
                    if tx.send(parsed).is_err() {
                        break;
                    }
                }
            }
        });
        let events = Events {
            child: Some(child),
            lines,
            pending: RefCell::new(Vec::new()),
            reader: Some(reader),
        };
        let start = Instant::now();
        for n in 0.. {
            let label = format!("rich-init.bench/subscribed={n}");
            ctrd.ctr_ok(&["namespaces", "label", ctrd.namespace(), &label])?;
            match events.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(_) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("ctr events exited before it printed an event".into())
                }
                Err(RecvTimeoutError::Timeout) if start.elapsed() > LIMIT => {
                    return Err(format!("ctr events printed nothing within {LIMIT:?}"))
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        events.drain();
        Ok(events)
    }

    /// Forget the events so far.
    pub fn drain(&self) {
        self.pending.borrow_mut().clear();
        while self.lines.try_recv().is_ok() {}
    }

    /// The `topic` event of `container`'s task with `pid`, read already or waited for
    /// (at most [`LIMIT`]); other events are kept for later.
    pub fn take(&self, topic: &str, container: &str, pid: i64) -> Result<Event, String> {
        let wanted = |e: &Event| e.topic == topic && e.container == container && e.pid == pid;
        let mut pending = self.pending.borrow_mut();
        if let Some(at) = pending.iter().position(wanted) {
            return Ok(pending.remove(at));
        }
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(e) if wanted(&e) => return Ok(e),
                Ok(e) => pending.push(e),
                Err(_) => {
                    return Err(format!(
                        "no {topic} event for {container} (pid {pid}) within {LIMIT:?}"
                    ))
                }
            }
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
