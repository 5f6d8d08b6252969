//! Dependency order of services from their `after` lists: pure functions on names.
//!
//! `after = ["b"]` on service `a` means "start a after b is ready; stop a before b".
//! The start order is Kahn's algorithm with ties broken by name, so the same set of
//! services always starts in the same order; the stop order is its reverse.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Why no order exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A name appears twice among the services.
    #[error("service \"{0}\" is defined twice; give each service one definition")]
    Duplicate(String),
    /// An `after` entry names no service.
    #[error("\"{service}\" starts after \"{dependency}\", which is not a service; remove the entry or add the service")]
    UnknownDependency { service: String, dependency: String },
    /// The `after` lists form one or more cycles (each as from [`find_cycles`]).
    #[error("{}", cycles_text(.0))]
    Cycles(Vec<Cycle>),
}

/// A cycle of `after` entries: each service starts after the next one, and the last
/// one after the first. It starts at its smallest name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<String>);

impl fmt::Display for Cycle {
    /// `a → b → c → a`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in &self.0 {
            write!(f, "{name} → ")?;
        }
        match self.0.first() {
            Some(first) => write!(f, "{first}"),
            None => Ok(()),
        }
    }
}

fn cycles_text(cycles: &[Cycle]) -> String {
    let list: Vec<String> = cycles.iter().map(Cycle::to_string).collect();
    format!(
        "\"after\" entries form a cycle: {}; remove one entry of each cycle",
        list.join(", ")
    )
}

/// The start order of `services`, each given as `(name, after)`: every service comes
/// after all of the services in its `after` list; among services that could go next,
/// the smallest name goes first. Repeated `after` entries are harmless.
pub fn start_order(services: &[(String, Vec<String>)]) -> Result<Vec<String>, OrderError> {
    let graph = Graph::new(services)?;
    let all: BTreeSet<&str> = crate::sort::set_of(graph.deps.keys().copied());
    let (order, left) = graph.kahn(&all);
    if left.is_empty() {
        Ok(order.into_iter().map(str::to_owned).collect())
    } else {
        Err(OrderError::Cycles(graph.cycles(left)))
    }
}

/// The stop order for a start order: its reverse, so each service stops before the
/// services it started after.
pub fn stop_order(start: &[String]) -> Vec<String> {
    start.iter().rev().cloned().collect()
}

/// Every independent cycle among `services`, smallest names first; empty when there is
/// none. Entries naming unknown services are ignored here.
pub fn find_cycles(services: &[(String, Vec<String>)]) -> Vec<Cycle> {
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, _) in services {
        deps.entry(name.as_str()).or_default();
    }
    for (name, after) in services {
        let known = after.iter().filter(|d| deps.contains_key(d.as_str()));
        let known: Vec<&str> = known.map(String::as_str).collect();
        deps.entry(name.as_str()).or_default().extend(known);
    }
    let graph = Graph { deps };
    let all: BTreeSet<&str> = crate::sort::set_of(graph.deps.keys().copied());
    let (_, left) = graph.kahn(&all);
    graph.cycles(left)
}

/// Service → the services it starts after.
struct Graph<'a> {
    deps: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Graph<'a> {
    fn new(services: &'a [(String, Vec<String>)]) -> Result<Self, OrderError> {
        let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (name, after) in services {
            let set = crate::sort::set_of(after.iter().map(String::as_str));
            if deps.insert(name.as_str(), set).is_some() {
                return Err(OrderError::Duplicate(name.clone()));
            }
        }
        for (name, after) in &deps {
            if let Some(missing) = after.iter().find(|d| !deps.contains_key(*d)) {
                return Err(OrderError::UnknownDependency {
                    service: (*name).to_owned(),
                    dependency: (*missing).to_owned(),
                });
            }
        }
        Ok(Graph { deps })
    }

    /// Kahn's algorithm on the services in `nodes`, ignoring edges that leave `nodes`.
    /// Returns the order found and the services that could not be placed (those in or
    /// behind a cycle).
    fn kahn(&self, nodes: &BTreeSet<&'a str>) -> (Vec<&'a str>, BTreeSet<&'a str>) {
        let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for &name in nodes {
            let deps = self.deps_within(name, nodes);
            waiting.insert(name, deps.len());
            for dep in deps {
                dependents.entry(dep).or_default().push(name);
            }
        }
        let mut ready: BTreeSet<&str> = crate::sort::set_of(
            waiting
                .iter()
                .filter(|(_, n)| **n == 0)
                .map(|(name, _)| *name),
        );
        let mut order = Vec::with_capacity(nodes.len());
        while let Some(name) = ready.pop_first() {
            order.push(name);
            for &next in dependents.get(name).map(Vec::as_slice).unwrap_or_default() {
                if let Some(n) = waiting.get_mut(next) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(next);
                    }
                }
            }
        }
        let placed: BTreeSet<&str> = crate::sort::set_of(order.iter().copied());
        let left = crate::sort::set_of(nodes.difference(&placed).copied());
        (order, left)
    }

    fn deps_within(&self, name: &str, nodes: &BTreeSet<&'a str>) -> Vec<&'a str> {
        self.deps
            .get(name)
            .map(|d| d.iter().copied().filter(|d| nodes.contains(d)).collect())
            .unwrap_or_default()
    }

    /// The cycles among `left`, the services Kahn's algorithm could not place. Each
    /// round walks from the smallest name along smallest dependencies until a name
    /// repeats (every such service has a dependency in `left`, so the walk cannot
    /// stop), takes that cycle out, and places what it was holding back.
    fn cycles(&self, mut left: BTreeSet<&'a str>) -> Vec<Cycle> {
        let mut found = Vec::new();
        while let Some(&start) = left.first() {
            let Some(cycle) = self.walk(start, &left) else {
                break;
            };
            for name in &cycle {
                left.remove(name);
            }
            found.push(rotate_to_smallest(cycle));
            let (_, still) = self.kahn(&left);
            left = still;
        }
        found
    }

    fn walk(&self, start: &'a str, left: &BTreeSet<&'a str>) -> Option<Vec<&'a str>> {
        let mut path: Vec<&str> = vec![start];
        loop {
            let current = *path.last()?;
            let next = *self.deps_within(current, left).first()?;
            if let Some(at) = path.iter().position(|n| *n == next) {
                return Some(path.split_off(at));
            }
            path.push(next);
        }
    }
}

fn rotate_to_smallest(mut cycle: Vec<&str>) -> Cycle {
    if let Some((at, _)) = cycle.iter().enumerate().min_by_key(|(_, n)| **n) {
        cycle.rotate_left(at);
    }
    Cycle(cycle.into_iter().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services(spec: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        spec.iter()
            .map(|(n, a)| (n.to_string(), a.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn start_orders() {
        type Case = (
            &'static [(&'static str, &'static [&'static str])],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (&[], &[]),
            (&[("a", &[])], &["a"]),
            // ties broken by name, whatever the input order
            (&[("c", &[]), ("a", &[]), ("b", &[])], &["a", "b", "c"]),
            (
                &[("crond", &["syslogd"]), ("syslogd", &[])],
                &["syslogd", "crond"],
            ),
            // a chain against names
            (
                &[("a", &["b"]), ("b", &["c"]), ("c", &[])],
                &["c", "b", "a"],
            ),
            // a diamond: d after b and c, both after a; b and c by name
            (
                &[("d", &["c", "b"]), ("c", &["a"]), ("b", &["a"]), ("a", &[])],
                &["a", "b", "c", "d"],
            ),
            // repeated entries count once
            (&[("a", &["b", "b"]), ("b", &[])], &["b", "a"]),
            // a freed name smaller than what is ready goes first
            (&[("z", &[]), ("y", &[]), ("a", &["y"])], &["y", "a", "z"]),
        ];
        for (spec, want) in cases {
            let got = start_order(&services(spec));
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(got, Ok(want), "{spec:?}");
        }
    }

    #[test]
    fn stop_order_is_reverse() {
        let start = start_order(&services(&[("crond", &["syslogd"]), ("syslogd", &[])]));
        assert_eq!(stop_order(&start.unwrap_or_default()), ["crond", "syslogd"]);
    }

    #[test]
    fn errors() {
        type Case = (
            &'static [(&'static str, &'static [&'static str])],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                &[("a", &[]), ("a", &[])],
                "service \"a\" is defined twice; give each service one definition",
            ),
            (
                &[("crond", &["syslogd"])],
                "\"crond\" starts after \"syslogd\", which is not a service; \
                 remove the entry or add the service",
            ),
            (
                &[("a", &["a"])],
                "\"after\" entries form a cycle: a → a; remove one entry of each cycle",
            ),
            (
                &[("a", &["b"]), ("b", &["c"]), ("c", &["a"])],
                "\"after\" entries form a cycle: a → b → c → a; remove one entry of each cycle",
            ),
            (
                // the cycle starts at its smallest name even when the walk enters elsewhere
                &[("a", &["c"]), ("c", &["d"]), ("d", &["b"]), ("b", &["c"])],
                "\"after\" entries form a cycle: b → c → d → b; remove one entry of each cycle",
            ),
            (
                // two cycles, and a service held back by both
                &[
                    ("x", &["y"]),
                    ("y", &["x"]),
                    ("b", &["a"]),
                    ("a", &["b"]),
                    ("m", &["a", "x"]),
                    ("free", &[]),
                ],
                "\"after\" entries form a cycle: a → b → a, x → y → x; \
                 remove one entry of each cycle",
            ),
        ];
        for (spec, want) in cases {
            match start_order(&services(spec)) {
                Err(e) => assert_eq!(e.to_string(), *want, "{spec:?}"),
                Ok(order) => panic!("{spec:?}: expected an error, got {order:?}"),
            }
        }
    }

    #[test]
    fn find_cycles_ignores_unknown_names() {
        let spec = services(&[("a", &["b", "ghost"]), ("b", &["a"]), ("c", &["ghost"])]);
        let want = vec![Cycle(vec!["a".into(), "b".into()])];
        assert_eq!(find_cycles(&spec), want);
        assert!(find_cycles(&services(&[("a", &["ghost"])])).is_empty());
    }
}
