//! Users and groups from /etc/passwd and /etc/group, parsed here: a static glibc binary
//! must not use NSS (getpwnam and friends), and a container's files are all there is.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// Who a process runs as: what setgroups/setgid/setuid need, and HOME/USER for its env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, sorted, without duplicates (the primary gid included).
    pub groups: Vec<u32>,
    pub name: Option<String>,
    pub home: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsersError {
    #[error("user {0:?} is not in /etc/passwd; add it, or give a numeric uid")]
    UnknownUser(String),
    #[error("group {0:?} is not in /etc/group; add it, or give a numeric gid")]
    UnknownGroup(String),
    #[error("cannot read {path}: {reason}; the image needs this file to resolve names")]
    Read { path: PathBuf, reason: String },
}

/// `name:x:uid:gid:gecos:home:shell` lines; comments, blanks and malformed lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let [name, _pw, uid, gid, _gecos, home, shell] = f.as_slice() else {
                return None;
            };
            Some(User {
                name: name.to_string(),
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                home: home.to_string(),
                shell: shell.to_string(),
            })
        })
        .filter(|u| !u.name.is_empty())
        .collect()
}

/// `name:x:gid:member,member` lines; comments, blanks and malformed lines are skipped.
pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            let [name, _pw, gid, members] = f.as_slice() else {
                return None;
            };
            Some(Group {
                name: name.to_string(),
                gid: gid.parse().ok()?,
                members: members
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .filter(|g| !g.name.is_empty())
        .collect()
}

/// Resolve a user given by name or uid, and an optional group by name or gid.
///
/// As runc does: a numeric uid with no passwd entry runs with gid 0 unless a group is
/// given; a name must exist. Supplementary groups are every group that lists the
/// user's name, plus the primary group.
pub fn resolve(
    user: &str,
    group: Option<&str>,
    users: &[User],
    groups: &[Group],
) -> Result<Identity, UsersError> {
    let entry = match user.parse::<u32>() {
        Ok(uid) => users.iter().find(|u| u.uid == uid),
        Err(_) => Some(
            users
                .iter()
                .find(|u| u.name == user)
                .ok_or_else(|| UsersError::UnknownUser(user.into()))?,
        ),
    };
    let uid = match (entry, user.parse::<u32>()) {
        (Some(e), _) => e.uid,
        (None, Ok(uid)) => uid,
        (None, Err(_)) => return Err(UsersError::UnknownUser(user.into())),
    };
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
                .iter()
                .find(|x| x.name == g)
                .map(|x| x.gid)
                .ok_or_else(|| UsersError::UnknownGroup(g.into()))?,
        },
        None => entry.map_or(0, |e| e.gid),
    };
    let mut supplementary: Vec<u32> = match entry {
        Some(e) => groups
            .iter()
            .filter(|g| g.members.contains(&e.name))
            .map(|g| g.gid)
            .collect(),
        None => Vec::new(),
    };
    supplementary.push(gid);
    crate::sort::sort(&mut supplementary);
    supplementary.dedup();
    Ok(Identity {
        uid,
        gid,
        groups: supplementary,
        name: entry.map(|e| e.name.clone()),
        home: entry.map(|e| e.home.clone()),
    })
}

fn read(path: &Path) -> Result<String, UsersError> {
    std::fs::read_to_string(path).map_err(|e| UsersError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Resolve against `<root>/etc/passwd` and `<root>/etc/group`. A missing file is an
/// error only when a name has to be looked up in it.
pub fn resolve_in(root: &Path, user: &str, group: Option<&str>) -> Result<Identity, UsersError> {
    let numeric = |s: &str| s.parse::<u32>().is_ok();
    let passwd = match read(&root.join("etc/passwd")) {
        Ok(text) => parse_passwd(&text),
        Err(e) if !numeric(user) => return Err(e),
        Err(_) => Vec::new(),
    };
    let group_file = read(&root.join("etc/group"));
    let groups = match group_file {
        Ok(text) => parse_group(&text),
        Err(e) if group.is_some_and(|g| !numeric(g)) => return Err(e),
        Err(_) => Vec::new(),
    };
    resolve(user, group, &passwd, &groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
broken line
bad:x:notanumber:1::/:/bin/sh
app:x:1000:1000:App,,,:/home/app:/bin/bash
sshd:x:100:65534::/run/sshd:/usr/sbin/nologin
";
    const GROUP: &str = "\
root:x:0:
adm:x:4:app,syslog
crontab:x:107:
app:x:1000:
audio:x:29:app
nogroup:x:65534:
garbage
";

    fn ids(user: &str, group: Option<&str>) -> Result<Identity, UsersError> {
        resolve(user, group, &parse_passwd(PASSWD), &parse_group(GROUP))
    }

    #[test]
    fn parses_and_skips_junk() {
        let users = parse_passwd(PASSWD);
        assert_eq!(
            users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["root", "daemon", "app", "sshd"]
        );
        let groups = parse_group(GROUP);
        assert_eq!(groups.len(), 6);
        assert_eq!(groups[1].members, ["app", "syslog"]);
        assert!(groups[0].members.is_empty());
    }

    #[test]
    fn resolves_names_ids_and_supplementary_groups() {
        let app = ids("app", None).expect("app resolves");
        assert_eq!((app.uid, app.gid), (1000, 1000));
        assert_eq!(app.groups, [4, 29, 1000]);
        assert_eq!(app.home.as_deref(), Some("/home/app"));
        assert_eq!(
            ids("1000", None).expect("uid 1000").name.as_deref(),
            Some("app")
        );
        let sshd = ids("sshd", Some("crontab")).expect("sshd with a group");
        assert_eq!((sshd.uid, sshd.gid, sshd.groups), (100, 107, vec![107]));
        let unknown_uid = ids("4242", Some("55")).expect("numeric ids need no entry");
        assert_eq!(
            (unknown_uid.uid, unknown_uid.gid, unknown_uid.groups),
            (4242, 55, vec![55])
        );
        assert_eq!(ids("4242", None).expect("numeric uid").gid, 0);
        assert_eq!(ids("root", None).expect("root").groups, [0]);
    }

    #[test]
    fn unknown_names_are_errors_with_a_fix() {
        assert_eq!(
            ids("nobody", None),
            Err(UsersError::UnknownUser("nobody".into()))
        );
        assert_eq!(
            ids("app", Some("wheel")),
            Err(UsersError::UnknownGroup("wheel".into()))
        );
        let line = UsersError::UnknownUser("nobody".into()).to_string();
        assert!(
            line.contains("/etc/passwd") && line.contains("numeric uid"),
            "{line}"
        );
    }

    #[test]
    fn resolve_in_a_root_directory() {
        let root = std::env::temp_dir().join(format!("rich-init-users-{}", std::process::id()));
        std::fs::create_dir_all(root.join("etc")).expect("create etc");
        std::fs::write(root.join("etc/passwd"), PASSWD).expect("write passwd");
        assert_eq!(
            resolve_in(&root, "app", None).map(|i| i.gid),
            Ok(1000),
            "no group file: primary only"
        );
        assert!(matches!(
            resolve_in(&root, "app", Some("adm")),
            Err(UsersError::Read { .. })
        ));
        std::fs::write(root.join("etc/group"), GROUP).expect("write group");
        assert_eq!(resolve_in(&root, "app", Some("adm")).map(|i| i.gid), Ok(4));
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            resolve_in(&root, "7", Some("8")).map(|i| (i.uid, i.gid)),
            Ok((7, 8))
        );
    }
}
