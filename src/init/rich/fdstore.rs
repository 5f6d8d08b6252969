//! The fd store (sd_notify(3) `FDSTORE=1`, systemd's FILE_DESCRIPTOR_STORE): descriptors
//! a service hands to the init over its NOTIFY_SOCKET, kept across its exits, crashes and
//! restarts, and given back at its next start after its `listen` sockets (fd 3 onwards,
//! counted in LISTEN_FDS, named in LISTEN_FDNAMES). At most `fd-store-max` are kept (0,
//! the default, keeps none); the rest are closed at once with a warning. The store is
//! emptied when the service stops for good (FileDescriptorStorePreserve=no, systemd's
//! default), not when it restarts.

use crate::config::valid_fd_name;
use crate::sys::unix_socket::{same_file, Sender};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The name of descriptors stored without a valid FDNAME= (sd_notify(3)).
const DEFAULT_NAME: &str = "stored";

/// What one datagram asks of the store, and the descriptors it carried (close-on-exec,
/// ours: dropping the message closes whatever was not kept).
#[derive(Debug, Default)]
pub(super) struct FdMessage {
    /// FDSTOREREMOVE=1: the FDNAME= whose descriptors to close, `None` when it has no
    /// valid one.
    pub remove: Option<Option<String>>,
    /// FDSTORE=1: the name to keep its descriptors under.
    pub store: Option<String>,
    pub fds: Vec<OwnedFd>,
    /// Who sent it (SCM_CREDENTIALS); None when the kernel did not say.
    pub sender: Option<Sender>,
}

/// Whether `sender` may use a service's fd store (its notify socket is abstract: anyone
/// in the network namespace can send to it). The pid must be the service's main process
/// or in its process group (the service leads one; `sender_pgid` is the sender's group,
/// looked up when the message came), and the uid root, ours, or the service's. systemd's
/// NotifyAccess=main takes the main pid only; the group lets a service's helper (a
/// pre-fork master's worker, `systemd-notify` from its script) store too.
pub(super) fn sender_allowed(
    sender: Option<Sender>,
    main_pid: i32,
    sender_pgid: Option<i32>,
    service_uid: Option<u32>,
    our_uid: u32,
) -> bool {
    let Some(s) = sender else {
        return false;
    };
    let pid_ok = s.pid == main_pid || (main_pid > 0 && sender_pgid == Some(main_pid));
    let uid_ok = s.uid == 0 || s.uid == our_uid || Some(s.uid) == service_uid;
    pid_ok && uid_ok
}

impl FdMessage {
    /// The fd-store assignments of a datagram; `fds` left empty. A name that is not valid
    /// (1 to 255 ASCII characters, no control characters, no ':') is ignored, as systemd
    /// does: stored descriptors are then named "stored".
    pub fn parse(datagram: &[u8]) -> FdMessage {
        let (mut store, mut remove, mut name) = (false, false, None);
        for line in datagram.split(|b| *b == b'\n') {
            match line {
                b"FDSTORE=1" => store = true,
                b"FDSTOREREMOVE=1" => remove = true,
                _ => {
                    if let Some(v) = line.strip_prefix(b"FDNAME=") {
                        name = std::str::from_utf8(v).ok().filter(|n| valid_fd_name(n));
                    }
                }
            }
        }
        FdMessage {
            remove: remove.then(|| name.map(str::to_string)),
            store: store.then(|| name.unwrap_or(DEFAULT_NAME).to_string()),
            fds: Vec::new(),
            sender: None,
        }
    }

    /// Whether there is anything to do: it asks something or carries descriptors.
    pub fn is_empty(&self) -> bool {
        self.remove.is_none() && self.store.is_none() && self.fds.is_empty()
    }
}

/// One service's store: (name, descriptor) in the order they came.
#[derive(Debug, Default)]
pub(super) struct FdStore {
    max: usize,
    held: Vec<(String, OwnedFd)>,
    /// The setting its limit comes from, for the warnings: `fd-store-max` (services.d) or
    /// `FileDescriptorStoreMax` (a unit's [Service]).
    key: &'static str,
}

impl FdStore {
    pub fn new(max: u32) -> FdStore {
        FdStore::with_key(max, "fd-store-max")
    }

    pub fn with_key(max: u32, key: &'static str) -> FdStore {
        FdStore {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            held: Vec::new(),
            key,
        }
    }

    /// Carry out `msg` for `service` (defined in `file`): first FDSTOREREMOVE=1, then
    /// FDSTORE=1. Descriptors not kept are closed here; the warnings to log.
    pub fn apply(&mut self, msg: FdMessage, service: &str, file: &Path) -> Vec<String> {
        let mut warnings = Vec::new();
        match &msg.remove {
            Some(Some(name)) => self.held.retain(|(n, _)| n != name),
            Some(None) => warnings.push(format!(
                "service {service}: FDSTOREREMOVE=1 without a valid FDNAME=; ignored"
            )),
            None => {}
        }
        let Some(name) = msg.store else {
            // Descriptors without FDSTORE=1 are not for us: closed (dropped) here.
            return warnings;
        };
        let mut closed = 0;
        for fd in msg.fds {
            // One already held is not held twice (systemd drops duplicates too).
            let held = &self.held;
            if held
                .iter()
                .any(|(_, h)| same_file(h.as_raw_fd(), fd.as_raw_fd()))
            {
                continue;
            }
            if held.len() < self.max {
                self.held.push((name.clone(), fd));
            } else {
                closed += 1;
            }
        }
        if closed > 0 {
            warnings.push(if self.max == 0 {
                format!(
                    "service {service}: FDSTORE=1 but {key} is 0: closed {closed} \
                     descriptor(s); set {key} in {} to keep them",
                    file.display(),
                    key = self.key
                )
            } else {
                format!(
                    "service {service}: fd store full ({} = {}): closed {closed} \
                     descriptor(s) named {name}",
                    self.key, self.max
                )
            });
        }
        warnings
    }

    /// How many more it may hold.
    pub fn room(&self) -> usize {
        self.max.saturating_sub(self.held.len())
    }

    /// Hold `fd` as `name` (handed over by an upgrade's old init); given back when full.
    pub fn adopt(&mut self, name: &str, fd: OwnedFd) -> Result<(), OwnedFd> {
        if self.room() == 0 {
            return Err(fd);
        }
        self.held.push((name.to_string(), fd));
        Ok(())
    }

    /// (name, descriptor) of each held, for a hand-over.
    pub fn held(&self) -> impl Iterator<Item = (&str, RawFd)> {
        self.held.iter().map(|(n, fd)| (n.as_str(), fd.as_raw_fd()))
    }

    /// Close everything held (the service stopped for good).
    pub fn clear(&mut self) {
        self.held.clear();
    }

    /// The descriptors to pass at a start, after the listen sockets.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.held.iter().map(|(_, fd)| fd.as_raw_fd())
    }

    /// Their names, in the same order, for LISTEN_FDNAMES.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|(n, _)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    fn devnull() -> OwnedFd {
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .unwrap_or_else(|e| panic!("/dev/null: {e}"))
    }

    /// A descriptor to hand over, and the other end of its socket pair, which tells
    /// whether it is still open anywhere (tests run in parallel: counting /proc/self/fd
    /// would race).
    fn pair() -> (UnixStream, OwnedFd) {
        let (kept, sent) = UnixStream::pair().unwrap_or_else(|e| panic!("socketpair: {e}"));
        kept.set_nonblocking(true)
            .unwrap_or_else(|e| panic!("nonblocking: {e}"));
        (kept, sent.into())
    }

    /// How many of `ends` still have their other end open.
    fn open(ends: &[UnixStream]) -> usize {
        ends.iter()
            .filter(|s| {
                let mut s: &UnixStream = s;
                let got = s.read(&mut [0u8; 1]);
                matches!(got, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            })
            .count()
    }

    #[test]
    fn who_may_store() {
        let s = |pid, uid| Some(Sender { pid, uid });
        // (sender, main pid, sender's group, service uid, our uid, allowed)
        type Case = (Option<Sender>, i32, Option<i32>, Option<u32>, u32, bool);
        let cases: &[Case] = &[
            (s(10, 0), 10, Some(10), None, 0, true),
            (s(11, 0), 10, Some(10), None, 0, true),
            (s(11, 0), 10, Some(11), None, 0, false),
            (s(11, 0), 10, None, None, 0, false),
            (s(10, 1000), 10, Some(10), Some(1000), 0, true),
            (s(10, 1000), 10, Some(10), None, 1000, true),
            (s(10, 1001), 10, Some(10), Some(1000), 0, false),
            (s(10, 65534), 10, Some(10), None, 0, false),
            (None, 10, Some(10), None, 0, false),
            (s(0, 0), 0, Some(0), None, 0, true),
            (s(5, 0), 0, Some(0), None, 0, false),
        ];
        for (sender, main, pgid, svc_uid, me, want) in cases {
            assert_eq!(
                sender_allowed(*sender, *main, *pgid, *svc_uid, *me),
                *want,
                "{sender:?} main {main} pgid {pgid:?} uid {svc_uid:?} me {me}"
            );
        }
    }

    #[test]
    fn parse_messages() {
        type Case = (
            &'static str,
            Option<Option<&'static str>>,
            Option<&'static str>,
        );
        let long = format!("FDSTORE=1\nFDNAME={}", "x".repeat(256));
        let cases: &[Case] = &[
            ("READY=1", None, None),
            ("FDSTORE=1", None, Some("stored")),
            ("FDSTORE=1\nFDNAME=http", None, Some("http")),
            ("FDNAME=http\nFDSTORE=1\n", None, Some("http")),
            ("FDSTORE=1\nFDNAME=a:b", None, Some("stored")),
            ("FDSTORE=1\nFDNAME=", None, Some("stored")),
            ("FDSTORE=1\nFDNAME=tab\there", None, Some("stored")),
            ("FDSTORE=0\nFDNAME=x", None, None),
            ("FDSTOREREMOVE=1\nFDNAME=x", Some(Some("x")), None),
            ("FDSTOREREMOVE=1", Some(None), None),
            ("FDSTOREREMOVE=1\nFDNAME=a:b", Some(None), None),
            (
                "FDSTOREREMOVE=1\nFDSTORE=1\nFDNAME=x",
                Some(Some("x")),
                Some("x"),
            ),
        ];
        for (text, remove, store) in cases {
            let m = FdMessage::parse(text.as_bytes());
            assert_eq!(m.remove.as_ref().map(Option::as_deref), *remove, "{text:?}");
            assert_eq!(m.store.as_deref(), *store, "{text:?}");
            assert_eq!(
                m.is_empty(),
                remove.is_none() && store.is_none(),
                "{text:?}"
            );
        }
        assert_eq!(
            FdMessage::parse(long.as_bytes()).store.as_deref(),
            Some("stored")
        );
    }

    /// (max, messages as (datagram, descriptors carried), names held after, warnings).
    type Step = (&'static str, usize);
    type StoreCase = (
        u32,
        &'static [Step],
        &'static [&'static str],
        &'static [&'static str],
    );

    #[test]
    fn add_remove_and_limit() {
        let file = Path::new("services.d/app.toml");
        let cases: &[StoreCase] = &[
            (4, &[("FDSTORE=1\nFDNAME=x", 1)], &["x"], &[]),
            (4, &[("FDSTORE=1", 2)], &["stored", "stored"], &[]),
            (4, &[("READY=1", 2)], &[], &[]),
            (
                4,
                &[("FDSTORE=1\nFDNAME=a", 1), ("FDSTORE=1\nFDNAME=b", 2)],
                &["a", "b", "b"],
                &[],
            ),
            (
                4,
                &[
                    ("FDSTORE=1\nFDNAME=a", 2),
                    ("FDSTORE=1\nFDNAME=b", 1),
                    ("FDSTOREREMOVE=1\nFDNAME=a", 0),
                ],
                &["b"],
                &[],
            ),
            (
                4,
                &[
                    ("FDSTORE=1\nFDNAME=a", 1),
                    ("FDSTOREREMOVE=1\nFDSTORE=1\nFDNAME=a", 1),
                ],
                &["a"],
                &[],
            ),
            (
                4,
                &[("FDSTORE=1\nFDNAME=a", 1), ("FDSTOREREMOVE=1", 0)],
                &["a"],
                &["service app: FDSTOREREMOVE=1 without a valid FDNAME=; ignored"],
            ),
            (
                2,
                &[("FDSTORE=1\nFDNAME=a", 1), ("FDSTORE=1\nFDNAME=b", 3)],
                &["a", "b"],
                &["service app: fd store full (fd-store-max = 2): closed 2 descriptor(s) named b"],
            ),
            (
                0,
                &[("FDSTORE=1\nFDNAME=a", 1)],
                &[],
                &[
                    "service app: FDSTORE=1 but fd-store-max is 0: closed 1 descriptor(s); set \
                   fd-store-max in services.d/app.toml to keep them",
                ],
            ),
        ];
        for (max, steps, names, warnings) in cases {
            let mut store = FdStore::new(*max);
            let mut said = Vec::new();
            let mut ends = Vec::new();
            for (text, count) in *steps {
                let mut msg = FdMessage::parse(text.as_bytes());
                for _ in 0..*count {
                    let (kept, sent) = pair();
                    ends.push(kept);
                    msg.fds.push(sent);
                }
                said.extend(store.apply(msg, "app", file));
            }
            assert_eq!(store.names().collect::<Vec<_>>(), *names, "{steps:?}");
            assert_eq!(store.fds().count(), names.len());
            assert_eq!(said, *warnings, "{steps:?}");
            assert_eq!(open(&ends), names.len(), "{steps:?}: a descriptor leaked");
            store.clear();
            assert_eq!(store.names().count(), 0);
            assert_eq!(open(&ends), 0, "{steps:?}: clear left one open");
        }
    }

    #[test]
    fn the_same_file_is_held_once() {
        let fd = devnull();
        if !same_file(fd.as_raw_fd(), fd.as_raw_fd()) {
            // kcmp refused here (seccomp): duplicates cannot be told, and are kept.
            return;
        }
        let mut store = FdStore::new(8);
        let copy = fd.try_clone().unwrap_or_else(|e| panic!("dup: {e}"));
        let msg = FdMessage {
            store: Some("x".into()),
            fds: vec![fd, copy, devnull()],
            ..FdMessage::default()
        };
        assert!(store.apply(msg, "app", Path::new("a.toml")).is_empty());
        assert_eq!(store.names().collect::<Vec<_>>(), ["x", "x"]);
    }
}
