//! `systemctl list-units` and `list-unit-files`: filters, order, table and legend as
//! systemd v252 prints them (systemctl-list-units.c, systemctl-list-unit-files.c). Pure.

use super::args::{glob_match, Options};
use super::format::table;
use crate::units::discovery::{ListedUnit, UnitFileState};
use crate::units::status::UnitInfo;

fn suffix(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, s)| s)
}

fn type_ok(name: &str, opts: &Options) -> bool {
    opts.types.is_empty() || opts.types.iter().any(|t| t == suffix(name))
}

fn pattern_ok(name: &str, patterns: &[String]) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| glob_match(p, name))
}

/// Whether list-units shows a unit: its type, a pattern, `--state=` on any of the load,
/// active or sub state, and inactive units only with `--all` (or `--state=inactive`).
pub fn unit_shown(u: &UnitInfo, patterns: &[String], opts: &Options) -> bool {
    let all = opts.all || opts.states.iter().any(|s| s == "inactive");
    let state_ok = opts.states.is_empty()
        || opts
            .states
            .iter()
            .any(|s| *s == u.load_state || *s == u.active_state || *s == u.sub_state);
    type_ok(&u.id, opts)
        && pattern_ok(&u.id, patterns)
        && state_ok
        && (all || u.active_state != "inactive")
}

/// The list-units text for the units the init answered with.
pub fn list_units(units: &[UnitInfo], patterns: &[String], opts: &Options) -> String {
    // unit_info_compare: by type suffix, then by name, ignoring case; equal names keep
    // their order (unstable sorts link less code than stable ones: the position decides).
    let mut keyed: Vec<(String, String, usize, &UnitInfo)> = units
        .iter()
        .filter(|u| unit_shown(u, patterns, opts))
        .enumerate()
        .map(|(at, u)| (suffix(&u.id).to_lowercase(), u.id.to_lowercase(), at, u))
        .collect();
    crate::sort::sort_by(&mut keyed, |a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    let shown: Vec<&UnitInfo> = keyed.into_iter().map(|k| k.3).collect();
    let mut rows = Vec::new();
    let row = |glyph: &str, cells: [&str; 5]| {
        let mut r = Vec::new();
        if !opts.plain {
            r.push(glyph.to_string());
        }
        r.extend(cells.iter().map(|c| c.to_string()));
        r
    };
    if opts.legend {
        rows.push(row(" ", ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]));
    }
    for u in &shown {
        let bad_load = matches!(
            u.load_state.as_str(),
            "error" | "not-found" | "bad-setting" | "masked"
        );
        let glyph = if bad_load || u.active_state == "failed" {
            "●"
        } else {
            " "
        };
        rows.push(row(
            glyph,
            [
                &u.id,
                &u.load_state,
                &u.active_state,
                &u.sub_state,
                &u.description,
            ],
        ));
    }
    let mut out = if rows.is_empty() {
        String::new()
    } else {
        table(&rows)
    };
    if opts.legend {
        let n = shown.len();
        if n > 0 {
            out.push_str(
                "\nLOAD   = Reflects whether the unit definition was properly loaded.\n\
                 ACTIVE = The high-level unit activation state, i.e. generalization of SUB.\n\
                 SUB    = The low-level unit activation state, values depend on unit type.\n",
            );
        }
        if opts.all || opts.states.iter().any(|s| s == "inactive") {
            out.push_str(&format!(
                "{n} loaded units listed.\n\
                 To show all installed unit files use 'systemctl list-unit-files'.\n"
            ));
        } else if opts.states.is_empty() {
            out.push_str(&format!(
                "{n} loaded units listed. Pass --all to see loaded but inactive units, too.\n\
                 To show all installed unit files use 'systemctl list-unit-files'.\n"
            ));
        } else {
            out.push_str(&format!("{n} loaded units listed.\n"));
        }
    }
    out
}

/// The preset column: rich-init has no preset files, so "enabled" (systemd's default
/// policy), left out (`-`) for the states systemctl shows none for.
fn preset(state: UnitFileState) -> &'static str {
    match state {
        UnitFileState::Alias | UnitFileState::Static => "",
        _ => "enabled",
    }
}

/// The list-unit-files text for the files discovery found.
pub fn list_unit_files(files: &[ListedUnit], patterns: &[String], opts: &Options) -> String {
    let shown: Vec<&ListedUnit> = files
        .iter()
        .filter(|f| type_ok(&f.name, opts) && pattern_ok(&f.name, patterns))
        .filter(|f| opts.states.is_empty() || opts.states.iter().any(|s| s == f.state.as_str()))
        .collect();
    let mut rows = Vec::new();
    if opts.legend {
        rows.push(vec!["UNIT FILE".into(), "STATE".into(), "PRESET".into()]);
    }
    for f in &shown {
        rows.push(vec![
            f.name.clone(),
            f.state.as_str().to_string(),
            preset(f.state).to_string(),
        ]);
    }
    let mut out = if rows.is_empty() {
        String::new()
    } else {
        table(&rows)
    };
    if opts.legend {
        out.push_str(&format!("\n{} unit files listed.\n", shown.len()));
    }
    out
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
