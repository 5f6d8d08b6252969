//! `listen`: the sockets the init binds for a service and passes to it by the
//! sd_listen_fds(3) contract (fd 3 onwards, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES).
//!
//! Each entry is an address string, or a table with the address and its options:
//! ```toml
//! listen = [
//!   "tcp:0.0.0.0:8080",
//!   { address = "tcp6:[::]:8080", backlog = 1024, reuse-port = true, name = "http" },
//!   { address = "unix:/run/app.sock", mode = "0660", owner = "app", group = "app" },
//!   "udp:0.0.0.0:514",
//! ]
//! ```
//! Addresses: `tcp:A.B.C.D:PORT`, `tcp6:[ADDR]:PORT`, `udp:A.B.C.D:PORT`,
//! `udp6:[ADDR]:PORT` and `unix:/absolute/path` (a stream socket). No host names: the
//! sockets are bound before anything resolves names. Port 0 is refused (the service
//! could not be found there).
//!
//! Defaults as systemd.socket(5) has them: backlog 4096 (SOMAXCONN; the kernel caps it
//! at net.core.somaxconn), no SO_REUSEPORT, unix socket mode 0666 and owned by root,
//! and the descriptor name (FileDescriptorName=) the name the socket unit would have:
//! `SERVICE.socket`. `tcp6`/`udp6` sockets are IPV6_V6ONLY, so that `tcp:0.0.0.0:P`
//! and `tcp6:[::]:P` can be listed together.

use std::net::{SocketAddrV4, SocketAddrV6};
use std::path::PathBuf;
use toml::Value;

use super::error::{Kind, Problem};
use super::fields;
use super::service::IdSpec;

/// The default listen backlog: SOMAXCONN, as systemd's Backlog= default.
pub const DEFAULT_BACKLOG: u32 = 4096;
/// The default mode of a unix socket, as systemd's SocketMode= default.
pub const DEFAULT_SOCKET_MODE: u32 = 0o666;
/// The keys of a `listen` table.
pub const LISTEN_KEYS: &[&str] = &[
    "address",
    "backlog",
    "group",
    "mode",
    "name",
    "owner",
    "reuse-port",
];
/// What an address looks like, for error lines.
const FORMS: &str = "tcp:0.0.0.0:8080, tcp6:[::]:8080, udp:0.0.0.0:514, udp6:[::]:514 or \
                     unix:/run/app.sock";

/// Where a socket listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Tcp(SocketAddrV4),
    Tcp6(SocketAddrV6),
    Udp(SocketAddrV4),
    Udp6(SocketAddrV6),
    /// A stream socket at this absolute path.
    Unix(PathBuf),
}

impl Address {
    /// Whether it is a stream socket (listen(2) and a backlog apply).
    pub fn is_stream(&self) -> bool {
        !matches!(self, Address::Udp(_) | Address::Udp6(_))
    }

    pub fn is_unix(&self) -> bool {
        matches!(self, Address::Unix(_))
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "tcp:{a}"),
            Address::Tcp6(a) => write!(f, "tcp6:{a}"),
            Address::Udp(a) => write!(f, "udp:{a}"),
            Address::Udp6(a) => write!(f, "udp6:{a}"),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// One socket of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub address: Address,
    /// listen(2)'s backlog (stream sockets).
    pub backlog: u32,
    /// SO_REUSEPORT (tcp and udp).
    pub reuse_port: bool,
    /// Unix sockets: the file's mode, owner and group.
    pub mode: u32,
    pub owner: Option<IdSpec>,
    pub group: Option<IdSpec>,
    /// Its name in LISTEN_FDNAMES.
    pub name: String,
    /// tcp6/udp6: IPV6_V6ONLY (always for `listen`; a `.socket` unit's IPv6 sockets are
    /// dual-stack unless BindIPv6Only=ipv6-only, as systemd.socket(5) has them).
    pub v6_only: bool,
}

/// Parse an address string.
pub fn address(text: &str) -> Result<Address, Problem> {
    let bad = |why: &'static str| Problem::BadListenAddress {
        value: text.to_owned(),
        why,
        forms: FORMS,
    };
    let Some((scheme, rest)) = text.split_once(':') else {
        return Err(bad("it has no scheme"));
    };
    let v4 = |rest: &str| -> Result<SocketAddrV4, Problem> {
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("it has no :PORT"))?;
        let ip = host
            .parse()
            .map_err(|_| bad("the host is not an IPv4 address like 0.0.0.0"))?;
        Ok(SocketAddrV4::new(
            ip,
            port_number(port).ok_or_else(|| bad(PORT))?,
        ))
    };
    let v6 = |rest: &str| -> Result<SocketAddrV6, Problem> {
        let inner = rest
            .strip_prefix('[')
            .ok_or_else(|| bad("the host is not an IPv6 address in brackets like [::]"))?;
        let (host, port) = inner
            .split_once("]:")
            .ok_or_else(|| bad("it has no ]:PORT"))?;
        let ip = host
            .parse()
            .map_err(|_| bad("the host is not an IPv6 address in brackets like [::]"))?;
        let port = port_number(port).ok_or_else(|| bad(PORT))?;
        Ok(SocketAddrV6::new(ip, port, 0, 0))
    };
    match scheme {
        "tcp" => v4(rest).map(Address::Tcp),
        "tcp6" => v6(rest).map(Address::Tcp6),
        "udp" => v4(rest).map(Address::Udp),
        "udp6" => v6(rest).map(Address::Udp6),
        "unix" => {
            if !rest.starts_with('/') {
                return Err(bad("the path is not absolute"));
            }
            // sun_path holds 108 bytes with the terminating NUL.
            if rest.len() > 107 {
                return Err(bad("the path is longer than 107 bytes"));
            }
            Ok(Address::Unix(PathBuf::from(rest)))
        }
        _ => Err(bad("the scheme is not tcp, tcp6, udp, udp6 or unix")),
    }
}

const PORT: &str = "the port is not a number from 1 to 65535";

fn port_number(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|p| *p != 0)
}

/// A name for LISTEN_FDNAMES, as systemd.socket(5) allows for FileDescriptorName=: 1 to
/// 255 ASCII characters, no control characters and no ':'.
pub fn valid_fd_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && c != ':')
}

/// The `listen` key of service `service`: the sockets, and the problems found, each with
/// its key (`listen[1]`, `listen[1].backlog`).
pub type ListenParts = (Vec<Listen>, Vec<(String, Problem)>);

pub fn listen(value: &Value, service: &str) -> Result<ListenParts, Problem> {
    const EXPECTED: &str = "an array of addresses like [\"tcp:0.0.0.0:8080\"]";
    let items = value.as_array().ok_or_else(|| Problem::WrongType {
        expected: EXPECTED,
        found: Kind::of(value),
    })?;
    let mut sockets: Vec<Listen> = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let key = format!("listen[{i}]");
        match entry(item, service, &key, &mut problems) {
            Some(socket) if sockets.iter().any(|s| s.address == socket.address) => {
                problems.push((
                    key,
                    Problem::DuplicateListen {
                        value: socket.address.to_string(),
                    },
                ));
            }
            Some(socket) => sockets.push(socket),
            None => {}
        }
    }
    Ok((sockets, problems))
}

/// One entry: a string, or a table with `address` and options.
fn entry(
    item: &Value,
    service: &str,
    key: &str,
    problems: &mut Vec<(String, Problem)>,
) -> Option<Listen> {
    let defaults = |address| Listen {
        address,
        backlog: DEFAULT_BACKLOG,
        reuse_port: false,
        mode: DEFAULT_SOCKET_MODE,
        owner: None,
        group: None,
        name: format!("{service}.socket"),
        v6_only: true,
    };
    let table = match item {
        Value::String(text) => {
            return match address(text) {
                Ok(address) => Some(defaults(address)),
                Err(problem) => {
                    problems.push((key.to_owned(), problem));
                    None
                }
            };
        }
        Value::Table(table) => table,
        other => {
            let problem = Problem::WrongType {
                expected: "an address string or a table like { address = \"tcp:0.0.0.0:80\" }",
                found: Kind::of(other),
            };
            problems.push((key.to_owned(), problem));
            return None;
        }
    };
    let before = problems.len();
    let mut report = |sub: &str, problem: Problem| problems.push((format!("{key}.{sub}"), problem));
    for sub in table.keys().filter(|k| !LISTEN_KEYS.contains(&k.as_str())) {
        let problem = Problem::UnknownKey {
            allowed: LISTEN_KEYS,
        };
        report(sub, problem);
    }
    let found = match table.get("address").map(|v| fields::string(v, "a string")) {
        None => {
            let hint = "give one, like address = \"tcp:0.0.0.0:8080\"";
            report("address", Problem::Missing { hint });
            None
        }
        Some(Err(problem)) => {
            report("address", problem);
            None
        }
        Some(Ok(text)) => address(text)
            .map_err(|problem| report("address", problem))
            .ok(),
    };
    // An option that does not apply to the address is reported only when the address is
    // known; `applies` says whether it applies to that address.
    let applies = |applies: fn(&Address) -> bool| found.as_ref().is_none_or(applies);
    let mut socket = defaults(Address::Unix(PathBuf::new()));
    if let Some(v) = table.get("backlog") {
        match v.as_integer() {
            Some(n) => match u32::try_from(n)
                .ok()
                .filter(|n| (1..=i32::MAX as u32).contains(n))
            {
                Some(n) => socket.backlog = n,
                None => report("backlog", Problem::BadBacklog { value: n }),
            },
            None => report(
                "backlog",
                Problem::WrongType {
                    expected: "a positive integer",
                    found: Kind::of(v),
                },
            ),
        }
        if !applies(Address::is_stream) {
            report(
                "backlog",
                Problem::ListenOptionNotFor {
                    what: "tcp, tcp6 and unix",
                },
            );
        }
    }
    if let Some(v) = table.get("reuse-port") {
        match fields::boolean(v) {
            Ok(b) => socket.reuse_port = b,
            Err(problem) => report("reuse-port", problem),
        }
        if !applies(|a| !a.is_unix()) {
            let what = "tcp, tcp6, udp and udp6";
            report("reuse-port", Problem::ListenOptionNotFor { what });
        }
    }
    if let Some(v) = table.get("mode") {
        match fields::string(v, "an octal string like \"0660\"") {
            Ok(text) => match fields::umask(v) {
                Ok(mode) => socket.mode = mode,
                Err(_) => report(
                    "mode",
                    Problem::BadSocketMode {
                        value: text.to_owned(),
                    },
                ),
            },
            Err(problem) => report("mode", problem),
        }
    }
    for (sub, what, file) in [("owner", "user", "passwd"), ("group", "group", "group")] {
        let Some(v) = table.get(sub) else { continue };
        match fields::id(v, what, file) {
            Ok(id) if sub == "owner" => socket.owner = Some(id),
            Ok(id) => socket.group = Some(id),
            Err(problem) => report(sub, problem),
        }
    }
    for sub in ["mode", "owner", "group"] {
        if table.contains_key(sub) && !applies(Address::is_unix) {
            report(sub, Problem::ListenOptionNotFor { what: "unix" });
        }
    }
    if let Some(v) = table.get("name") {
        match fields::string(v, "a string") {
            Ok(name) if valid_fd_name(name) => socket.name = name.to_owned(),
            Ok(name) => report(
                "name",
                Problem::BadFdName {
                    value: name.to_owned(),
                },
            ),
            Err(problem) => report("name", problem),
        }
    }
    let address = found.filter(|_| problems.len() == before)?;
    Some(Listen { address, ..socket })
}

#[cfg(test)]
#[path = "listen_tests.rs"]
mod tests;
