//! Differential runs: the same command line under a Debian peer and under our binary
//! invoked by the same name, compared on exit status and normalised stdout/stderr.

use crate::harness::{normalise, personality_dir, require, Outcome, PersonalityDir, Run, TempDir};
use std::path::PathBuf;

/// The peer program and ours, both reachable under one name.
pub struct Pair {
    pub name: &'static str,
    pub peer: PathBuf,
    pub ours: PathBuf,
    _peer_links: Option<TempDir>,
    _ours: PersonalityDir,
}

impl Pair {
    /// `dumb-init`, `tini` or `docker-init` (Debian's tini under that name).
    pub fn new(name: &'static str) -> Pair {
        let ours = personality_dir();
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
            ours: ours.path(name),
            _peer_links: links,
            _ours: ours,
        }
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
            self.name
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
            self.name
        );
    }
}
