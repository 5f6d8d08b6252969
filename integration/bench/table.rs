//! The result table: one row per measure, one column per init, ratios, target, verdict.
//! Printed as Markdown so that it can be pasted into README.md as it is.

use crate::peers::{Init, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Micros,
    Millis,
    Count,
    KiB,
    Bytes,
}

/// What ours must achieve; lower is better for every measure in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    None,
    /// ours ≤ factor × tini-static
    VsTiniStatic(f64),
    /// ours ≤ factor × the best (lowest) peer
    VsBestPeer(f64),
    /// ours = 0
    Zero,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub measure: String,
    pub unit: Unit,
    /// One per init, in the order of the inits; None when it could not be measured.
    pub values: Vec<Option<f64>>,
    /// Appended to a cell, one per init ("" for none).
    pub marks: Vec<&'static str>,
    /// Per init: the cell's text in place of the formatted value (None: the value).
    pub texts: Vec<Option<String>>,
    /// Per init: left out when picking the best peer (not comparable on this measure).
    pub not_best: Vec<bool>,
    pub target: Target,
}

impl Row {
    pub fn new(measure: impl Into<String>, unit: Unit, values: Vec<Option<f64>>) -> Row {
        let marks = vec![""; values.len()];
        let not_best = vec![false; values.len()];
        let texts = vec![None; values.len()];
        Row {
            measure: measure.into(),
            unit,
            values,
            marks,
            texts,
            not_best,
            target: Target::None,
        }
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = target;
        self
    }

    pub fn marks(mut self, marks: Vec<&'static str>) -> Row {
        self.marks = marks;
        self
    }

    pub fn texts(mut self, texts: Vec<Option<String>>) -> Row {
        self.texts = texts;
        self
    }

    /// The text of init `i`'s cell: its value (or the text given for it) and its mark.
    pub fn cell(&self, i: usize) -> String {
        let mark = self.marks.get(i).copied().unwrap_or("");
        match (
            self.texts.get(i).cloned().flatten(),
            self.values.get(i).copied().flatten(),
        ) {
            (Some(text), _) => format!("{text}{mark}"),
            (None, Some(v)) => format!("{}{mark}", format_value(self.unit, v)),
            (None, None) => "—".to_string(),
        }
    }

    pub fn not_best(mut self, not_best: Vec<bool>) -> Row {
        self.not_best = not_best;
        self
    }
}

pub fn format_value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Micros if v < 100.0 => format!("{v:.1} µs"),
        Unit::Micros => format!("{v:.0} µs"),
        Unit::Millis if v < 100.0 => format!("{v:.2} ms"),
        Unit::Millis => format!("{v:.1} ms"),
        Unit::Count => format!("{v:.0}"),
        Unit::KiB => format!("{v:.0} kB"),
        Unit::Bytes => thousands(v.round() as u64),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// ours / other, with two decimals, or two significant digits below 0.1 (0.0041×).
pub fn ratio(ours: Option<f64>, other: Option<f64>) -> String {
    match (ours, other) {
        (Some(a), Some(b)) if b > 0.0 => {
            let r = a / b;
            let decimals = if r > 0.0 && r < 0.1 {
                (1.0 - r.log10().floor()) as usize
            } else {
                2
            };
            format!("{r:.decimals$}×")
        }
        (Some(0.0), Some(_)) => "= (0 / 0)".to_string(),
        _ => "—".to_string(),
    }
}

pub fn target_text(t: Target) -> String {
    match t {
        Target::None => "—".to_string(),
        Target::VsTiniStatic(f) => format!("≤ {f:.2}× tini-static"),
        Target::VsBestPeer(f) => format!("≤ {f:.2}× best peer"),
        Target::Zero => "0".to_string(),
    }
}

pub fn verdict(
    t: Target,
    ours: Option<f64>,
    tini_static: Option<f64>,
    best: Option<f64>,
) -> &'static str {
    let meets = match (t, ours) {
        (Target::None, _) => return "—",
        (_, None) => return "not measured",
        (Target::VsTiniStatic(f), Some(o)) => tini_static.map(|b| o <= f * b),
        (Target::VsBestPeer(f), Some(o)) => best.map(|b| o <= f * b),
        (Target::Zero, Some(o)) => Some(o == 0.0),
    };
    match meets {
        Some(true) => "meets",
        Some(false) => "misses",
        None => "not measured",
    }
}

/// Render the rows as a Markdown table with aligned columns.
pub fn render(inits: &[Init], rows: &[Row]) -> String {
    let ours_at = inits.iter().position(|i| i.kind == Kind::Ours);
    let ts_at = inits.iter().position(|i| i.kind == Kind::TiniStatic);
    let cat_at = inits.iter().position(|i| i.kind == Kind::Catatonit);
    let mut header: Vec<String> = vec!["measure".into()];
    header.extend(inits.iter().map(|i| i.name.to_string()));
    header.extend(
        [
            "ours/tini-static",
            "ours/catatonit",
            "ours/best peer",
            "target",
            "verdict",
        ]
        .map(String::from),
    );
    let mut lines = vec![header];
    for row in rows {
        let get = |at: Option<usize>| at.and_then(|i| row.values.get(i).copied().flatten());
        let ours = get(ours_at);
        let tini_static = get(ts_at);
        let best = inits
            .iter()
            .zip(&row.values)
            .zip(&row.not_best)
            .filter(|((i, _), excluded)| i.kind != Kind::Ours && !**excluded)
            .filter_map(|((_, v), _)| *v)
            .min_by(f64::total_cmp);
        let mut cells = vec![row.measure.clone()];
        cells.extend((0..row.values.len()).map(|i| row.cell(i)));
        cells.push(ratio(ours, tini_static));
        cells.push(ratio(ours, get(cat_at)));
        cells.push(ratio(ours, best));
        cells.push(target_text(row.target));
        cells.push(verdict(row.target, ours, tini_static, best).to_string());
        lines.push(cells);
    }
    markdown(&lines)
}

/// Lines of cells (the first is the header) as a Markdown table with aligned columns:
/// the first column left-aligned, the others right-aligned.
pub fn markdown(lines: &[Vec<String>]) -> String {
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (n, line) in lines.iter().enumerate() {
        out.push_str(&format_line(line, &widths));
        if n == 0 {
            let rule: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(c, w)| {
                    if c == 0 {
                        format!(":{}", "-".repeat(w - 1))
                    } else {
                        format!("{}:", "-".repeat(w - 1))
                    }
                })
                .collect();
            out.push_str(&format_line(&rule, &widths));
        }
    }
    out
}

fn format_line(cells: &[String], widths: &[usize]) -> String {
    let mut line = String::from("|");
    for (c, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let pad = " ".repeat(w.saturating_sub(cell.chars().count()));
        if c == 0 {
            line.push_str(&format!(" {cell}{pad} |"));
        } else {
            line.push_str(&format!(" {pad}{cell} |"));
        }
    }
    line.push('\n');
    line
}
