use super::*;
use std::net::SocketAddr;
use std::path::PathBuf;

fn handed(service: &str, kind: &str) -> Handed {
    Handed {
        service: service.into(),
        name: "n".into(),
        kind: match kind {
            "store" => Kind::Store,
            address => Kind::Listen {
                address: address.into(),
            },
        },
    }
}

/// What a probe finds: "tcp 127.0.0.1:80", "udp …", "unix /p", "pipe", with flags;
/// "tcp6-dual" is an IPv6 socket without IPV6_V6ONLY, "tcp-reuse" one with SO_REUSEPORT.
fn seen(what: &str, netns: Option<bool>, path_is_socket: bool) -> Seen {
    let (kind, rest) = what.split_once(' ').unwrap_or((what, ""));
    let inet = |domain: i32, stream: bool, reuse_port: bool, v6_only: bool| {
        let addr: SocketAddr = rest.parse().unwrap_or_else(|e| panic!("{rest}: {e}"));
        Ok(SockInfo {
            domain,
            stream,
            datagram: !stream,
            local: Local::Inet(addr),
            same_netns: netns,
            reuse_port,
            v6_only: (domain == libc::AF_INET6).then_some(v6_only),
        })
    };
    let info = match kind {
        "tcp" => inet(libc::AF_INET, true, false, true),
        "tcp-reuse" => inet(libc::AF_INET, true, true, true),
        "tcp6" => inet(libc::AF_INET6, true, false, true),
        "tcp6-dual" => inet(libc::AF_INET6, true, false, false),
        "udp" => inet(libc::AF_INET, false, false, true),
        "unix" => Ok(SockInfo {
            domain: libc::AF_UNIX,
            stream: true,
            datagram: false,
            local: Local::Unix(Some(PathBuf::from(rest))),
            same_netns: None,
            reuse_port: false,
            v6_only: None,
        }),
        _ => Err(Errno::ENOTSOCK),
    };
    Seen {
        info,
        path_is_socket,
    }
}

fn addr(text: &str) -> Address {
    config::parse_address(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// (slots as (service, address), handed as (service, kind-or-address, probe, netns,
/// path is a socket), stores as (service, room), fates).
type Case = (
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str, &'static str, Option<bool>, bool)],
    &'static [(&'static str, usize)],
    &'static [Fate],
);

#[test]
fn fates() {
    let cases: &[Case] = &[
        // The same address, same service: kept.
        (
            &[("web", "tcp:127.0.0.1:80")],
            &[(
                "web",
                "tcp:127.0.0.1:80",
                "tcp 127.0.0.1:80",
                Some(true),
                false,
            )],
            &[],
            &[Fate::Listen(0)],
        ),
        // Written differently, the same parsed address; namespace unknown: kept.
        (
            &[("web", "tcp6:[::0]:80")],
            &[("web", "tcp6:[::]:80", "tcp6 [::]:80", None, false)],
            &[],
            &[Fate::Listen(0)],
        ),
        // Another IPv6-only or reuse-port setting than the entry's (false, IPv6-only):
        // closed, so that it is bound afresh as configured.
        (
            &[("web", "tcp6:[::]:80"), ("web", "tcp:0.0.0.0:81")],
            &[
                (
                    "web",
                    "tcp6:[::]:80",
                    "tcp6-dual [::]:80",
                    Some(true),
                    false,
                ),
                (
                    "web",
                    "tcp:0.0.0.0:81",
                    "tcp-reuse 0.0.0.0:81",
                    Some(true),
                    false,
                ),
            ],
            &[],
            &[
                Fate::Close(Why::OtherOptions),
                Fate::Close(Why::OtherOptions),
            ],
        ),
        // Another service now has the address: it takes it.
        (
            &[("api", "tcp:0.0.0.0:80")],
            &[("web", "tcp:0.0.0.0:80", "tcp 0.0.0.0:80", Some(true), false)],
            &[],
            &[Fate::Listen(0)],
        ),
        // Several match: the same service first, then the first unclaimed.
        (
            &[("api", "tcp:0.0.0.0:80"), ("web", "tcp:0.0.0.0:80")],
            &[
                ("web", "tcp:0.0.0.0:80", "tcp 0.0.0.0:80", Some(true), false),
                ("web", "tcp:0.0.0.0:80", "tcp 0.0.0.0:80", Some(true), false),
                ("web", "tcp:0.0.0.0:80", "tcp 0.0.0.0:80", Some(true), false),
            ],
            &[],
            &[
                Fate::Listen(1),
                Fate::Listen(0),
                Fate::Close(Why::NotConfigured),
            ],
        ),
        // Not configured, not parsable, not a socket.
        (
            &[("web", "tcp:127.0.0.1:80")],
            &[
                (
                    "web",
                    "tcp:127.0.0.1:81",
                    "tcp 127.0.0.1:81",
                    Some(true),
                    false,
                ),
                (
                    "web",
                    "tcp:localhost:80",
                    "tcp 127.0.0.1:80",
                    Some(true),
                    false,
                ),
                ("web", "tcp:127.0.0.1:80", "pipe", None, false),
            ],
            &[],
            &[
                Fate::Close(Why::NotConfigured),
                Fate::Close(Why::BadAddress),
                Fate::Close(Why::NotSocket),
            ],
        ),
        // It lies about what it is: another type, family, address; another netns.
        (
            &[("web", "tcp:127.0.0.1:80"), ("dns", "udp:127.0.0.1:53")],
            &[
                (
                    "dns",
                    "udp:127.0.0.1:53",
                    "tcp 127.0.0.1:53",
                    Some(true),
                    false,
                ),
                (
                    "web",
                    "tcp:127.0.0.1:80",
                    "tcp6 [::1]:80",
                    Some(true),
                    false,
                ),
                (
                    "web",
                    "tcp:127.0.0.1:80",
                    "tcp 127.0.0.1:8080",
                    Some(true),
                    false,
                ),
                (
                    "web",
                    "tcp:127.0.0.1:80",
                    "tcp 127.0.0.1:80",
                    Some(false),
                    false,
                ),
                (
                    "dns",
                    "udp:127.0.0.1:53",
                    "udp 127.0.0.1:53",
                    Some(true),
                    false,
                ),
            ],
            &[],
            &[
                Fate::Close(Why::WrongKind),
                Fate::Close(Why::WrongKind),
                Fate::Close(Why::WrongAddress),
                Fate::Close(Why::OtherNetns),
                Fate::Listen(1),
            ],
        ),
        // Unix: the path must still be a socket here.
        (
            &[("web", "unix:/run/a.sock"), ("web", "unix:/run/b.sock")],
            &[
                ("web", "unix:/run/a.sock", "unix /run/a.sock", None, false),
                ("web", "unix:/run/b.sock", "unix /run/b.sock", None, true),
                ("web", "unix:/run/a.sock", "unix /run/c.sock", None, true),
            ],
            &[],
            &[
                Fate::Close(Why::PathGone),
                Fate::Listen(1),
                Fate::Close(Why::WrongAddress),
            ],
        ),
        // Stores: sockets only, the named service's, up to its room.
        (
            &[],
            &[
                ("web", "store", "tcp 127.0.0.1:9", None, false),
                ("web", "store", "unix /x", None, false),
                ("web", "store", "tcp 127.0.0.1:9", None, false),
                ("web", "store", "pipe", None, false),
                ("api", "store", "tcp 127.0.0.1:9", None, false),
                ("gone", "store", "tcp 127.0.0.1:9", None, false),
            ],
            &[("web", 2), ("api", 0)],
            &[
                Fate::Store,
                Fate::Store,
                Fate::Close(Why::StoreFull),
                Fate::Close(Why::NotSocket),
                Fate::Close(Why::StoreFull),
                Fate::Close(Why::NoStore),
            ],
        ),
        // Units (--systemd) are further slots, after the services', by unit name: the
        // same name first (a service's to the service, a unit's to the unit), then the
        // first unclaimed.
        (
            &[
                ("web", "tcp:0.0.0.0:80"),
                ("web.service", "tcp:0.0.0.0:80"),
                ("api.service", "tcp:0.0.0.0:81"),
                ("dns.service", "udp:0.0.0.0:53"),
            ],
            &[
                (
                    "web.service",
                    "tcp:0.0.0.0:80",
                    "tcp 0.0.0.0:80",
                    Some(true),
                    false,
                ),
                ("web", "tcp:0.0.0.0:80", "tcp 0.0.0.0:80", Some(true), false),
                ("old", "tcp:0.0.0.0:81", "tcp 0.0.0.0:81", Some(true), false),
                (
                    "dns.service",
                    "udp:0.0.0.0:53",
                    "tcp 0.0.0.0:53",
                    Some(true),
                    false,
                ),
                (
                    "web.service",
                    "tcp:0.0.0.0:80",
                    "tcp 0.0.0.0:80",
                    Some(true),
                    false,
                ),
            ],
            &[],
            &[
                Fate::Listen(1),
                Fate::Listen(0),
                Fate::Listen(2),
                Fate::Close(Why::WrongKind),
                Fate::Close(Why::NotConfigured),
            ],
        ),
        // A unit's store (FileDescriptorStoreMax=) is a further room, by unit name.
        (
            &[],
            &[
                ("web.service", "store", "tcp 127.0.0.1:9", None, false),
                ("web", "store", "tcp 127.0.0.1:9", None, false),
                ("web.service", "store", "unix /x", None, false),
                ("web.service", "store", "tcp 127.0.0.1:9", None, false),
                ("api.service", "store", "tcp 127.0.0.1:9", None, false),
            ],
            &[("web", 1), ("web.service", 2)],
            &[
                Fate::Store,
                Fate::Store,
                Fate::Store,
                Fate::Close(Why::StoreFull),
                Fate::Close(Why::NoStore),
            ],
        ),
    ];
    for (slots, given, rooms, want) in cases {
        let addrs: Vec<Address> = slots.iter().map(|(_, a)| addr(a)).collect();
        let slots: Vec<Slot> = slots
            .iter()
            .zip(&addrs)
            .map(|((service, _), address)| Slot {
                service,
                address,
                reuse_port: false,
                v6_only: true,
            })
            .collect();
        let handed: Vec<(Handed, Seen)> = given
            .iter()
            .map(|(s, k, p, ns, path)| (handed(s, k), seen(p, *ns, *path)))
            .collect();
        let mut rooms: Vec<(&str, usize)> = rooms.to_vec();
        assert_eq!(decide(&handed, &slots, &mut rooms), *want, "{given:?}");
    }
}

#[test]
fn reasons_read_well() {
    assert_eq!(
        Why::NotSocket.to_string(),
        "not a socket (a hand-over carries sockets only)"
    );
}
