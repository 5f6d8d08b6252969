//! Terminal handling on a real pty, ours next to the Debian peers: where CMD lands
//! (session, process group, controlling terminal, foreground group), what ^Z does to CMD
//! and to the init, and that SIGCONT sent to the init resumes everything.
//!
//! Facts the expectations rest on: a process group whose members' parents are all outside
//! its session is orphaned, and the kernel discards SIGTSTP for it; so with the init
//! leading the session (docker -t), dumb-init's CMD, in a session of its own, ignores ^Z.
//! When the init is a shell's foreground job, ^Z reaches the init, and dumb-init stops
//! CMD's group and then itself.

use crate::differential::Pair;
use crate::harness::{bin, HANDSHAKE_LIMIT};
use crate::pty_rig::{PtyRig, Seat};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

/// Everything observed in one run; compared as a whole between peer and ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct View {
    cmd_leads_its_session: bool,
    cmd_leads_its_group: bool,
    cmd_has_the_terminal: bool,
    cmd_is_foreground: bool,
    /// (init stopped, CMD stopped) after ^Z.
    after_ctrl_z: (bool, bool),
    /// (init stopped, CMD stopped) after SIGCONT to the init.
    after_sigcont: (bool, bool),
    exit: Option<i32>,
}

/// dumb-init's behaviour (and rich-init's default, session isolation).
fn session_view(seat: Seat) -> View {
    let leader = seat == Seat::Leader;
    View {
        cmd_leads_its_session: true,
        cmd_leads_its_group: true,
        // As a job, the terminal belongs to the shell's session: CMD cannot take it.
        cmd_has_the_terminal: leader,
        cmd_is_foreground: leader,
        after_ctrl_z: if leader { (false, false) } else { (true, true) },
        after_sigcont: (false, false),
        exit: Some(0),
    }
}

/// tini's behaviour (and rich-init's `--isolation group`).
fn group_view() -> View {
    View {
        cmd_leads_its_session: false,
        cmd_leads_its_group: true,
        cmd_has_the_terminal: true,
        cmd_is_foreground: true,
        after_ctrl_z: (false, true),
        after_sigcont: (false, false),
        exit: Some(0),
    }
}

/// Poll `probe` until it returns `want` or the handshake limit passes; return the last value.
fn settle<T: PartialEq + Copy>(want: T, mut probe: impl FnMut() -> T) -> T {
    let start = Instant::now();
    loop {
        let got = probe();
        if got == want || start.elapsed() > HANDSHAKE_LIMIT {
            return got;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run `init` in `seat`, type ^Z, send SIGCONT. `want` only says what to wait for; the
/// view reports what was observed, the string what appeared on the terminal.
fn drive(init: &[OsString], seat: Seat, want: View) -> (View, String) {
    let mut rig = PtyRig::start(init, seat);
    let s = rig.cmd_stat();
    let mut view = View {
        cmd_leads_its_session: s.session == s.pid,
        cmd_leads_its_group: s.pgrp == s.pid,
        cmd_has_the_terminal: s.tty_nr != 0,
        cmd_is_foreground: s.tpgid == s.pgrp,
        after_ctrl_z: (false, false),
        after_sigcont: (false, false),
        exit: None,
    };
    rig.type_bytes(&[0x1a]);
    view.after_ctrl_z = if want.after_ctrl_z == (false, false) {
        // Nothing should stop: fence through the terminal, then look.
        rig.winch_fence();
        rig.stopped()
    } else {
        settle(want.after_ctrl_z, || rig.stopped())
    };
    kill(Pid::from_raw(rig.init), Signal::SIGCONT).expect("send SIGCONT to the init");
    view.after_sigcont = settle((false, false), || rig.stopped());
    let screen = rig.screen();
    view.exit = rig.finish();
    (view, screen)
}

fn argv(program: &Path, args: &[&str]) -> Vec<OsString> {
    std::iter::once(program.as_os_str().to_owned())
        .chain(args.iter().map(OsString::from))
        .collect()
}

fn check_pair(name: &'static str, args: &[&str], seat: Seat, want: View) {
    let [link, copy] = Pair::both(name);
    let (peer, peer_screen) = drive(&argv(&link.peer, args), seat, want);
    for pair in [&link, &copy] {
        let (ours, our_screen) = drive(&argv(&pair.ours, args), seat, want);
        assert_eq!(
            ours, peer,
            "{name} {args:?} on a pty ({seat:?}, ours as a {:?}): ours (left) differ from the peer (right)\n\
             terminal output: ours {our_screen:?}, peer {peer_screen:?}",
            pair.how
        );
    }
    assert_eq!(
        peer, want,
        "{name} {args:?} on a pty ({seat:?}): the peer does not do what this test expects\n\
         terminal output: {peer_screen:?}"
    );
}

#[test]
fn dumb_init_leading_the_session_gives_cmd_the_terminal_like_the_peer() {
    check_pair("dumb-init", &[], Seat::Leader, session_view(Seat::Leader));
}

#[test]
fn dumb_init_as_a_job_stops_with_cmd_on_ctrl_z_like_the_peer() {
    check_pair("dumb-init", &[], Seat::Job, session_view(Seat::Job));
}

#[test]
fn tini_makes_cmd_the_foreground_group_like_the_peer() {
    check_pair("tini", &["-s"], Seat::Leader, group_view());
    check_pair("tini", &["-s"], Seat::Job, group_view());
}

#[test]
fn rich_init_default_behaves_like_dumb_init_on_a_terminal() {
    for seat in [Seat::Leader, Seat::Job] {
        let (got, screen) = drive(&argv(&bin(), &[]), seat, session_view(seat));
        assert_eq!(
            got,
            session_view(seat),
            "rich-init on a pty ({seat:?}); terminal output: {screen:?}"
        );
    }
}

#[test]
fn rich_init_isolation_group_behaves_like_tini_on_a_terminal() {
    for seat in [Seat::Leader, Seat::Job] {
        let args = ["--isolation", "group"];
        let (got, screen) = drive(&argv(&bin(), &args), seat, group_view());
        assert_eq!(
            got,
            group_view(),
            "rich-init {args:?} on a pty ({seat:?}); terminal output: {screen:?}"
        );
    }
}

/// dumb-init -c (and DUMB_INIT_SETSID=0) leaves CMD in its own group and session, with
/// the terminal; ^Z reaches both, and dumb-init stops itself after forwarding it. Leading
/// the session, their group is orphaned: the kernel discards CMD's SIGTSTP, but
/// dumb-init reads its own and still stops itself.
fn single_child_view(seat: Seat) -> View {
    View {
        cmd_leads_its_session: false,
        cmd_leads_its_group: false,
        cmd_has_the_terminal: true,
        cmd_is_foreground: true,
        after_ctrl_z: (true, seat == Seat::Job),
        after_sigcont: (false, false),
        exit: Some(0),
    }
}

#[test]
fn dumb_init_single_child_on_a_terminal_like_the_peer() {
    for seat in [Seat::Job, Seat::Leader] {
        check_pair("dumb-init", &["-c"], seat, single_child_view(seat));
    }
}
