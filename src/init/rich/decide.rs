//! What a `ctl` request is answered, from the fleet's state (pure), and what the driver
//! does after it.

use crate::control::{ExitInfo, Request, Response, ServiceStatus};
use crate::supervisor::fleet::{Event, Fleet, Op};
use std::time::Instant;

/// `ctl status`: every service's state, from the fleet.
pub(super) fn status_of(fleet: &Fleet) -> Vec<ServiceStatus> {
    let now = Instant::now();
    fleet
        .services()
        .map(|(name, s)| {
            let st = s.status();
            ServiceStatus {
                name: name.to_string(),
                state: st.phase.as_str().to_string(),
                pid: st.pid,
                uptime_ms: s.is_up().then(|| {
                    u64::try_from(now.saturating_duration_since(st.since).as_millis())
                        .unwrap_or(u64::MAX)
                }),
                restarts: st.restarts,
                last_exit: st.last_exit.map(|status| match status.signal() {
                    Some(sig) => ExitInfo::Signal(sig),
                    None => ExitInfo::Code(status.exit_code()),
                }),
            }
        })
        .collect()
}

/// What the driver does after answering a request.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Then {
    Nothing,
    /// Feed the fleet this now.
    Feed(Event),
    /// Signal a service's group (or the service).
    Signal {
        pid: i32,
        signal: i32,
    },
    /// `ctl shutdown`: once the replies are sent (the shutdown may block in the sweep).
    Shutdown(Event),
}

/// The answer to one request from the fleet's state, and what follows from it.
pub(super) fn decide(request: Request, fleet: &Fleet) -> (Response, Then) {
    let unknown = |name: &str| Response::Error {
        message: format!("no service named {name:?}; see rich-init ctl status"),
    };
    let (service, op) = match request {
        Request::Status => return (Response::Status(status_of(fleet)), Then::Nothing),
        Request::Start { service } => (service, Op::Start),
        Request::Stop { service } => (service, Op::Stop),
        Request::Restart { service } => (service, Op::Restart),
        Request::Signal { service, signal } => {
            return match fleet.service(&service).map(|s| s.pid()) {
                None => (unknown(&service), Then::Nothing),
                Some(None) => (
                    Response::Error {
                        message: format!("service {service} is not running"),
                    },
                    Then::Nothing,
                ),
                Some(Some(pid)) => (Response::Ok, Then::Signal { pid, signal }),
            };
        }
        Request::Shutdown { code } => {
            return (Response::Ok, Then::Shutdown(Event::Shutdown { code }));
        }
        Request::FdsGive => {
            let message = "no hand-over is awaited: rich-init takes descriptors only while \
                           it waits at boot (RICH_INIT_HANDOVER_UNTIL)"
                .to_string();
            return (Response::Error { message }, Then::Nothing);
        }
        other => {
            let message = format!(
                "{} is for systemd units, which this init does not run; start rich-init with --systemd",
                other.cmd()
            );
            return (Response::Error { message }, Then::Nothing);
        }
    };
    if fleet.service(&service).is_none() {
        return (unknown(&service), Then::Nothing);
    }
    if !fleet.accepts(op) {
        let message = format!("rich-init is shutting down: {service} is not started again");
        return (Response::Error { message }, Then::Nothing);
    }
    (
        Response::Ok,
        Then::Feed(Event::Control { name: service, op }),
    )
}
