//! A network namespace for the containerd measures (`ip netns add`), with its loopback up
//! (the sockets rows' client connects to 127.0.0.1 inside it); deleted by `remove` or on
//! drop. The name carries the bench's pid and a label, so two measures never share one.

use crate::child;
use crate::ctrd::{require, LIMIT};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct NetNs(Option<String>);

fn ip(args: &[&str]) -> Result<(), String> {
    let what = format!("ip {}", args.join(" "));
    child::run(Command::new("ip").args(args), LIMIT, &what).map(drop)
}

impl NetNs {
    pub fn add(label: &str) -> Result<NetNs, String> {
        require("ip", "iproute2")?;
        let name = format!("rich-init-bench-{}-{label}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = NetNs(Some(name.clone()));
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn path(&self) -> PathBuf {
        Path::new("/var/run/netns").join(self.0.as_deref().unwrap_or_default())
    }

    pub fn remove(&mut self) -> Vec<String> {
        let Some(name) = self.0.take() else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        if let Err(e) = ip(&["netns", "delete", &name]) {
            problems.push(e);
        }
        let path = Path::new("/var/run/netns").join(&name);
        if path.exists() {
            problems.push(format!("{} is still there", path.display()));
        }
        problems
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        for problem in self.remove() {
            eprintln!("bench: {problem}");
        }
    }
}
