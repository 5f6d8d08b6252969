//! Built-in presets (`--services crond,syslogd,sshd`): service files from `initscripts/`,
//! compiled in, one per variant (busybox, Debian). For each requested preset the first
//! variant whose programs all exist in the image is used; the chosen text then goes
//! through [`super::load`] like any services.d file, with `preset NAME (VARIANT)` as its
//! file in error lines.
//!
//! The preset files have no `after`: one naming a preset that was not requested would
//! be an error. Instead, when the syslogd preset is requested too, [`preset_sources`]
//! appends `after = ["syslogd"]` to the text of the others (crond and sshd log through
//! syslog), so that the loader starts syslogd first and waits for its /dev/log. The
//! sources come in start order: syslogd, crond, sshd.
//!
//! The presets need nothing on disk besides the programs they run: the helper script
//! `initscripts/sshd-prepare.sh` (installed by `make install` as
//! `$(PREFIX)/lib/rich-init/sshd-prepare.sh`) is for service files of one's own; the
//! sshd preset does the same steps inline. `make install` also copies the preset files
//! to `$(PREFIX)/share/rich-init/presets/` as examples to copy into services.d (as
//! `NAME.toml`: the file name is the service name).

use std::path::PathBuf;

use super::error::{ConfigError, Problem};
use super::Source;

/// One variant of a preset: its service file and the programs it needs.
struct Variant {
    name: &'static str,
    needs: &'static [&'static str],
    text: &'static str,
}

/// A preset: its variants, most specific first.
struct Preset {
    name: &'static str,
    variants: &'static [Variant],
    /// The packages that provide a variant, for the error when none is usable.
    install: &'static str,
}

const BUSYBOX: &str = "/bin/busybox";
const SYSLOGD: &str = "syslogd";

/// In start order.
const PRESETS: &[Preset] = &[
    Preset {
        name: "syslogd",
        variants: &[
            Variant {
                name: "debian",
                needs: &["/usr/sbin/rsyslogd"],
                text: include_str!("../../initscripts/syslogd.debian.toml"),
            },
            Variant {
                name: "busybox",
                needs: &[BUSYBOX],
                text: include_str!("../../initscripts/syslogd.busybox.toml"),
            },
        ],
        install: "rsyslog or busybox",
    },
    Preset {
        name: "crond",
        variants: &[
            Variant {
                name: "debian",
                needs: &["/usr/sbin/cron"],
                text: include_str!("../../initscripts/crond.debian.toml"),
            },
            Variant {
                name: "busybox",
                needs: &[BUSYBOX],
                text: include_str!("../../initscripts/crond.busybox.toml"),
            },
        ],
        install: "cron or busybox",
    },
    Preset {
        name: "sshd",
        variants: &[Variant {
            name: "debian",
            needs: &["/usr/sbin/sshd", "/usr/bin/ssh-keygen"],
            text: include_str!("../../initscripts/sshd.debian.toml"),
        }],
        install: "openssh-server",
    },
];

const NAMES: &[&str] = &["syslogd", "crond", "sshd"];

/// The preset names, in the order their services start.
pub fn known_presets() -> &'static [&'static str] {
    NAMES
}

/// The service files for the presets `names`, in start order (syslogd, crond, sshd)
/// whatever the order asked, each once. `exists` tells whether a program (absolute
/// path) exists in the image. Every unknown name and every preset with no usable
/// variant is reported.
pub fn preset_sources(
    names: &[String],
    exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<Source>, Vec<ConfigError>> {
    let mut errors = Vec::new();
    for name in names.iter().filter(|n| !NAMES.contains(&n.as_str())) {
        let problem = Problem::UnknownPreset {
            name: name.clone(),
            known: NAMES,
        };
        errors.push(ConfigError::new(label(name, None), None, problem));
    }
    let mut sources = Vec::new();
    for preset in PRESETS.iter().filter(|p| names.iter().any(|n| n == p.name)) {
        let usable = |v: &&Variant| v.needs.iter().all(|program| exists(program));
        match preset.variants.iter().find(usable) {
            Some(variant) => sources.push(Source {
                name: preset.name.to_owned(),
                file: label(preset.name, Some(variant.name)),
                text: with_after_syslogd(preset.name, variant.text, names),
            }),
            None => {
                let needs = preset.variants.iter().map(|v| v.needs.join(" and "));
                let problem = Problem::PresetUnavailable {
                    needs: needs.collect::<Vec<_>>().join(" or "),
                    install: preset.install,
                };
                errors.push(ConfigError::new(label(preset.name, None), None, problem));
            }
        }
    }
    if errors.is_empty() {
        Ok(sources)
    } else {
        super::error::sort(&mut errors);
        Err(errors)
    }
}

/// `text`, plus `after = ["syslogd"]` when the syslogd preset is requested too and
/// `name` is not syslogd itself. The preset files end in the root table, with no `after`.
fn with_after_syslogd(name: &str, text: &str, names: &[String]) -> String {
    if name == SYSLOGD || !names.iter().any(|n| n == SYSLOGD) {
        return text.to_owned();
    }
    format!("{text}\n# The syslogd preset was requested too: start after it.\nafter = [\"{SYSLOGD}\"]\n")
}

/// `preset crond (debian)`, or `preset crond` when no variant is in question.
fn label(name: &str, variant: Option<&str>) -> PathBuf {
    match variant {
        Some(v) => PathBuf::from(format!("preset {name} ({v})")),
        None => PathBuf::from(format!("preset {name}")),
    }
}

/// The names in a `--services` / `RICH_INIT_SERVICES` value: comma-separated, each
/// trimmed, empty ones dropped, each once, in the order first given.
pub fn parse_list(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, parse_service, Command, Ready};

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn lines(result: Result<Vec<Source>, Vec<ConfigError>>) -> Vec<String> {
        match result {
            Ok(sources) => sources
                .iter()
                .map(|s| format!("{} from {}", s.name, s.file.display()))
                .collect(),
            Err(errors) => errors.iter().map(ConfigError::to_string).collect(),
        }
    }

    #[test]
    fn every_variant_parses() {
        assert_eq!(PRESETS.iter().map(|p| p.name).collect::<Vec<_>>(), NAMES);
        for preset in PRESETS {
            for variant in preset.variants {
                let file = label(preset.name, Some(variant.name));
                let service = parse_service(preset.name, &file, variant.text, &|_| true)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
                assert!(service.after.is_empty(), "{}: no after", file.display());
                // The program the variant is chosen by is the one it runs.
                let main = variant.needs[0];
                let runs = match &service.command {
                    Command::Argv(argv) => argv.join(" "),
                    Command::Shell(s) => s.clone(),
                };
                assert!(runs.contains(main), "{} runs {main}", file.display());
                // A variant uses only the programs it is chosen by, and /bin/sh.
                let only_needs = |p: &str| p == "/bin/sh" || variant.needs.contains(&p);
                parse_service(preset.name, &file, variant.text, &only_needs)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
            }
        }
    }

    #[test]
    fn syslogd_is_ready_when_dev_log_exists() {
        for variant in PRESETS[0].variants {
            let s = parse_service("syslogd", &label("syslogd", None), variant.text, &|_| true);
            let ready = s.map(|s| s.ready);
            assert!(
                matches!(&ready, Ok(Ready::Command { command, .. })
                    if format!("{command:?}").contains("-S") && format!("{command:?}").contains("/dev/log")),
                "{}: {ready:?}",
                variant.name
            );
        }
    }

    #[test]
    fn variant_by_probe_in_start_order() {
        let all = list(&["sshd", "crond", "syslogd"]);
        let debian = |p: &str| p != BUSYBOX;
        assert_eq!(
            lines(preset_sources(&all, &debian)),
            [
                "syslogd from preset syslogd (debian)",
                "crond from preset crond (debian)",
                "sshd from preset sshd (debian)",
            ]
        );
        // Debian wins when both are there.
        let both = |_: &str| true;
        assert_eq!(
            lines(preset_sources(&list(&["crond"]), &both)),
            ["crond from preset crond (debian)"]
        );
        let busybox = |p: &str| p == BUSYBOX;
        assert_eq!(
            lines(preset_sources(&list(&["crond", "syslogd"]), &busybox)),
            [
                "syslogd from preset syslogd (busybox)",
                "crond from preset crond (busybox)",
            ]
        );
        let cron_only = |p: &str| p == "/usr/sbin/cron";
        assert_eq!(
            lines(preset_sources(&list(&["crond"]), &cron_only)),
            ["crond from preset crond (debian)"]
        );
        assert_eq!(lines(preset_sources(&[], &both)), Vec::<String>::new());
    }

    #[test]
    fn unknown_and_unusable_presets() {
        let busybox = |p: &str| p == BUSYBOX;
        let got = lines(preset_sources(
            &list(&["sshd", "ntpd", "crond", "syslog"]),
            &busybox,
        ));
        assert_eq!(
            got,
            [
                "preset ntpd: no such preset; the presets are syslogd, crond, sshd, or write services.d/ntpd.toml",
                "preset sshd: needs /usr/sbin/sshd and /usr/bin/ssh-keygen; install openssh-server",
                "preset syslog: no such preset; the presets are syslogd, crond, sshd, or write services.d/syslog.toml",
            ]
        );
        let nothing = |_: &str| false;
        assert_eq!(
            lines(preset_sources(&list(&["crond"]), &nothing)),
            ["preset crond: needs /usr/sbin/cron or /bin/busybox; install cron or busybox"]
        );
    }

    #[test]
    fn presets_load_together() {
        let names = list(&["crond", "sshd", "syslogd"]);
        let sources = preset_sources(&names, &|_| true).unwrap_or_else(|e| panic!("{e:?}"));
        let config = load(&sources, &|_| true).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(config.start_order, ["syslogd", "crond", "sshd"]);
        assert_eq!(config.services["crond"].after, ["syslogd"]);
        assert_eq!(config.services["sshd"].after, ["syslogd"]);
        assert!(config.services["syslogd"].after.is_empty());
        // Without the syslogd preset, no after.
        let sources = preset_sources(&list(&["sshd", "crond"]), &|_| true);
        let sources = sources.unwrap_or_else(|e| panic!("{e:?}"));
        let config = load(&sources, &|_| true).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(config.start_order, ["crond", "sshd"]);
        assert!(config.services.values().all(|s| s.after.is_empty()));
        // A broken image shows up with the preset's label.
        let sources = preset_sources(&names, &|_| true).unwrap_or_else(|e| panic!("{e:?}"));
        let no_sh = |p: &str| p != "/bin/sh";
        let errors = load(&sources, &no_sh).err().unwrap_or_default();
        let all: Vec<String> = errors.iter().map(ConfigError::to_string).collect();
        // Every error at once, sorted by service name.
        let want: Vec<String> = [
            ("crond", "command"),
            ("sshd", "command"),
            ("syslogd", "ready.command"),
        ]
        .iter()
        .map(|(name, key)| {
                format!(
                    "preset {name} (debian): key \"{key}\": program \"/bin/sh\" not found; \
                     install it in the image or fix the path (names without / are looked up in PATH)"
                )
            })
            .collect();
        assert_eq!(all, want);
    }

    #[test]
    fn list_parsing() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("  ", &[]),
            (",,", &[]),
            ("crond", &["crond"]),
            ("crond,syslogd", &["crond", "syslogd"]),
            (" sshd , crond ,", &["sshd", "crond"]),
            ("crond,crond, crond", &["crond"]),
            ("syslogd,,crond,syslogd", &["syslogd", "crond"]),
        ];
        for (text, want) in cases {
            assert_eq!(parse_list(text), *want, "{text:?}");
        }
    }
}
