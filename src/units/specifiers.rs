//! `%` specifiers, as the "Specifiers" table of systemd.unit(5) resolves them for the system
//! manager. The unit's name gives `%n %N %p %P %i %I %j %J %f`; the manager's user gives
//! `%u %U %g %G %h %s` (systemd.unit(5): these are the user *running the manager*, root for
//! the system manager, "not influenced by the User= setting"); the directories give
//! `%t %S %C %L %E %D %T %V`; `%H %l` the hostname; `%%` a literal percent sign.
//! Specifiers that need more of the system (`%b %m %v %o`…) are refused, named.

use thiserror::Error;

/// What the specifiers of one unit resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The full unit name, such as `getty@tty1.service`.
    pub unit: String,
    /// The user and group running the manager (`%u %U %g %G %h %s`).
    pub user: String,
    pub uid: u32,
    pub group: String,
    pub gid: u32,
    pub home: String,
    pub shell: String,
    /// `%H`; `%l` is its part before the first dot.
    pub hostname: String,
    /// `%t %S %C %L %E`: runtime, state, cache, logs and configuration roots.
    pub runtime_dir: String,
    pub state_dir: String,
    pub cache_dir: String,
    pub logs_dir: String,
    pub config_dir: String,
}

impl Context {
    /// The system manager's values (systemd.unit(5), "Specifiers"): root, /run, /var/lib,
    /// /var/cache, /var/log, /etc.
    pub fn system(unit: &str, hostname: &str) -> Context {
        Context {
            unit: unit.to_string(),
            user: "root".into(),
            uid: 0,
            group: "root".into(),
            gid: 0,
            home: "/root".into(),
            shell: "/bin/sh".into(),
            hostname: hostname.to_string(),
            runtime_dir: "/run".into(),
            state_dir: "/var/lib".into(),
            cache_dir: "/var/cache".into(),
            logs_dir: "/var/log".into(),
            config_dir: "/etc".into(),
        }
    }
}

/// Why a specifier cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpecifierError {
    #[error("unknown specifier `%{0}`; write `%%` for a literal percent sign")]
    Unknown(char),
    #[error("specifier `%{spec}` ({what}) is not supported by rich-init; write its value out in the unit, or `%%` for a literal percent sign")]
    Unsupported { spec: char, what: &'static str },
    #[error("`{name}` cannot be unescaped for `%{spec}`: a backslash must start \\xhh of a UTF-8 text; rename the unit as `systemd-escape` writes names")]
    BadEscape { spec: char, name: String },
}

/// Specifiers systemd knows that need what rich-init does not read.
const UNSUPPORTED: &[(char, &str)] = &[
    ('a', "architecture"),
    ('A', "OS image version"),
    ('b', "boot ID"),
    ('B', "OS build ID"),
    ('d', "credentials directory"),
    ('m', "machine ID"),
    ('M', "OS image ID"),
    ('o', "OS ID"),
    ('q', "pretty hostname"),
    ('v', "kernel release"),
    ('w', "OS version ID"),
    ('W', "OS variant ID"),
    ('y', "unit file path"),
    ('Y', "unit file directory"),
];

/// The parts of a unit name: `prefix@instance.suffix`, or `prefix.suffix`.
struct Name<'a> {
    /// Without the type suffix (`%N`).
    stem: &'a str,
    prefix: &'a str,
    instance: &'a str,
}

fn split_name(unit: &str) -> Name<'_> {
    let stem = unit.rsplit_once('.').map_or(unit, |(stem, _)| stem);
    let (prefix, instance) = stem.split_once('@').unwrap_or((stem, ""));
    Name {
        stem,
        prefix,
        instance,
    }
}

/// Expand every `%x` in `text`. A `%` at the very end stays, as systemd keeps a stray one.
pub fn expand(text: &str, ctx: &Context) -> Result<String, SpecifierError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(spec) => out.push_str(&resolve(spec, ctx)?),
            None => out.push('%'),
        }
    }
    Ok(out)
}

/// The value of one specifier.
fn resolve(spec: char, ctx: &Context) -> Result<String, SpecifierError> {
    let name = split_name(&ctx.unit);
    let last = name.prefix.rsplit_once('-').map_or(name.prefix, |(_, l)| l);
    let value = match spec {
        '%' => "%".to_string(),
        'n' => ctx.unit.clone(),
        'N' => name.stem.to_string(),
        'p' => name.prefix.to_string(),
        'P' => unescape(name.prefix, spec)?,
        'i' => name.instance.to_string(),
        'I' => unescape(name.instance, spec)?,
        'j' => last.to_string(),
        'J' => unescape(last, spec)?,
        'f' if name.instance.is_empty() => unescape_path(name.prefix)?,
        'f' => unescape_path(name.instance)?,
        'u' => ctx.user.clone(),
        'U' => ctx.uid.to_string(),
        'g' => ctx.group.clone(),
        'G' => ctx.gid.to_string(),
        'h' => ctx.home.clone(),
        's' => ctx.shell.clone(),
        'H' => ctx.hostname.clone(),
        'l' => ctx
            .hostname
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string(),
        't' => ctx.runtime_dir.clone(),
        'S' => ctx.state_dir.clone(),
        'C' => ctx.cache_dir.clone(),
        'L' => ctx.logs_dir.clone(),
        'E' => ctx.config_dir.clone(),
        'D' => "/usr/share".to_string(),
        'T' => "/tmp".to_string(),
        'V' => "/var/tmp".to_string(),
        _ => {
            return Err(match UNSUPPORTED.iter().find(|(c, _)| *c == spec) {
                Some(&(spec, what)) => SpecifierError::Unsupported { spec, what },
                None => SpecifierError::Unknown(spec),
            })
        }
    };
    Ok(value)
}

/// Undo unit-name escaping as `systemd-escape --unescape` does: `-` is `/`, `\xhh` a byte.
pub fn unescape(escaped: &str, spec: char) -> Result<String, SpecifierError> {
    let bad = || SpecifierError::BadEscape {
        spec,
        name: escaped.to_string(),
    };
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' => out.push(b'/'),
            b'\\' => {
                let hex = bytes.get(i + 1..i + 4).ok_or_else(bad)?;
                let digits = std::str::from_utf8(&hex[1..]).map_err(|_| bad())?;
                if hex[0] != b'x' || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                out.push(u8::from_str_radix(digits, 16).map_err(|_| bad())?);
                i += 3;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// `%f`: unescape as a path (`systemd-escape --path --unescape`): `-` alone is `/`, and the
/// result starts with `/`.
fn unescape_path(escaped: &str) -> Result<String, SpecifierError> {
    if escaped == "-" {
        return Ok("/".to_string());
    }
    let path = unescape(escaped, 'f')?;
    Ok(if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_specifier() {
        // systemd.unit(5) "Specifiers", each row, for the system manager.
        let template = Context::system(r"getty-x@tty\x2d1-a.service", "box.example.org");
        let plain = Context::system("foo-bar-baz.service", "box");
        let cases: &[(&Context, &str, &str)] = &[
            (&template, "%n", r"getty-x@tty\x2d1-a.service"),
            (&template, "%N", r"getty-x@tty\x2d1-a"),
            (&template, "%p", "getty-x"),
            (&template, "%P", "getty/x"),
            (&template, "%i", r"tty\x2d1-a"),
            (&template, "%I", "tty-1/a"),
            (&template, "%j", "x"),
            (&template, "%J", "x"),
            (&template, "%f", "/tty-1/a"),
            (&plain, "%N", "foo-bar-baz"),
            (&plain, "%p", "foo-bar-baz"),
            (&plain, "%P", "foo/bar/baz"),
            (&plain, "%i", ""),
            (&plain, "%I", ""),
            (&plain, "%j", "baz"),
            (&plain, "%J", "baz"),
            (&plain, "%f", "/foo/bar/baz"),
            (&Context::system("mnt@-.service", "h"), "%f", "/"),
            (&Context::system(r"a\x2db.service", "h"), "%J", "a-b"),
            (
                &template,
                "%u %U %g %G %h %s",
                "root 0 root 0 /root /bin/sh",
            ),
            (&template, "%H %l", "box.example.org box"),
            (
                &template,
                "%t %S %C %L %E",
                "/run /var/lib /var/cache /var/log /etc",
            ),
            (&template, "%D %T %V", "/usr/share /tmp /var/tmp"),
            (&template, "100%% %i%%", r"100% tty\x2d1-a%"),
            (&template, "no specifier", "no specifier"),
            // A stray % at the very end is kept.
            (&template, "50%", "50%"),
        ];
        for (ctx, text, expected) in cases {
            assert_eq!(
                expand(text, ctx).as_deref(),
                Ok(*expected),
                "{text} in {}",
                ctx.unit
            );
        }
    }

    #[test]
    fn refusals() {
        let ctx = Context::system(r"a@b\x4.service", "h");
        let cases = [
            ("%z", SpecifierError::Unknown('z')),
            ("%!", SpecifierError::Unknown('!')),
            (
                "%m",
                SpecifierError::Unsupported {
                    spec: 'm',
                    what: "machine ID",
                },
            ),
            (
                "%b",
                SpecifierError::Unsupported {
                    spec: 'b',
                    what: "boot ID",
                },
            ),
            (
                "%I",
                SpecifierError::BadEscape {
                    spec: 'I',
                    name: r"b\x4".into(),
                },
            ),
            (
                "%f",
                SpecifierError::BadEscape {
                    spec: 'f',
                    name: r"b\x4".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            let err = expand(text, &ctx).expect_err(text);
            assert_eq!(err, expected, "{text}");
            let message = err.to_string();
            assert!(
                !message.contains('\n') && message.contains("; "),
                "{message}"
            );
        }
        let other = [r"\y41", r"\x4g", "\\"];
        for escaped in other {
            assert!(unescape(escaped, 'I').is_err(), "{escaped}");
        }
        assert_eq!(unescape(r"\x41\xc3\xa9-", 'I').as_deref(), Ok("Aé/"));
    }
}
