//! Differential runs: the same command line under a Debian peer and under our binary
//! invoked by the same name, compared on exit status and normalised stdout/stderr.

// Shared by several test files: not every piece is used by every one.
#![allow(dead_code)]

use crate::harness::{
    bin, normalise, personality_dir, require, Outcome, PersonalityDir, Run, TempDir,
};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

/// How our binary is reachable under the peer's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ours {
    /// A symlink named like the peer (`realpath` names rich-init).
    Link,
    /// A copy of the binary named like the peer (`realpath` and /proc/PID/exe name it).
    Copy,
}

/// Where our binary under the peer's name lives.
enum OursDir {
    Links(PersonalityDir),
    Copies(TempDir),
}

/// The peer program and ours, both reachable under one name.
pub struct Pair {
    pub name: &'static str,
    pub peer: PathBuf,
    pub ours: PathBuf,
    /// How `ours` reaches our binary.
    pub how: Ours,
    _peer_links: Option<TempDir>,
    _ours: OursDir,
}

/// Replace the digits after `PID `, `pid '`, `pid: '`, `pid=` and `tini (` with `N`.
pub fn mask_pids(text: &str) -> String {
    const MARKS: &[&str] = &["PID ", "pid '", "pid: '", "pid=", "tini ("];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, mark)) = MARKS
        .iter()
        .filter_map(|m| rest.find(m).map(|at| (at, *m)))
        .min_by_key(|(at, _)| *at)
    {
        let (head, tail) = rest.split_at(at + mark.len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

impl Pair {
    /// `dumb-init`, `tini` or `docker-init` (Debian's tini under that name).
    pub fn new(name: &'static str) -> Pair {
        Pair::with(name, Ours::Link)
    }

    /// Ours as a copy of the binary named `name`, not a symlink.
    pub fn copy(name: &'static str) -> Pair {
        Pair::with(name, Ours::Copy)
    }

    /// The pair with ours reached both ways: a symlink, then a copy.
    pub fn both(name: &'static str) -> [Pair; 2] {
        [Pair::new(name), Pair::copy(name)]
    }

    pub fn with(name: &'static str, how: Ours) -> Pair {
        let (ours, ours_dir) = match how {
            Ours::Link => {
                let dir = personality_dir();
                (dir.path(name), OursDir::Links(dir))
            }
            Ours::Copy => {
                let dir = TempDir::new("copies");
                let path = dir.join(name);
                std::fs::copy(bin(), &path).unwrap_or_else(|e| {
                    panic!("cannot copy {} to {}: {e}", bin().display(), path.display())
                });
                (path, OursDir::Copies(dir))
            }
        };
        let (peer, links) = match name {
            "docker-init" => {
                let links = TempDir::new("peer-names");
                let link = links.join(name);
                std::os::unix::fs::symlink(require("tini"), &link)
                    .unwrap_or_else(|e| panic!("cannot create symlink {}: {e}", link.display()));
                (link, Some(links))
            }
            _ => (require(name), None),
        };
        Pair {
            name,
            peer,
            ours,
            how,
            _peer_links: links,
            _ours: ours_dir,
        }
    }

    /// The peer's name and how ours is reached, for failure messages: `tini (ours as a Copy)`.
    pub fn label(&self) -> String {
        format!("{} (ours as a {:?})", self.name, self.how)
    }

    /// Run both with `args` and `env`, returning (peer, ours).
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Outcome, Outcome) {
        let make = |program: &PathBuf| {
            let mut run = Run::new(program).args(args);
            for (k, v) in env {
                run = run.env(k, v);
            }
            run.output()
        };
        (make(&self.peer), make(&self.ours))
    }

    /// Assert identical exit status and identical normalised stdout and stderr.
    pub fn assert_same(&self, args: &[&str], env: &[(&str, &str)]) -> (Outcome, Outcome) {
        let (peer, ours) = self.run(args, env);
        let view = |o: &Outcome, p: &PathBuf| {
            (
                o.status.code(),
                o.signal(),
                normalise(&o.stdout, p),
                normalise(&o.stderr, p),
            )
        };
        assert_eq!(
            view(&ours, &self.ours),
            view(&peer, &self.peer),
            "{} {args:?} {env:?}: ours (left) differs from the peer (right)\npeer: {peer}\nours: {ours}",
            self.label()
        );
        (peer, ours)
    }

    /// Assert only the same exit status (for help and license texts, which differ on purpose).
    pub fn assert_same_code(&self, args: &[&str]) {
        let (peer, ours) = self.run(args, &[]);
        assert_eq!(
            (ours.code(), ours.signal()),
            (peer.code(), peer.signal()),
            "{} {args:?}: exit status differs\npeer: {peer}\nours: {ours}",
            self.label()
        );
    }
}

/// Run `run` under the peer `name` once and under ours reached both ways (a symlink, then
/// a copy), assert that each of ours gives what the peer gives, and return the peer's
/// result. `run` also gets who runs (`tini (the peer)`, `tini (ours as a Link)`), for its
/// own failure messages; `what` names the scenario in the comparison's.
pub fn like_the_peer_both_ways<T: PartialEq + Debug>(
    name: &'static str,
    what: &str,
    run: impl Fn(&Path, &str) -> T,
) -> T {
    let [link, copy] = Pair::both(name);
    let peer = run(&link.peer, &format!("{name} (the peer)"));
    for pair in [&link, &copy] {
        let ours = run(&pair.ours, &pair.label());
        assert_eq!(
            ours,
            peer,
            "{} {what}: ours (left) differ from the peer (right)",
            pair.label()
        );
    }
    peer
}

#[test]
fn mask_pids_masks_only_pids() {
    assert_eq!(
        mask_pids("[INFO  tini (12)] Spawned child process 'sh' with pid '345'\n[dumb-init] A child with PID 6 exited with exit status 3.\nReaped child with pid: '78'\nReaped zombie process with pid=9"),
        "[INFO  tini (N)] Spawned child process 'sh' with pid 'N'\n[dumb-init] A child with PID N exited with exit status 3.\nReaped child with pid: 'N'\nReaped zombie process with pid=N"
    );
}
