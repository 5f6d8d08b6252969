//! services.d/*.toml: parse and check one or more service files together.
//!
//! Input: service files separated by NUL bytes, named a, b, c, ... in order (a first line
//! `# name: NAME` names a file otherwise, e.g. to try bad or duplicate names).
//! Invariants: no panic; every error is one non-empty line and the list is sorted by file
//! and key; a loaded config starts each service after everything in its `after` and stops
//! in reverse; each loaded service, written back as TOML, parses to the same service.
//! Each short piece is also tried as a duration (parse → format → parse) and as a preset
//! list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rich_init::config::{
    self, duration, Command, IdSpec, Listen, LogTarget, Ready, Restart, Service, Source,
};
use std::path::PathBuf;
use toml::{Table, Value};

const MAX_FILES: usize = 8;

fn exists(program: &str) -> bool {
    !program.contains("missing")
}

fn one_line(what: &str, text: &str) {
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "{what} is not one line: {text:?}"
    );
}

fn sources(text: &str) -> Vec<Source> {
    text.split('\0')
        .take(MAX_FILES)
        .enumerate()
        .map(|(i, piece)| {
            let name = piece
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# name: "))
                .map_or_else(|| char::from(b'a' + i as u8).to_string(), str::to_owned);
            Source {
                file: PathBuf::from(format!("services.d/{name}.toml")),
                name,
                text: piece.to_owned(),
            }
        })
        .collect()
}

fn check_duration(text: &str) {
    match duration::parse(text) {
        Ok(d) => {
            let written = duration::format(d);
            assert_eq!(duration::parse(&written), Ok(d), "{text:?} → {written:?}");
            assert_eq!(duration::parse_nonzero(text).is_ok(), !d.is_zero());
        }
        Err(e) => {
            one_line("a duration error", &e.to_string());
            assert!(duration::parse_nonzero(text).is_err());
        }
    }
}

fn check_preset_list(text: &str) {
    let names = config::parse_list(text);
    for (i, name) in names.iter().enumerate() {
        assert!(!name.is_empty() && !name.contains(',') && name.trim() == name);
        assert!(!names[..i].contains(name), "{name:?} twice in {names:?}");
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::String(s.clone())).collect())
}

fn command_value(command: &Command) -> Value {
    match command {
        Command::Argv(argv) => strings(argv),
        Command::Shell(text) => Value::String(text.clone()),
    }
}

fn id_value(id: &IdSpec) -> Value {
    match id {
        IdSpec::Name(name) => Value::String(name.clone()),
        IdSpec::Id(n) => Value::Integer(i64::from(*n)),
    }
}

fn dur(d: std::time::Duration) -> Value {
    Value::String(duration::format(d))
}

fn path_value(p: &std::path::Path) -> Value {
    Value::String(p.to_str().expect("parsed from UTF-8").to_owned())
}

/// One `listen` entry as a table with every option that applies to its address.
fn listen_value(l: &Listen) -> Value {
    let mut t = Table::new();
    t.insert("address".into(), Value::String(l.address.to_string()));
    if l.address.is_stream() {
        t.insert("backlog".into(), Value::Integer(i64::from(l.backlog)));
    }
    if l.address.is_unix() {
        t.insert("mode".into(), Value::String(format!("{:04o}", l.mode)));
        if let Some(owner) = &l.owner {
            t.insert("owner".into(), id_value(owner));
        }
        if let Some(group) = &l.group {
            t.insert("group".into(), id_value(group));
        }
    } else {
        t.insert("reuse-port".into(), Value::Boolean(l.reuse_port));
    }
    t.insert("name".into(), Value::String(l.name.clone()));
    Value::Table(t)
}

/// A service as the TOML file that says exactly it, every key written out.
fn render(s: &Service) -> String {
    let mut t = Table::new();
    t.insert("command".into(), command_value(&s.command));
    if let Some(user) = &s.user {
        t.insert("user".into(), id_value(user));
    }
    if let Some(group) = &s.group {
        t.insert("group".into(), id_value(group));
    }
    let restart = match s.restart {
        Restart::Always => "always",
        Restart::OnFailure => "on-failure",
        Restart::Never => "never",
    };
    t.insert("restart".into(), Value::String(restart.into()));
    t.insert("restart-delay".into(), dur(s.restart_delay));
    t.insert("restart-delay-max".into(), dur(s.restart_delay_max));
    t.insert("after".into(), strings(&s.after));
    match &s.ready {
        Ready::Started => {}
        Ready::Command {
            command,
            interval,
            timeout,
        } => {
            let mut r = Table::new();
            r.insert("command".into(), command_value(command));
            r.insert("interval".into(), dur(*interval));
            r.insert("timeout".into(), dur(*timeout));
            t.insert("ready".into(), Value::Table(r));
        }
        Ready::Notify { timeout } => {
            let mut r = Table::new();
            r.insert("notify".into(), Value::Boolean(true));
            r.insert("timeout".into(), dur(*timeout));
            t.insert("ready".into(), Value::Table(r));
        }
    }
    t.insert(
        "stop-signal".into(),
        Value::Integer(i64::from(s.stop_signal)),
    );
    t.insert("stop-timeout".into(), dur(s.stop_timeout));
    let log = match &s.log {
        LogTarget::Prefix => Value::String("prefix".into()),
        LogTarget::Syslog => Value::String("syslog".into()),
        LogTarget::Inherit => Value::String("inherit".into()),
        LogTarget::None => Value::String("none".into()),
        LogTarget::File(p) => path_value(p),
    };
    t.insert("log".into(), log);
    t.insert("critical".into(), Value::Boolean(s.critical));
    if let Some(dir) = &s.working_dir {
        t.insert("working-dir".into(), path_value(dir));
    }
    let env = s
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    t.insert("env".into(), Value::Table(env));
    if let Some(mask) = s.umask {
        t.insert("umask".into(), Value::String(format!("{mask:04o}")));
    }
    t.insert("no-new-privs".into(), Value::Boolean(s.no_new_privs));
    t.insert(
        "listen".into(),
        Value::Array(s.listen.iter().map(listen_value).collect()),
    );
    t.insert(
        "fd-store-max".into(),
        Value::Integer(i64::from(s.fd_store_max)),
    );
    t.to_string()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let sources = sources(&text);
    for source in &sources {
        if source.text.len() <= 40 {
            check_duration(&source.text);
            check_preset_list(&source.text);
        }
    }
    match config::load(&sources, &exists) {
        Err(errors) => {
            assert!(!errors.is_empty(), "Err without an error");
            for e in &errors {
                one_line("a config error", &e.to_string());
            }
            let places: Vec<_> = errors.iter().map(|e| (&e.file, &e.key)).collect();
            assert!(places.is_sorted(), "errors out of order: {errors:?}");
        }
        Ok(config) => {
            let order = &config.start_order;
            assert_eq!(order.len(), config.services.len());
            for (name, service) in &config.services {
                let at = order
                    .iter()
                    .position(|n| n == name)
                    .expect("in start order");
                for dep in &service.after {
                    let dep_at = order.iter().position(|n| n == dep).expect("dep known");
                    assert!(dep_at < at, "{name} starts before {dep}: {order:?}");
                }
                let written = render(service);
                match config::parse_service(name, &service.file, &written, &exists) {
                    Ok(again) => assert_eq!(&again, service, "written as:\n{written}"),
                    Err(e) => panic!("written back as\n{written}\nit fails: {e:?}"),
                }
            }
            let mut stop = config.stop_order();
            stop.reverse();
            assert_eq!(&stop, order);
        }
    }
});
