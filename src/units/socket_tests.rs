//! Table-driven tests of `units::socket`; the cases follow systemd.socket(5) (ListenStream=,
//! ListenDatagram=, Accept=, Service=, Backlog=, SocketMode=, FileDescriptorName=,
//! BindIPv6Only=) and sd_listen_fds(3).

use super::*;
use std::net::Ipv4Addr;

fn load(text: &str) -> Result<SocketUnit, SocketError> {
    let file = UnitFile::parse(text).expect("test unit text parses");
    SocketUnit::from_file(&file, &Context::system("web.socket", "box"))
}

fn loaded(text: &str) -> SocketUnit {
    load(text).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
}

fn tcp6(port: u16) -> Address {
    Address::Tcp6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0))
}

#[test]
fn address_forms() {
    use Kind::{Datagram as D, Stream as S};
    let v4 = |a: [u8; 4], p| SocketAddrV4::new(Ipv4Addr::from(a), p);
    let v6 = |a: &str, p| SocketAddrV6::new(a.parse().unwrap_or(Ipv6Addr::UNSPECIFIED), p, 0, 0);
    // systemd.socket(5), ListenStream=: "If the address string is a single number, it is
    // read as port number to listen on via IPv6" (dual-stack unless BindIPv6Only=).
    let good: &[(&str, Kind, Address)] = &[
        ("8080", S, tcp6(8080)),
        ("8080", D, Address::Udp6(v6("::", 8080))),
        ("1.2.3.4:80", S, Address::Tcp(v4([1, 2, 3, 4], 80))),
        ("0.0.0.0:514", D, Address::Udp(v4([0, 0, 0, 0], 514))),
        ("[::1]:80", S, Address::Tcp6(v6("::1", 80))),
        ("[::]:53", D, Address::Udp6(v6("::", 53))),
        ("/run/app.sock", S, Address::Unix("/run/app.sock".into())),
    ];
    for (text, kind, want) in good {
        assert_eq!(address(text, *kind).as_ref(), Ok(want), "{text}");
    }
    // Malformed or not supported: the reason names the fix.
    let bad: &[(&str, Kind, &str)] = &[
        ("0", S, "the port is not a number from 1 to 65535"),
        ("65536", S, "the port is not a number from 1 to 65535"),
        ("1.2.3.4:http", S, "the port is not a number"),
        ("1.2.3.4", S, "is not an address"),
        ("localhost:80", S, "is not an IPv4 address"),
        ("[::1]80", S, "needs ]:PORT"),
        ("[nope]:80", S, "is not an IPv6 address"),
        ("@abstract", S, "abstract socket addresses"),
        ("vsock:2:1234", S, "AF_VSOCK"),
        (
            "/run/log.sock",
            D,
            "unix datagram sockets are not supported",
        ),
        ("", S, "is not an address"),
    ];
    for (text, kind, why) in bad {
        match address(text, *kind) {
            Err(reason) => assert!(reason.contains(why), "{text}: {reason}"),
            Ok(a) => panic!("{text} read as {a}"),
        }
    }
    let long = format!("/{}", "x".repeat(107));
    assert!(address(&long, S).is_err());
}

#[test]
fn defaults_and_options() {
    // Defaults: Backlog=SOMAXCONN (4096), SocketMode=0666, ReusePort=no, the descriptor
    // named after the socket unit, and foo.socket activates foo.service.
    let unit = loaded("[Socket]\nListenStream=8080\n");
    assert_eq!(unit.service, "web.service");
    let want = Listen {
        address: tcp6(8080),
        backlog: 4096,
        reuse_port: false,
        mode: 0o666,
        owner: None,
        group: None,
        name: "web.socket".into(),
        v6_only: false,
    };
    assert_eq!(unit.listen, std::slice::from_ref(&want));
    assert!(unit.warnings.is_empty());

    type Case = (&'static str, fn(&mut Listen), &'static str);
    let cases: &[Case] = &[
        ("Backlog=16", |l| l.backlog = 16, "web.service"),
        ("ReusePort=yes", |l| l.reuse_port = true, "web.service"),
        ("SocketMode=0600", |l| l.mode = 0o600, "web.service"),
        (
            "SocketUser=www\nSocketGroup=33",
            |l| {
                l.owner = Some(IdSpec::Name("www".into()));
                l.group = Some(IdSpec::Id(33));
            },
            "web.service",
        ),
        (
            "FileDescriptorName=http",
            |l| l.name = "http".into(),
            "web.service",
        ),
        (
            "FileDescriptorName=http\nFileDescriptorName=",
            |_| {},
            "web.service",
        ),
        (
            "BindIPv6Only=ipv6-only",
            |l| l.v6_only = true,
            "web.service",
        ),
        ("BindIPv6Only=both", |_| {}, "web.service"),
        ("Service=app.service", |_| {}, "app.service"),
        ("Accept=no", |_| {}, "web.service"),
        // Options apply to every address, wherever they are in the file.
        (
            "Backlog=16\nListenStream=8080",
            |l| l.backlog = 16,
            "web.service",
        ),
    ];
    for (body, change, service) in cases {
        let unit = loaded(&format!("[Socket]\nListenStream=8080\n{body}\n"));
        let mut want = want.clone();
        change(&mut want);
        assert_eq!(unit.listen, [want], "{body}");
        assert_eq!(unit.service, *service, "{body}");
        assert!(unit.warnings.is_empty(), "{body}: {:?}", unit.warnings);
    }
}

#[test]
fn several_addresses_resets_and_specifiers() {
    let unit = loaded(
        "[Socket]\nListenStream=1.2.3.4:80\nListenStream=\nListenStream=%t/%N.sock\n\
         ListenDatagram=514\nListenStream=%t/web.sock\n",
    );
    let got: Vec<String> = unit.listen.iter().map(|l| l.address.to_string()).collect();
    assert_eq!(got, ["unix:/run/web.sock", "udp6:[::]:514"]);
    assert!(unit.listen.iter().all(|l| l.name == "web.socket"));
}

#[test]
fn warnings_one_line_each_and_the_unit_loads() {
    let unit = loaded(
        "[Unit]\nDescription=x\n[Socket]\nListenStream=8080\nListenStream=@abstract\n\
         ListenStream=localhost:80\nListenFIFO=/run/f\nListenFIFO=/run/g\nNoDelay=yes\n\
         Bogus=1\nBacklog=-1\nSocketMode=999\nService=app\nFileDescriptorName=a:b\n\
         BindIPv6Only=maybe\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=sockets.target\n",
    );
    assert_eq!(unit.listen.len(), 1);
    let lines: Vec<String> = unit.warnings.iter().map(ToString::to_string).collect();
    let want = [
        "web.socket:5: invalid ListenStream=@abstract, ignoring it: abstract socket addresses",
        "web.socket:6: invalid ListenStream=localhost:80, ignoring it: `localhost` is not an \
         IPv4 address (host names are not read); write a port (8080)",
        "web.socket:7: ListenFIFO= is not supported by rich-init, ignoring it",
        "web.socket:9: NoDelay= is not supported by rich-init, ignoring it",
        "web.socket:10: unknown key `Bogus` in [Socket], ignoring it",
        "web.socket:11: invalid Backlog=-1, ignoring it",
        "web.socket:12: invalid SocketMode=999, ignoring it",
        "web.socket:13: invalid Service=app, ignoring it",
        "web.socket:14: invalid FileDescriptorName=a:b, ignoring it",
        "web.socket:15: invalid BindIPv6Only=maybe, ignoring it",
        "web.socket:17: unknown section [Service], ignoring it",
    ];
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
    for (line, want) in lines.iter().zip(want) {
        assert!(line.starts_with(want), "{line}\n  wanted: {want}");
    }
}

#[test]
fn refusals() {
    // Accept=yes: systemd would start an instance per connection (systemd.socket(5)).
    let cases: &[(&str, SocketError)] = &[
        (
            "[Socket]\nListenStream=22\nAccept=yes\n",
            SocketError::Accept {
                unit: "web.socket".into(),
            },
        ),
        (
            "[Socket]\nListenDatagram=/run/systemd/journal/syslog\n",
            SocketError::NothingToListen {
                unit: "web.socket".into(),
            },
        ),
        (
            "[Socket]\nListenStream=80\nListenStream=\n",
            SocketError::NothingToListen {
                unit: "web.socket".into(),
            },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(load(text).as_ref(), Err(want), "{text}");
    }
    let line = SocketError::Accept {
        unit: "ssh.socket".into(),
    }
    .to_string();
    assert!(line.starts_with("ssh.socket: Accept=yes"), "{line}");
    assert!(line.contains("not supported"), "{line}");
}

#[test]
fn the_same_address_twice_is_one_socket() {
    let unit = loaded("[Socket]\nListenStream=8080\nListenStream=[::]:8080\n");
    assert_eq!(unit.listen.len(), 1);
}
