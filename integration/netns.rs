//! Network namespaces for tests, as a CNI plugin would leave them: `ip netns add NAME`, a
//! veth pair whose inner end is moved inside and renamed eth0, a private /30 from
//! 10.213.0.0/16 (host end .1, inside .2), both links up and lo up inside. Drop deletes the
//! veth and the namespace.
//!
//! The /30 is claimed host-wide without a lock file: subnet N goes with the netns name
//! `rich-init-it-N` and the host interface `ritNh`, and both are created exclusively (`ip
//! netns add` fails on an existing name, so does `ip link add`). A name that is taken,
//! by a concurrent test process or by a leftover, moves the claim on to the next subnet.

// Shared by the containerd tests and the upgrade-helper tests: not every piece is used by every build.
#![allow(dead_code)]

use crate::harness::{require, Outcome, Run};
use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// /30 subnets in 10.213.0.0/16.
const SUBNETS: usize = 1 << 14;

/// Where `ip netns` keeps its namespaces.
pub const NETNS_DIR: &str = "/var/run/netns";

/// The interface name inside the namespace.
pub const INSIDE_IF: &str = "eth0";

fn ip() -> Run {
    Run::new(require("ip"))
}

/// `ip ARGS...`, which must succeed.
fn ip_ok<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = ip().args(args).output();
    assert_eq!(out.code(), Some(0), "ip failed\n{out}");
    out
}

/// A network namespace with a veth to the host and an IPv4 address on each end.
pub struct NetNs {
    subnet: usize,
    name: String,
    host_if: String,
    /// Whether the veth pair exists (Drop deletes it).
    veth: bool,
}

impl NetNs {
    /// Claim a free /30, create the namespace and the veth, address and bring them up.
    pub fn new() -> NetNs {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let first =
            (std::process::id() as usize * 64 + NEXT.fetch_add(1, Ordering::Relaxed)) % SUBNETS;
        let ns = (0..SUBNETS)
            .map(|k| (first + k) % SUBNETS)
            .find_map(NetNs::claim)
            .unwrap_or_else(|| {
                panic!("no free /30 in 10.213.0.0/16: delete leftover `ip netns` namespaces named rich-init-it-N")
            });
        let inside_cidr = format!("{}/30", ns.inside_ip());
        let host_cidr = format!("{}/30", ns.host_ip());
        let (name, host_if) = (ns.name.clone(), ns.host_if.clone());
        let peer = format!("rit{}c", ns.subnet);
        ip_ok(["link", "set", &peer, "netns", &name]);
        ip_ok(["-n", &name, "link", "set", &peer, "name", INSIDE_IF]);
        ip_ok(["-n", &name, "addr", "add", &inside_cidr, "dev", INSIDE_IF]);
        ip_ok(["-n", &name, "link", "set", INSIDE_IF, "up"]);
        ip_ok(["-n", &name, "link", "set", "lo", "up"]);
        ip_ok(["addr", "add", &host_cidr, "dev", &host_if]);
        ip_ok(["link", "set", &host_if, "up"]);
        ns
    }

    /// Take subnet `n` if both its netns name and its veth names are free.
    fn claim(n: usize) -> Option<NetNs> {
        let name = format!("rich-init-it-{n}");
        let path = Path::new(NETNS_DIR).join(&name);
        let out = ip().args(["netns", "add", &name]).output();
        if out.code() != Some(0) {
            assert!(path.exists(), "ip netns add failed\n{out}");
            return None; // taken
        }
        let mut ns = NetNs {
            subnet: n,
            name,
            host_if: format!("rit{n}h"),
            veth: false,
        };
        let peer = format!("rit{n}c");
        let out = ip()
            .args([
                "link",
                "add",
                &ns.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &peer,
            ])
            .output();
        if out.code() != Some(0) {
            let taken = [&ns.host_if, &peer]
                .iter()
                .any(|i| Path::new("/sys/class/net").join(i).exists());
            assert!(taken, "ip link add (veth) failed\n{out}");
            return None; // a leftover holds the name; Drop removes our netns
        }
        ns.veth = true;
        Some(ns)
    }

    /// The namespace's name for `ip -n`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// /var/run/netns/NAME, what `ctr run --with-ns network:PATH` and an OCI spec take.
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// The host end of the veth.
    pub fn host_if(&self) -> &str {
        &self.host_if
    }

    fn base(&self) -> u32 {
        u32::from(Ipv4Addr::new(10, 213, 0, 0)) + 4 * u32::try_from(self.subnet).expect("< 2^14")
    }

    /// The host end's address.
    pub fn host_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base() + 1)
    }

    /// The address of eth0 inside the namespace.
    pub fn inside_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base() + 2)
    }

    /// The namespace's inode: equal to [`netns_inode`] of each process inside it.
    pub fn inode(&self) -> u64 {
        let path = self.path();
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()))
            .ino()
    }

    /// `ip -n NAME ARGS...` to completion.
    pub fn ip<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        ip().arg("-n").arg(&self.name).args(args).output()
    }
}

/// The inode of the network namespace of `pid` (/proc/PID/ns/net).
pub fn netns_inode(pid: i32) -> u64 {
    let path = format!("/proc/{pid}/ns/net");
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("cannot stat {path}: {e}"))
        .ino()
}

/// Whether a host interface named `name` exists.
pub fn host_link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let mut problems = Vec::new();
        if self.veth {
            // Deleting one end deletes the pair, wherever the other end is.
            let out = ip().args(["link", "del", &self.host_if]).output();
            if out.code() != Some(0) && host_link_exists(&self.host_if) {
                problems.push(out.to_string());
            }
        }
        let out = ip().args(["netns", "del", &self.name]).output();
        if out.code() != Some(0) && self.path().exists() {
            problems.push(out.to_string());
        }
        if problems.is_empty() {
            return;
        }
        let report = format!(
            "netns clean-up left things behind:\n{}",
            problems.join("\n")
        );
        if std::thread::panicking() {
            eprintln!("{report}");
        } else {
            panic!("{report}");
        }
    }
}
