//! Table-driven tests of `listen`: address forms, options, and the error lines.

use super::*;
use crate::config::{parse_service, ConfigError};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

#[test]
fn addresses() {
    let v4 = |a: [u8; 4], p| SocketAddrV4::new(Ipv4Addr::from(a), p);
    let v6 = |a: Ipv6Addr, p| SocketAddrV6::new(a, p, 0, 0);
    let cases: &[(&str, Address)] = &[
        ("tcp:0.0.0.0:8080", Address::Tcp(v4([0, 0, 0, 0], 8080))),
        ("tcp:127.0.0.1:1", Address::Tcp(v4([127, 0, 0, 1], 1))),
        (
            "tcp6:[::]:8080",
            Address::Tcp6(v6(Ipv6Addr::UNSPECIFIED, 8080)),
        ),
        (
            "tcp6:[::1]:65535",
            Address::Tcp6(v6(Ipv6Addr::LOCALHOST, 65535)),
        ),
        ("udp:0.0.0.0:514", Address::Udp(v4([0, 0, 0, 0], 514))),
        (
            "udp6:[::]:514",
            Address::Udp6(v6(Ipv6Addr::UNSPECIFIED, 514)),
        ),
        ("unix:/run/app.sock", Address::Unix("/run/app.sock".into())),
    ];
    for (text, want) in cases {
        assert_eq!(address(text).as_ref(), Ok(want), "{text}");
        // Display gives back what was written.
        assert_eq!(want.to_string(), *text);
    }
}

#[test]
fn bad_addresses() {
    let long = format!("unix:/{}", "x".repeat(107));
    let cases: &[(&str, &str)] = &[
        ("8080", "it has no scheme"),
        (
            "http:0.0.0.0:80",
            "the scheme is not tcp, tcp6, udp, udp6 or unix",
        ),
        ("tcp:0.0.0.0", "it has no :PORT"),
        ("tcp:8080", "it has no :PORT"),
        (
            "tcp:localhost:80",
            "the host is not an IPv4 address like 0.0.0.0",
        ),
        (
            "tcp:[::]:80",
            "the host is not an IPv4 address like 0.0.0.0",
        ),
        ("tcp:0.0.0.0:0", PORT),
        ("tcp:0.0.0.0:65536", PORT),
        ("tcp:0.0.0.0:+80", PORT),
        ("tcp:0.0.0.0:", PORT),
        (
            "tcp6:::80",
            "the host is not an IPv6 address in brackets like [::]",
        ),
        ("tcp6:[::]", "it has no ]:PORT"),
        (
            "tcp6:[0.0.0.0]:80",
            "the host is not an IPv6 address in brackets like [::]",
        ),
        ("tcp6:[::]:x", PORT),
        (
            "udp:1.2.3:514",
            "the host is not an IPv4 address like 0.0.0.0",
        ),
        ("unix:run/app.sock", "the path is not absolute"),
        ("unix:", "the path is not absolute"),
        (&long, "the path is longer than 107 bytes"),
    ];
    for (text, why) in cases {
        let want = Problem::BadListenAddress {
            value: (*text).to_owned(),
            why,
            forms: FORMS,
        };
        assert_eq!(address(text), Err(want), "{text}");
    }
}

#[test]
fn fd_names() {
    for (name, ok) in [
        ("app.socket", true),
        ("http", true),
        ("a b", true),
        ("", false),
        ("a:b", false),
        ("tab\there", false),
        ("é", false),
        (&"x".repeat(255), true),
        (&"x".repeat(256), false),
    ] {
        assert_eq!(valid_fd_name(name), ok, "{name:?}");
    }
}

const CMD: &str = "command = [\"/bin/app\"]\n";

/// The sockets of a service file with `text`, or its error lines sorted by key (as the
/// loader sorts them).
fn parse(text: &str) -> Result<Vec<Listen>, Vec<String>> {
    parse_service(
        "app",
        Path::new("app.toml"),
        &format!("{CMD}{text}"),
        &|_| true,
    )
    .map(|s| s.listen)
    .map_err(|mut e| {
        crate::config::error::sort(&mut e);
        e.iter().map(ConfigError::to_string).collect()
    })
}

fn tcp(port: u16) -> Listen {
    Listen {
        address: Address::Tcp(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
        backlog: DEFAULT_BACKLOG,
        reuse_port: false,
        mode: DEFAULT_SOCKET_MODE,
        owner: None,
        group: None,
        name: "app.socket".into(),
        v6_only: true,
    }
}

#[test]
fn good_entries() {
    type Case = (&'static str, fn() -> Vec<Listen>);
    let cases: &[Case] = &[
        ("", Vec::new),
        ("listen = []", Vec::new),
        ("listen = [\"tcp:0.0.0.0:80\"]", || vec![tcp(80)]),
        (
            "listen = [\"tcp:0.0.0.0:80\", { address = \"tcp:0.0.0.0:81\", name = \"admin\" }]",
            || {
                vec![
                    tcp(80),
                    Listen {
                        name: "admin".into(),
                        ..tcp(81)
                    },
                ]
            },
        ),
        (
            "listen = [{ address = \"tcp:0.0.0.0:80\", backlog = 16, reuse-port = true }]",
            || {
                vec![Listen {
                    backlog: 16,
                    reuse_port: true,
                    ..tcp(80)
                }]
            },
        ),
        (
            "listen = [{ address = \"unix:/run/a.sock\", mode = \"0660\", owner = \"app\", \
             group = 10, backlog = 5 }]",
            || {
                vec![Listen {
                    mode: 0o660,
                    owner: Some(IdSpec::Name("app".into())),
                    group: Some(IdSpec::Id(10)),
                    backlog: 5,
                    ..Listen {
                        address: Address::Unix("/run/a.sock".into()),
                        ..tcp(1)
                    }
                }]
            },
        ),
        (
            "listen = [{ address = \"udp:0.0.0.0:514\", reuse-port = true }]",
            || {
                vec![Listen {
                    address: Address::Udp(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 514)),
                    reuse_port: true,
                    ..tcp(1)
                }]
            },
        ),
        // Same port, IPv4 and IPv6: two addresses (the IPv6 one is v6-only).
        ("listen = [\"tcp:0.0.0.0:80\", \"tcp6:[::]:80\"]", || {
            vec![
                tcp(80),
                Listen {
                    address: Address::Tcp6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 80, 0, 0)),
                    ..tcp(80)
                },
            ]
        }),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text), Ok(want()), "{text}");
    }
}

#[test]
fn bad_entries() {
    let forms = FORMS;
    let cases: &[(&str, &[&str])] = &[
        (
            "listen = \"tcp:0.0.0.0:80\"",
            &["app.toml: key \"listen\": expected an array of addresses like [\"tcp:0.0.0.0:8080\"], found a string"],
        ),
        (
            "listen = [\"tcp:0.0.0.0:80\", 80, \"tcp:0.0.0.0:80\"]",
            &[
                "app.toml: key \"listen[1]\": expected an address string or a table like { address = \"tcp:0.0.0.0:80\" }, found an integer",
                "app.toml: key \"listen[2]\": tcp:0.0.0.0:80 is listed twice; keep one",
            ],
        ),
        (
            "listen = [\"tcp:host:80\"]",
            &["app.toml: key \"listen[0]\": \"tcp:host:80\" is not a listen address (the host is not an IPv4 address like 0.0.0.0); write FORMS"],
        ),
        (
            "listen = [{ backlog = 0, port = 1 }]",
            &[
                "app.toml: key \"listen[0].address\": missing; give one, like address = \"tcp:0.0.0.0:8080\"",
                "app.toml: key \"listen[0].backlog\": 0 is not a backlog; give a positive integer like 4096",
                "app.toml: key \"listen[0].port\": unknown key; the keys are address, backlog, group, mode, name, owner, reuse-port",
            ],
        ),
        (
            "listen = [{ address = \"udp:0.0.0.0:514\", backlog = 5, mode = \"0600\", owner = \"a\", group = \"b\" }]",
            &[
                "app.toml: key \"listen[0].backlog\": applies to tcp, tcp6 and unix addresses only; remove it",
                "app.toml: key \"listen[0].group\": applies to unix addresses only; remove it",
                "app.toml: key \"listen[0].mode\": applies to unix addresses only; remove it",
                "app.toml: key \"listen[0].owner\": applies to unix addresses only; remove it",
            ],
        ),
        (
            "listen = [{ address = \"unix:/a\", reuse-port = true, mode = \"999\", name = \"a:b\", backlog = \"5\" }]",
            &[
                "app.toml: key \"listen[0].backlog\": expected a positive integer, found a string",
                "app.toml: key \"listen[0].mode\": \"999\" is not an octal mode; write three or four octal digits, like \"0660\"",
                "app.toml: key \"listen[0].name\": \"a:b\" is not a descriptor name; names are 1 to 255 ASCII characters without ':' or control characters",
                "app.toml: key \"listen[0].reuse-port\": applies to tcp, tcp6, udp and udp6 addresses only; remove it",
            ],
        ),
        (
            "listen = [{ address = \"unix:/a\", owner = \"a:b\", mode = 660 }]",
            &[
                "app.toml: key \"listen[0].mode\": expected an octal string like \"0660\", found an integer",
                "app.toml: key \"listen[0].owner\": \"a:b\" is not a user name or number; give a name from /etc/passwd or a number",
            ],
        ),
    ];
    for (text, want) in cases {
        let want: Vec<String> = want.iter().map(|l| l.replace("FORMS", forms)).collect();
        assert_eq!(parse(text), Err(want), "{text}");
    }
}
