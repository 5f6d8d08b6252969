//! From a validated [`Service`] to what the supervisor's state machine needs.

use super::{Ready, Service};
use crate::supervisor::service::{Policy, Readiness};

impl Service {
    /// The supervisor policy for this service.
    pub fn policy(&self) -> Policy {
        Policy {
            restart: self.restart,
            restart_delay: self.restart_delay,
            restart_delay_max: self.restart_delay_max,
            ready: match &self.ready {
                Ready::Started => Readiness::Immediately,
                Ready::Command {
                    interval, timeout, ..
                } => Readiness::Check {
                    interval: *interval,
                    timeout: *timeout,
                },
                Ready::Notify { timeout } => Readiness::Notify { timeout: *timeout },
            },
            stop_signal: self.stop_signal,
            stop_timeout: self.stop_timeout,
            critical: self.critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use crate::supervisor::service::Restart;
    use std::path::Path;
    use std::time::Duration;

    #[test]
    fn every_field_carries_over() {
        let text = r#"
            command = ["/bin/crond", "-f"]
            restart = "on-failure"
            restart-delay = "200ms"
            restart-delay-max = "3s"
            ready = { command = ["/bin/true"], interval = "50ms", timeout = "2s" }
            stop-signal = "QUIT"
            stop-timeout = "7s"
            critical = true
        "#;
        let service = parse_service("crond", Path::new("crond.toml"), text, &|_| true)
            .expect("valid service");
        let p = service.policy();
        assert_eq!(p.restart, Restart::OnFailure);
        assert_eq!(
            (p.restart_delay, p.restart_delay_max),
            (Duration::from_millis(200), Duration::from_secs(3))
        );
        assert_eq!(
            p.ready,
            Readiness::Check {
                interval: Duration::from_millis(50),
                timeout: Duration::from_secs(2)
            }
        );
        assert_eq!(
            (p.stop_signal, p.stop_timeout, p.critical),
            (libc::SIGQUIT, Duration::from_secs(7), true)
        );

        let notify = parse_service(
            "n",
            Path::new("n.toml"),
            "command = [\"/bin/x\"]\nready = { notify = true, timeout = \"3s\" }",
            &|_| true,
        )
        .expect("valid notify service");
        assert_eq!(
            notify.policy().ready,
            Readiness::Notify {
                timeout: Duration::from_secs(3)
            }
        );
        let plain = parse_service("p", Path::new("p.toml"), "command = \"exec x\"", &|_| true)
            .expect("valid");
        assert_eq!(plain.policy().ready, Readiness::Immediately);
        assert_eq!(plain.policy().restart, Restart::Always);
    }
}
