//! Finding the processes below us in /proc: what a subreaper must stop at shutdown
//! (as pid 1 of a namespace, kill(-1) reaches them all instead).

use std::collections::BTreeMap;

/// pid and parent pid from the text of /proc/PID/stat (the command name may hold
/// spaces and parentheses, so parse after the last ')').
pub fn parse_stat_ppid(stat: &str) -> Option<(i32, i32)> {
    let pid = stat.split_whitespace().next()?.parse().ok()?;
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after.split_whitespace();
    let _state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((pid, ppid))
}

/// The children of every thread of `pid`, from /proc/PID/task/*/children
/// (CONFIG_PROC_CHILDREN); None when the kernel does not provide those files.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut found = Vec::new();
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        any = true;
        found.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    any.then_some(found)
}

/// Every live descendant of `root`, parents before children. Walks the children files
/// when the kernel has them (a few reads), else scans all of /proc.
pub fn descendants(root: i32) -> Vec<i32> {
    if let Some(first) = children_of(root) {
        let mut found = Vec::new();
        let mut queue = first;
        while let Some(pid) = queue.pop() {
            found.push(pid);
            queue.extend(children_of(pid).unwrap_or_default());
        }
        return found;
    }
    scan_all(root)
}

/// The slow way: every /proc/PID/stat, parent links followed down from `root`.
fn scan_all(root: i32) -> Vec<i32> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some((pid, ppid)) = parse_stat_ppid(&stat) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        if let Some(kids) = children.remove(&parent) {
            found.extend(&kids);
            queue.extend(kids);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines() {
        assert_eq!(parse_stat_ppid("42 (sh) S 1 42 42 0 -1"), Some((42, 1)));
        assert_eq!(parse_stat_ppid("7 (a) b) (c) R 3 7 7"), Some((7, 3)));
        assert_eq!(parse_stat_ppid("7 (x"), None);
        assert_eq!(parse_stat_ppid(""), None);
    }

    #[test]
    fn both_ways_agree() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let me = i32::try_from(std::process::id()).unwrap_or(0);
        let (fast, slow) = (descendants(me), scan_all(me));
        let _ = child.kill();
        let _ = child.wait();
        let pid = i32::try_from(child.id()).unwrap_or(0);
        assert!(
            fast.contains(&pid) && slow.contains(&pid),
            "{fast:?} {slow:?}"
        );
    }

    #[test]
    fn finds_our_own_children() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let me = i32::try_from(std::process::id()).unwrap_or(0);
        let found = descendants(me);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            found.contains(&i32::try_from(child.id()).unwrap_or(0)),
            "{found:?}"
        );
    }
}
