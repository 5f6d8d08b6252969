//! Pure rules: what to do with each signal that reaches us.

use crate::cli::{ForwardTo, Settings};

/// The forwarding rules of one run, derived from [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// `rewrite[s]` is what to deliver for s; 0 means drop.
    pub rewrite: [i32; 65],
    pub to_group: bool,
    /// After forwarding SIGTSTP/SIGTTIN/SIGTTOU, stop ourselves (dumb-init job control).
    pub stop_self_on_tty: bool,
    /// SIGTTIN/SIGTTOU are neither forwarded nor acted on (tini).
    pub ignore_ttin_ttou: bool,
}

impl Rules {
    pub fn new(s: &Settings) -> Rules {
        Rules {
            rewrite: s.rewrite,
            to_group: s.forward_to == ForwardTo::Group,
            stop_self_on_tty: s.tty_job_control,
            ignore_ttin_ttou: s.ignore_ttin_ttou,
        }
    }

    /// The kill(2) target for a forwarded signal: the child, or its group.
    pub fn target(&self, child: i32) -> i32 {
        if self.to_group {
            -child
        } else {
            child
        }
    }

    /// The signal to deliver for `sig`, 0 for none.
    pub fn translate(&self, sig: i32) -> i32 {
        usize::try_from(sig)
            .ok()
            .and_then(|i| self.rewrite.get(i))
            .copied()
            .unwrap_or(sig)
    }
}

/// After we give up the terminal (TIOCNOTTY as session leader), the kernel sends us
/// SIGHUP and SIGCONT; the first of each is ours, not the child's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handoff {
    hup: bool,
    cont: bool,
}

impl Handoff {
    pub fn armed() -> Handoff {
        Handoff {
            hup: true,
            cont: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// SIGCHLD: collect exited children.
    Reap,
    /// The terminal hand-off's SIGHUP/SIGCONT: swallow this one.
    HandoffIgnored,
    /// Nothing to do (tini's SIGTTIN/SIGTTOU; a SIGPIPE we caused ourselves).
    Skip,
    /// Deliver `sig` (0: rewritten to nothing) and then maybe stop ourselves.
    Forward { sig: i32, stop_self: bool },
}

/// Decide what to do with `sig`. `from_self` is true when we sent it to ourselves
/// (the kernel's SIGPIPE for a write to a closed log pipe carries our own pid).
pub fn route(rules: &Rules, handoff: &mut Handoff, sig: i32, from_self: bool) -> Route {
    if sig == libc::SIGHUP && handoff.hup {
        handoff.hup = false;
        return Route::HandoffIgnored;
    }
    if sig == libc::SIGCONT && handoff.cont {
        handoff.cont = false;
        return Route::HandoffIgnored;
    }
    if sig == libc::SIGCHLD {
        return Route::Reap;
    }
    if from_self && sig == libc::SIGPIPE {
        return Route::Skip;
    }
    let tty_stop = matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU);
    if rules.ignore_ttin_ttou && matches!(sig, libc::SIGTTIN | libc::SIGTTOU) {
        return Route::Skip;
    }
    Route::Forward {
        sig: rules.translate(sig),
        stop_self: tty_stop && rules.stop_self_on_tty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::*;

    fn rules() -> Rules {
        let mut rewrite = Settings::identity_rewrite();
        rewrite[SIGTSTP as usize] = SIGSTOP;
        rewrite[SIGTERM as usize] = SIGQUIT;
        rewrite[SIGUSR2 as usize] = 0;
        Rules {
            rewrite,
            to_group: true,
            stop_self_on_tty: true,
            ignore_ttin_ttou: false,
        }
    }

    #[test]
    fn table() {
        let r = rules();
        let cases = [
            (SIGCHLD, false, Route::Reap),
            (
                SIGTERM,
                false,
                Route::Forward {
                    sig: SIGQUIT,
                    stop_self: false,
                },
            ),
            (
                SIGUSR1,
                false,
                Route::Forward {
                    sig: SIGUSR1,
                    stop_self: false,
                },
            ),
            (
                SIGUSR2,
                false,
                Route::Forward {
                    sig: 0,
                    stop_self: false,
                },
            ),
            (
                SIGTSTP,
                false,
                Route::Forward {
                    sig: SIGSTOP,
                    stop_self: true,
                },
            ),
            (
                SIGTTIN,
                false,
                Route::Forward {
                    sig: SIGTTIN,
                    stop_self: true,
                },
            ),
            (SIGPIPE, true, Route::Skip),
            (
                SIGPIPE,
                false,
                Route::Forward {
                    sig: SIGPIPE,
                    stop_self: false,
                },
            ),
            (
                SIGRTMIN() + 3,
                false,
                Route::Forward {
                    sig: SIGRTMIN() + 3,
                    stop_self: false,
                },
            ),
            (
                64,
                false,
                Route::Forward {
                    sig: 64,
                    stop_self: false,
                },
            ),
            (
                SIGHUP,
                false,
                Route::Forward {
                    sig: SIGHUP,
                    stop_self: false,
                },
            ),
        ];
        for (sig, from_self, want) in cases {
            assert_eq!(
                route(&r, &mut Handoff::default(), sig, from_self),
                want,
                "signal {sig}"
            );
        }
    }

    #[test]
    fn handoff_swallows_one_hup_and_one_cont() {
        let r = rules();
        let mut h = Handoff::armed();
        assert_eq!(route(&r, &mut h, SIGHUP, false), Route::HandoffIgnored);
        assert_eq!(route(&r, &mut h, SIGCONT, false), Route::HandoffIgnored);
        assert_eq!(
            route(&r, &mut h, SIGHUP, false),
            Route::Forward {
                sig: SIGHUP,
                stop_self: false
            }
        );
        assert_eq!(
            route(&r, &mut h, SIGCONT, false),
            Route::Forward {
                sig: SIGCONT,
                stop_self: false
            }
        );
    }

    #[test]
    fn tini_skips_ttin_ttou_and_targets() {
        let r = Rules {
            ignore_ttin_ttou: true,
            to_group: false,
            stop_self_on_tty: false,
            ..rules()
        };
        assert_eq!(
            route(&r, &mut Handoff::default(), SIGTTOU, false),
            Route::Skip
        );
        assert_eq!(
            route(&r, &mut Handoff::default(), SIGTSTP, false),
            Route::Forward {
                sig: SIGSTOP,
                stop_self: false
            }
        );
        assert_eq!(r.target(42), 42);
        assert_eq!(rules().target(42), -42);
    }
}
