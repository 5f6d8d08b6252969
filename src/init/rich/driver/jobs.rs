//! `systemctl start` and its kind wait for their jobs: a job is done once its unit has left
//! the transitional states (activating, deactivating, reloading), and its result is what
//! the unit became. Also the journal's followers and the lines held control connections
//! are owed.

use super::Driver;
use crate::control::{render_response, JobOutcome, JobResult, Response, MAX_RESPONSE_LINE};
use crate::supervisor::fleet::Machine;
use crate::supervisor::service::Phase;
use crate::supervisor::unit::ActiveState;
use std::time::Instant;

/// What a job waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// start, restart: active (or a start that ended inactive without failing).
    Up,
    /// stop: inactive or failed.
    Down,
    /// reload: back from reloading.
    Reloaded,
    /// Done at once (reset-failed).
    Nothing,
}

/// One `unit-job` request still waiting.
pub(super) struct Pending {
    conn: u64,
    since: Instant,
    /// In request order: the outcome, or what is still awaited (name asked, member).
    slots: Vec<Slot>,
}

enum Slot {
    Done(JobOutcome),
    Waiting {
        asked: String,
        member: String,
        expect: Expect,
    },
    /// A job the request brought along (Wants=, Conflicts=, PartOf=): waited for, as
    /// systemd's transaction waits for it, but not answered on.
    Along {
        member: String,
        expect: Expect,
    },
    Over,
}

impl Pending {
    pub fn new(conn: u64, since: Instant) -> Pending {
        Pending {
            conn,
            since,
            slots: Vec::new(),
        }
    }

    pub fn done(&mut self, outcome: JobOutcome) {
        self.slots.push(Slot::Done(outcome));
    }

    pub fn wait(&mut self, asked: String, member: String, expect: Expect) {
        self.slots.push(Slot::Waiting {
            asked,
            member,
            expect,
        });
    }

    pub fn along(&mut self, member: String, expect: Expect) {
        self.slots.push(Slot::Along { member, expect });
    }

    pub fn waits_for_nothing(&self) -> bool {
        self.slots
            .iter()
            .all(|s| matches!(s, Slot::Done(_) | Slot::Over))
    }

    /// `--no-block`: every queued job counts as done.
    pub fn outcomes_now(self) -> Vec<JobOutcome> {
        self.slots
            .into_iter()
            .filter_map(|s| match s {
                Slot::Done(o) => Some(o),
                Slot::Waiting { asked, .. } => Some(JobOutcome::new(asked, JobResult::Done)),
                Slot::Along { .. } | Slot::Over => None,
            })
            .collect()
    }
}

impl Driver<'_> {
    /// The result of `expect` for `member` if its job is over.
    fn job_result(&self, member: &str, expect: Expect, since: Instant) -> Option<JobResult> {
        let (state, changed, failure) = match self.fleet.machine(member)? {
            Machine::Unit(m) => (
                m.active_state(),
                m.since() >= since,
                m.result().is_failure(),
            ),
            Machine::Target { active } => {
                let s = if *active {
                    ActiveState::Active
                } else {
                    ActiveState::Inactive
                };
                (s, true, false)
            }
            Machine::Service(s) => {
                let st = s.status();
                let state = match st.phase {
                    Phase::Starting | Phase::Backoff => ActiveState::Activating,
                    Phase::Running => ActiveState::Active,
                    Phase::Stopping => ActiveState::Deactivating,
                    Phase::Stopped => ActiveState::Inactive,
                    Phase::Failed => ActiveState::Failed,
                };
                (state, st.since >= since, st.phase == Phase::Failed)
            }
        };
        match (expect, state) {
            (_, ActiveState::Activating | ActiveState::Deactivating) => None,
            (Expect::Reloaded, ActiveState::Reloading) => None,
            (Expect::Nothing, _) => Some(JobResult::Done),
            (Expect::Up, ActiveState::Active | ActiveState::Reloading) => Some(JobResult::Done),
            // A start that ended inactive (a oneshot, a skipped condition) or failed: only
            // once the unit has moved since the job began.
            (Expect::Up, ActiveState::Inactive) if changed => Some(if failure {
                JobResult::Failed
            } else {
                JobResult::Done
            }),
            (Expect::Up, ActiveState::Failed) if changed => Some(JobResult::Failed),
            (Expect::Up, _) => None,
            (Expect::Down, _) => Some(JobResult::Done),
            (Expect::Reloaded, ActiveState::Active) => Some(JobResult::Done),
            (Expect::Reloaded, _) => Some(JobResult::Failed),
        }
    }

    /// Answer every job that is over; the others wait on.
    pub(super) fn check_jobs(&mut self) {
        let mut jobs = std::mem::take(&mut self.jobs);
        jobs.retain_mut(|job| {
            for slot in &mut job.slots {
                match slot {
                    Slot::Waiting {
                        asked,
                        member,
                        expect,
                    } => {
                        if let Some(result) = self.job_result(member, *expect, job.since) {
                            *slot = Slot::Done(JobOutcome::new(asked.clone(), result));
                        }
                    }
                    Slot::Along { member, expect } => {
                        if self.job_result(member, *expect, job.since).is_some() {
                            *slot = Slot::Over;
                        }
                    }
                    Slot::Done(_) | Slot::Over => {}
                }
            }
            if !job.waits_for_nothing() {
                return true;
            }
            let outcomes = std::mem::replace(job, Pending::new(job.conn, job.since));
            let text = render_response(&Response::Jobs(outcomes.outcomes_now()));
            self.outbox.push((job.conn, text, true));
            false
        });
        self.jobs = jobs;
    }

    /// New journal entries for each follower.
    pub(super) fn pump_followers(&mut self) {
        let Some(journal) = self.output.journal.as_ref() else {
            return;
        };
        for (conn, unit, cursor) in &mut self.followers {
            let (entries, next) = journal.since(*cursor, unit.as_deref());
            *cursor = next;
            if !entries.is_empty() {
                let text =
                    crate::control::journal_msg::render_journal_lines(&entries, MAX_RESPONSE_LINE)
                        .concat();
                self.outbox.push((*conn, text, false));
            }
        }
    }

    /// Send what held connections are owed; forget jobs and followers whose client left.
    pub(super) fn flush_outbox(&mut self) {
        let Some(server) = self.control.as_mut() else {
            self.outbox.clear();
            return;
        };
        for (conn, text, last) in std::mem::take(&mut self.outbox) {
            if last {
                server.finish(conn, &text);
            } else if !server.send(conn, &text) {
                self.followers.retain(|f| f.0 != conn);
            }
        }
        for gone in server.take_gone() {
            self.followers.retain(|f| f.0 != gone);
            self.jobs.retain(|j| j.conn != gone);
        }
    }
}
