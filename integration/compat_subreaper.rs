//! Who reaps CMD's orphans, and what the init says about it, in every subreaper state:
//! pid 1 of a pid namespace; not pid 1 without `-s`; `-s`; `TINI_SUBREAPER`; and the
//! child-subreaper bit inherited from a parent that set it before exec'ing the init.
//! CMD is reaping's storm script (a few orphans): it reports whether they were re-parented
//! to the init and whether they were reaped while the init runs. Ours (as a symlink and
//! as a copy named like the peer) must match the Debian peer on exit status, that report,
//! the warning, and the subreaper lines of the verbose log; and the peer must do what
//! the table says (so the table documents tini's and dumb-init's rules).

use crate::differential::{mask_pids, Pair};
use crate::harness::{normalise, Outcome, PidNs, Run};
use crate::reaping::storm_script;
use std::path::Path;

const ORPHANS: usize = 3;
const ADOPTED: &str = "adopted=yes\nleft=0 zombies=0\n";
const NOT_ADOPTED: &str = "adopted=no\nleft=0 zombies=0\n";
const WARNING: &str = "Tini is not running as PID N and isn't registered as a child subreaper.";
const REGISTERED: &str = "Registered as child subreaper";

/// One subreaper state and what the peer does in it.
struct Case {
    ns: PidNs,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// Orphans re-parented to the init (and reaped by it).
    adopted: bool,
    /// The "not running as PID 1" warning.
    warns: bool,
    /// The "Registered as child subreaper" trace line (tini -vvv).
    registers: bool,
}

/// What one run shows: exit status, CMD's report, the init's subreaper lines, stderr.
#[derive(Debug, PartialEq, Eq)]
struct View {
    code: Option<i32>,
    report: String,
    subreaper_lines: Vec<String>,
    stderr: String,
}

fn run(ns: PidNs, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut run =
        Run::in_ns(ns, program)
            .args(args)
            .args(["--", "sh", "-c", &storm_script(ORPHANS)]);
    for (k, v) in env {
        run = run.env(k, v);
    }
    run.output()
}

fn view(out: &Outcome, program: &Path) -> View {
    let stdout = mask_pids(&normalise(&out.stdout, program));
    let (log, report): (Vec<&str>, Vec<&str>) = stdout.lines().partition(|l| l.starts_with('['));
    View {
        code: out.code(),
        report: report.iter().map(|l| format!("{l}\n")).collect(),
        subreaper_lines: log
            .iter()
            .filter(|l| l.contains("subreaper"))
            .map(|l| l.to_string())
            .collect(),
        stderr: mask_pids(&normalise(&out.stderr, program)),
    }
}

/// Run every case under the peer and under ours (link and copy); report every mismatch.
fn check(name: &'static str, cases: &[Case]) {
    let mut diffs = Vec::new();
    let pairs = Pair::both(name);
    for case in cases {
        let what = format!("{name} {:?} {:?} {:?}", case.ns, case.args, case.env);
        let peer_out = run(case.ns, &pairs[0].peer, case.args, case.env);
        let peer = view(&peer_out, &pairs[0].peer);
        let want_report = if case.adopted { ADOPTED } else { NOT_ADOPTED };
        let peer_ok = peer.code == Some(3)
            && peer.report == want_report
            && peer.stderr.contains(WARNING) == case.warns
            && peer.subreaper_lines.iter().any(|l| l.contains(REGISTERED)) == case.registers;
        if !peer_ok {
            diffs.push(format!(
                "{what}: the peer does not do what the table says (adopted {}, warns {}, registers {})\n  peer: {peer:?}",
                case.adopted, case.warns, case.registers
            ));
        }
        for pair in &pairs {
            let ours_out = run(case.ns, &pair.ours, case.args, case.env);
            let ours = view(&ours_out, &pair.ours);
            if ours != peer {
                diffs.push(format!(
                    "{what} (ours as a {:?}):\n  peer: {peer:?}\n  ours: {ours:?}",
                    pair.how
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} subreaper case(s) differ:\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

const fn case(
    ns: PidNs,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    adopted: bool,
    warns: bool,
) -> Case {
    Case {
        ns,
        args,
        env,
        adopted,
        warns,
        registers: false,
    }
}

const fn traced(mut c: Case) -> Case {
    c.registers = true;
    c
}

/// tini: `-s` or `TINI_SUBREAPER` registers (even as pid 1); without either, not pid 1,
/// orphans are not re-parented to tini and it warns, unless it inherited the bit
/// (reaper_check reads it with PR_GET_CHILD_SUBREAPER). TINI_VERBOSITY=0 silences the
/// warning, not the state.
#[test]
fn tini_subreaper_states_like_the_peer() {
    use PidNs::*;
    let vvv = &["-vvv"];
    check(
        "tini",
        &[
            case(Init, &[], &[], true, false),
            case(Init, &["-s"], &[], true, false),
            traced(case(Init, &["-s", "-vvv"], &[], true, false)),
            case(Init, vvv, &[], true, false),
            case(Wrapped, &[], &[], false, true),
            case(Wrapped, &[], &[("TINI_VERBOSITY", "0")], false, false),
            case(Wrapped, &["-v"], &[], false, true),
            case(Wrapped, vvv, &[], false, true),
            case(Wrapped, &["-s"], &[], true, false),
            traced(case(Wrapped, &["-s", "-vvv"], &[], true, false)),
            case(Wrapped, &[], &[("TINI_SUBREAPER", "1")], true, false),
            case(Wrapped, &[], &[("TINI_SUBREAPER", "")], true, false),
            traced(case(
                Wrapped,
                &[],
                &[("TINI_SUBREAPER", "1"), ("TINI_VERBOSITY", "4")],
                true,
                false,
            )),
            case(WrappedSubreaper, &[], &[], true, false),
            case(WrappedSubreaper, vvv, &[], true, false),
            case(WrappedSubreaper, &["-s"], &[], true, false),
            case(WrappedSubreaper, &["-g"], &[], true, false),
            // -w: a warning for each orphan reaped (compared line for line).
            case(Init, &["-w"], &[], true, false),
            case(Wrapped, &["-s", "-w"], &[], true, false),
            case(Wrapped, &["-w"], &[], false, true),
        ],
    );
}

/// docker-init is tini under another name; tini-static is Debian's static build.
#[test]
fn docker_init_and_tini_static_subreaper_states_like_the_peer() {
    use PidNs::*;
    for name in ["docker-init", "tini-static"] {
        check(
            name,
            &[
                case(Init, &[], &[], true, false),
                case(Wrapped, &[], &[], false, true),
                case(Wrapped, &["-s"], &[], true, false),
                case(WrappedSubreaper, &[], &[], true, false),
            ],
        );
    }
}

/// dumb-init never registers and never warns, in either setsid mode: only pid 1, or a
/// bit inherited from its parent, re-parents orphans to it.
#[test]
fn dumb_init_subreaper_states_like_the_peer() {
    use PidNs::*;
    let no_setsid = &[("DUMB_INIT_SETSID", "0")];
    check(
        "dumb-init",
        &[
            case(Init, &[], &[], true, false),
            case(Init, &["-c"], &[], true, false),
            case(Init, &[], no_setsid, true, false),
            case(Wrapped, &[], &[], false, false),
            case(Wrapped, &["-c"], &[], false, false),
            case(Wrapped, &[], no_setsid, false, false),
            case(WrappedSubreaper, &[], &[], true, false),
            case(WrappedSubreaper, &["-c"], &[], true, false),
            case(WrappedSubreaper, &[], no_setsid, true, false),
        ],
    );
}
