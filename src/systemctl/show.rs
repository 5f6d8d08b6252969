//! `systemctl show`: `Key=value` lines in systemctl's order, which is the D-Bus vtable order
//! (org.freedesktop.systemd1(5)): a service's `org.freedesktop.systemd1.Service` properties
//! first, then the `Unit` ones. `-p` selects properties but keeps this order; without `-p`,
//! empty strings, empty lists and zero timestamps are left out (bus_print_property's rules,
//! `BUS_PRINT_PROPERTY_SHOW_EMPTY` set by `-p`/`--all`). Pure.

use super::format::{shell_quote, timestamp};
use crate::units::status::UnitInfo;

enum Prop {
    Str(String),
    Int(i64),
    Bool(bool),
    Time(u64),
    List(Vec<String>),
}

type Getter = fn(&UnitInfo) -> Prop;

/// `org.freedesktop.systemd1.Service` properties, in vtable order.
const SERVICE: &[(&str, Getter)] = &[
    ("Type", |u| Prop::Str(u.service_type.clone())),
    ("Restart", |u| Prop::Str(u.restart.clone())),
    ("MainPID", |u| Prop::Int(u.main_pid.into())),
    ("ControlPID", |u| Prop::Int(u.control_pid.into())),
    ("Result", |u| Prop::Str(u.result.clone())),
    ("NRestarts", |u| Prop::Int(u.n_restarts.into())),
    ("ExecMainStartTimestamp", |u| {
        Prop::Time(u.exec_main_start_us)
    }),
    ("ExecMainExitTimestamp", |u| Prop::Time(u.exec_main_exit_us)),
    ("ExecMainPID", |u| Prop::Int(u.exec_main_pid.into())),
    ("ExecMainCode", |u| Prop::Int(u.exec_main_code.into())),
    ("ExecMainStatus", |u| Prop::Int(u.exec_main_status.into())),
];

/// `org.freedesktop.systemd1.Unit` properties, in vtable order.
const UNIT: &[(&str, Getter)] = &[
    ("Id", |u| Prop::Str(u.id.clone())),
    ("Names", |u| Prop::List(u.names.clone())),
    ("Documentation", |u| Prop::List(u.documentation.clone())),
    ("Description", |u| Prop::Str(u.description.clone())),
    ("LoadState", |u| Prop::Str(u.load_state.clone())),
    ("ActiveState", |u| Prop::Str(u.active_state.clone())),
    ("SubState", |u| Prop::Str(u.sub_state.clone())),
    ("FragmentPath", |u| Prop::Str(u.fragment_path.clone())),
    ("SourcePath", |u| Prop::Str(u.source_path.clone())),
    ("DropInPaths", |u| Prop::List(u.drop_in_paths.clone())),
    ("UnitFileState", |u| Prop::Str(u.unit_file_state.clone())),
    ("UnitFilePreset", |u| Prop::Str(u.unit_file_preset.clone())),
    ("StateChangeTimestamp", |u| Prop::Time(u.state_change_us)),
    ("InactiveExitTimestamp", |u| Prop::Time(u.inactive_exit_us)),
    ("ActiveEnterTimestamp", |u| Prop::Time(u.active_enter_us)),
    ("ActiveExitTimestamp", |u| Prop::Time(u.active_exit_us)),
    ("InactiveEnterTimestamp", |u| {
        Prop::Time(u.inactive_enter_us)
    }),
    ("CanReload", |u| Prop::Bool(u.can_reload)),
];

/// Every property name `show` knows, in its order (for a service).
pub fn property_names() -> impl Iterator<Item = &'static str> {
    SERVICE.iter().chain(UNIT).map(|(name, _)| *name)
}

/// One unit's `show` text. `selected`: the `-p` names (empty: all); `value`: `--value`.
pub fn show_unit(unit: &UnitInfo, selected: &[String], value: bool) -> String {
    let show_empty = !selected.is_empty();
    let service = unit.id.ends_with(".service");
    let props = SERVICE
        .iter()
        .filter(|_| service)
        .chain(UNIT)
        .filter(|(name, _)| selected.is_empty() || selected.iter().any(|s| s == name));
    let mut out = String::new();
    for (name, get) in props {
        let text = match get(unit) {
            Prop::Str(s) => s,
            Prop::Int(i) => i.to_string(),
            Prop::Bool(b) => if b { "yes" } else { "no" }.to_string(),
            Prop::Time(us) => timestamp(us),
            Prop::List(items) => items
                .iter()
                .map(|i| shell_quote(i))
                .collect::<Vec<_>>()
                .join(" "),
        };
        if text.is_empty() && !show_empty {
            continue;
        }
        if !value {
            out.push_str(name);
            out.push('=');
        }
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// Several units' `show` text: one block each, separated by a blank line.
pub fn show_units(units: &[UnitInfo], selected: &[String], value: bool) -> String {
    units
        .iter()
        .map(|u| show_unit(u, selected, value))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::status::Process;

    fn cron() -> UnitInfo {
        UnitInfo {
            id: "cron.service".into(),
            names: vec!["cron.service".into(), "crond.service".into()],
            description: "Regular background program processing daemon".into(),
            load_state: "loaded".into(),
            active_state: "active".into(),
            sub_state: "running".into(),
            unit_file_state: "enabled".into(),
            unit_file_preset: "enabled".into(),
            fragment_path: "/lib/systemd/system/cron.service".into(),
            service_type: "simple".into(),
            restart: "on-failure".into(),
            main_pid: 42,
            exec_main_pid: 42,
            exec_main_start_us: 1_796_557_201_000_000,
            active_enter_us: 1_796_557_201_000_000,
            state_change_us: 1_796_557_201_000_000,
            result: "success".into(),
            documentation: vec!["man:cron(8)".into()],
            processes: vec![Process {
                pid: 42,
                cmdline: "/usr/sbin/cron -f".into(),
            }],
            ..UnitInfo::default()
        }
    }

    #[test]
    fn whole_unit() {
        let want = "Type=simple
Restart=on-failure
MainPID=42
ControlPID=0
Result=success
NRestarts=0
ExecMainStartTimestamp=Sun 2026-12-06 11:40:01 UTC
ExecMainPID=42
ExecMainCode=0
ExecMainStatus=0
Id=cron.service
Names=cron.service crond.service
Documentation=\"man:cron(8)\"
Description=Regular background program processing daemon
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/cron.service
UnitFileState=enabled
UnitFilePreset=enabled
StateChangeTimestamp=Sun 2026-12-06 11:40:01 UTC
ActiveEnterTimestamp=Sun 2026-12-06 11:40:01 UTC
CanReload=no
";
        assert_eq!(show_unit(&cron(), &[], false), want);
    }

    #[test]
    fn selected_properties() {
        let p = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: Vec<(Vec<String>, bool, &str)> = vec![
            // systemctl's order, not the -p order.
            (
                p(&["SubState", "MainPID", "ActiveState"]),
                false,
                "MainPID=42\nActiveState=active\nSubState=running\n",
            ),
            (p(&["ActiveState", "MainPID"]), true, "42\nactive\n"),
            // Asked for: printed even when empty.
            (
                p(&["ExecMainExitTimestamp", "DropInPaths", "SourcePath"]),
                false,
                "ExecMainExitTimestamp=\nSourcePath=\nDropInPaths=\n",
            ),
            (p(&["ActiveExitTimestamp"]), true, "\n"),
            (p(&["NoSuchProperty"]), false, ""),
            (
                p(&["CanReload", "Names"]),
                true,
                "cron.service crond.service\nno\n",
            ),
        ];
        for (selected, value, want) in cases {
            assert_eq!(show_unit(&cron(), &selected, value), want, "{selected:?}");
        }
    }

    #[test]
    fn not_found_and_several() {
        let missing = UnitInfo::not_found("nope.service");
        let text = show_unit(&missing, &[], false);
        assert!(text.contains("Id=nope.service\n"), "{text}");
        assert!(text.contains("LoadState=not-found\nActiveState=inactive\nSubState=dead\n"));
        let target = UnitInfo {
            id: "multi-user.target".into(),
            ..UnitInfo::default()
        };
        // Not a service: no Service properties.
        assert_eq!(
            show_unit(&target, &["MainPID".into(), "Id".into()], false),
            "Id=multi-user.target\n"
        );
        let sel = ["Id".to_string()];
        assert_eq!(
            show_units(&[cron(), missing], &sel, false),
            "Id=cron.service\n\nId=nope.service\n"
        );
    }
}
