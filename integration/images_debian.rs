//! images/rich-debian: the debootstrap-based image, built by its recipe.
//! - Two builds from the same download, the second with a base made afresh (its own cache
//!   dir holding only the download tarball), give the same bytes. The layers hold no SSH
//!   host key, log, package list or file of the build host; layer 2 is rich-init and the
//!   boot script; tag 2 differs from tag 1 only in /etc/rich-debian-release.
//! - Under a private containerd, in a netns: rich-init --systemd is pid 1 over the packages'
//!   own units (rsyslogd, cron, sshd, nginx, each under its keeper) and CMD; `logger` reaches /var/log/syslog; an @reboot cron job runs;
//!   root logs in over ssh with the key from SSH_AUTHORIZED_KEYS, against the host keys the
//!   boot script made on the volume at /etc/ssh/host-keys; a second container (tag 2, key
//!   from a mounted /etc/rich-init/authorized_keys) keeps those keys; SIGTERM stops each
//!   with CMD's 143.
//!
//! The recipe needs root, debootstrap and, the first time, Debian's archive: what it
//! downloads (about 50 MB) stays in build/images/cache, as with `make images`.

use crate::containerd::Containerd;
use crate::ctr_run::CtrRun;
use crate::harness::require;
use crate::harness::{children, read_or_empty, static_bin, wait_for, Outcome, Run, TempDir};
use crate::leaks::cmdline;
use crate::netns::{netns_inode, NetNs};
use crate::upgrade_rig::helper_bin;
use nix::sys::signal::Signal;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const REF: &str = "rich-init.test/rich-debian";
/// rich-debian's pid 1: its ENTRYPOINT and CMD.
pub(crate) const BOOT_ARGV: &str = "/sbin/rich-init --systemd -- /bin/sleep infinity";

/// Every live descendant of `pid`.
pub(crate) fn descendants(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        for c in children(p) {
            out.push(c);
            queue.push(c);
        }
    }
    out
}
/// A cold build (download, debootstrap, two layers packed) takes about 70 s on 2 cores.
const BUILD_LIMIT: Duration = Duration::from_secs(600);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub(crate) fn ok(run: Run) -> Outcome {
    let out = run.output();
    assert_eq!(out.code(), Some(0), "{out}");
    out
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The recipe into `out`; `cache` replaces build/images/cache.
pub(crate) fn build(out: &Path, cache: Option<&Path>) {
    require("debootstrap");
    require("python3");
    let mut run = Run::new(repo("images/rich-debian/build"))
        .env("RICH_INIT_BIN", static_bin())
        .timeout(BUILD_LIMIT)
        .arg(out);
    run.command_mut().env_remove("SOURCE_DATE_EPOCH");
    if let Some(dir) = cache {
        run = run.env("RICH_DEBIAN_CACHE", dir);
    }
    ok(run);
}

/// The download tarball of the default cache (after a build).
fn download_tarball() -> PathBuf {
    let dir = repo("build/images/cache");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("/debootstrap-bookworm-"))
        .unwrap_or_else(|| panic!("no debootstrap-bookworm-*.tar in {}", dir.display()))
}

/// An OCI layout tarball, unpacked: its one manifest, its config and layer blob paths.
struct Image {
    dir: TempDir,
    manifest: Value,
    config: Value,
}

impl Image {
    fn open(tar: &Path) -> Image {
        let dir = TempDir::new("debian-layout");
        ok(Run::new(require("tar"))
            .arg("-xf")
            .arg(tar)
            .arg("-C")
            .arg(dir.path()));
        let json = |p: PathBuf| -> Value {
            serde_json::from_slice(&read(&p))
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
        };
        let index = json(dir.join("index.json"));
        let blob = |d: &Value| {
            dir.join("blobs/sha256")
                .join(&d["digest"].as_str().unwrap()[7..])
        };
        let manifest = json(blob(&index["manifests"][0]));
        let config = json(blob(&manifest["config"]));
        Image {
            dir,
            manifest,
            config,
        }
    }

    fn layer(&self, i: usize) -> PathBuf {
        let digest = self.manifest["layers"][i]["digest"].as_str().unwrap();
        self.dir.join("blobs/sha256").join(&digest[7..])
    }
}

/// One `tar -tv` line of a layer: (name, mode string, size).
fn listing(layer: &Path) -> Vec<(String, String, u64)> {
    let run = Run::new(require("tar")).args(["--numeric-owner", "-tvzf"]);
    let out = ok(run.arg(layer));
    out.stdout
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let size = f[2].parse().unwrap_or_else(|_| panic!("size in {line:?}"));
            (
                f[5].trim_end_matches('/').to_string(),
                f[0].to_string(),
                size,
            )
        })
        .collect()
}

fn file_in_layer(layer: &Path, name: &str) -> String {
    let run = Run::new(require("tar")).arg("-xzOf").arg(layer);
    ok(run.arg(name)).stdout
}

/// The hex SHA-256 of what the shell pipeline `pipe` prints.
fn sha256(pipe: &str) -> String {
    let out = ok(Run::new(require("sh")).args(["-c", &format!("{pipe} | sha256sum")]));
    out.stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn rich_debian_twice_gives_the_same_bytes_and_no_secrets() {
    let (a, b, cache_b) = (
        TempDir::new("debian-a"),
        TempDir::new("debian-b"),
        TempDir::new("debian-cache"),
    );
    build(a.path(), None);
    // The same download, but layer 1 made again by debootstrap.
    let download = download_tarball();
    let copy = cache_b.join(download.file_name().unwrap());
    std::fs::copy(&download, &copy).unwrap_or_else(|e| panic!("cannot copy the download: {e}"));
    build(b.path(), Some(cache_b.path()));
    for tag in ["1", "2"] {
        let name = format!("rich-debian-{tag}.tar");
        assert!(
            read(&a.join(&name)) == read(&b.join(&name)),
            "{name} differs between two builds from the same download"
        );
    }

    let one = Image::open(&a.join("rich-debian-1.tar"));
    let two = Image::open(&a.join("rich-debian-2.tar"));
    let c = &one.config["config"];
    // The packages' own units, no presets (issue 15).
    assert_eq!(
        c["Entrypoint"],
        json!(["/sbin/rich-init", "--systemd", "--"])
    );
    assert_eq!(c["Cmd"], json!(["/bin/sleep", "infinity"]));
    assert_eq!(one.config["config"], two.config["config"]);
    let layers = |i: &Image| i.manifest["layers"].as_array().unwrap().clone();
    let (l1, l2) = (layers(&one), layers(&two));
    assert_eq!((l1.len(), l2.len()), (3, 3));
    assert_eq!(l1[..2], l2[..2], "tags 1 and 2 share Debian and rich-init");
    assert_ne!(l1[2], l2[2]);

    let base = listing(&one.layer(0));
    let has = |name: &str| base.iter().any(|(n, _, _)| n == name);
    for name in [
        "usr/sbin/rsyslogd",
        "usr/sbin/cron",
        "usr/sbin/sshd",
        "usr/sbin/logrotate",
    ] {
        assert!(has(name), "layer 1 has /{name}");
    }
    for (name, mode, size) in &base {
        let secret = name.starts_with("etc/ssh/ssh_host_")
            || ["etc/machine-id", "etc/hostname", "etc/resolv.conf"].contains(&name.as_str());
        assert!(!secret, "layer 1 must not have /{name}");
        let cached = name.starts_with("var/lib/apt/lists/") && name != "var/lib/apt/lists/partial"
            || name.starts_with("var/cache/apt/archives/") && name.ends_with(".deb");
        assert!(!cached, "layer 1 must not have /{name}");
        if name.starts_with("var/log/") && mode.starts_with('-') {
            assert_eq!(*size, 0, "/{name} is an empty log");
        }
        for dir in ["dev/", "proc/", "sys/", "run/", "tmp/"] {
            assert!(
                !name.starts_with(dir),
                "/{dir} is empty in the image: /{name}"
            );
        }
    }

    let init = listing(&one.layer(1));
    let names: Vec<&str> = init.iter().map(|(n, _, _)| n.as_str()).collect();
    for name in [
        "usr/sbin/rich-init",
        "usr/sbin/init",
        "usr/bin/systemctl",
        "usr/bin/journalctl",
        "etc/rich-init/init.d/10-prepare",
        "usr/local/lib/rich-init/sshd-prepare.sh",
    ] {
        assert!(names.contains(&name), "layer 2 has /{name}: {names:?}");
    }
    assert_eq!(
        sha256(&format!(
            "tar -xzOf '{}' usr/sbin/rich-init",
            one.layer(1).display()
        )),
        sha256(&format!("cat '{}'", static_bin().display())),
        "/usr/sbin/rich-init is the binary under test"
    );
    for (image, tag) in [(&one, "1\n"), (&two, "2\n")] {
        let top = listing(&image.layer(2));
        let names: Vec<&str> = top.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["etc", "etc/rich-debian-release"]);
        let release = file_in_layer(&image.layer(2), "etc/rich-debian-release");
        assert_eq!(release, tag);
    }
}

/// The containers' common parts: the daemon with both tags, a netns, the client's key.
pub(crate) struct Vm {
    pub(crate) ctd: Containerd,
    pub(crate) ns: NetNs,
    pub(crate) dir: TempDir,
}

impl Vm {
    pub(crate) fn ssh(&self, command: &str) -> Outcome {
        self.ssh_run(command).output()
    }

    pub(crate) fn ssh_run(&self, command: &str) -> Run {
        Run::new(require("ssh"))
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
            ])
            .args(["-o", "StrictHostKeyChecking=yes", "-o"])
            .arg(format!(
                "UserKnownHostsFile={}",
                self.dir.join("known_hosts").display()
            ))
            .arg("-i")
            .arg(self.dir.join("key"))
            .arg(format!("root@{}", self.ns.inside_ip()))
            .arg(command)
    }

    /// Wait until the task of `id` is pid 1 with the services and CMD as its children.
    pub(crate) fn wait_booted(&self, id: &str) -> i32 {
        let task = self.ctd.wait_task_status(id, "RUNNING");
        // sshd logs through syslog, as on a VM: /var/log/auth.log.
        let auth = PathBuf::from(format!("/proc/{}/root/var/log/auth.log", task.pid));
        wait_for(
            &format!("sshd to listen in {id} (/var/log/auth.log)"),
            || {
                read_or_empty(&auth)
                    .contains("Server listening on 0.0.0.0 port 22")
                    .then_some(())
            },
        );
        // The packages' own units (each under its keeper) and CMD.
        let want = [
            "/usr/sbin/rsyslogd -n -iNONE",
            "/usr/sbin/cron -f",
            "sshd: ",
            "nginx: master process",
            "/bin/sleep infinity",
        ];
        let start = std::time::Instant::now();
        loop {
            let all: Vec<String> = descendants(task.pid)
                .iter()
                .map(|p| cmdline(*p).join(" "))
                .collect();
            if want.iter().all(|w| all.iter().any(|k| k.starts_with(w))) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "gave up waiting for {want:?} below rich-init in {id}: {all:#?}\n--- task log ---\n{}",
                self.ctd.task_log(id)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let argv = cmdline(task.pid).join(" ");
        assert_eq!(argv, BOOT_ARGV);
        task.pid
    }

    /// Wait until `text` is in the task's /var/log/syslog.
    pub(crate) fn wait_syslog(&self, pid: i32, text: &str) {
        let path = PathBuf::from(format!("/proc/{pid}/root/var/log/syslog"));
        wait_for(&format!("{text:?} in /var/log/syslog"), || {
            read_or_empty(&path).contains(text).then_some(())
        });
    }

    /// Wait until `text` is in the task's /var/log/syslog, for at most `limit` (for what
    /// fires on a clock, like a cron minute, rather than on a handshake).
    pub(crate) fn wait_syslog_within(&self, pid: i32, text: &str, limit: Duration) {
        let path = PathBuf::from(format!("/proc/{pid}/root/var/log/syslog"));
        let start = std::time::Instant::now();
        while !read_or_empty(&path).contains(text) {
            assert!(
                start.elapsed() < limit,
                "gave up after {limit:?} waiting for {text:?} in /var/log/syslog:\n{}",
                read_or_empty(&path)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, and the task's exit code must be CMD's 143.
    pub(crate) fn stop(&self, id: &str) {
        self.ctd
            .ctr_ok(["tasks", "kill", "--signal", "SIGTERM", id]);
        self.ctd.wait_task_status(id, "STOPPED");
        let out = self.ctd.ctr_ok(["tasks", "delete", id]);
        assert!(
            out.stderr.contains("exit code 143"),
            "{id} should exit with 143 (sleep's SIGTERM)\n{out}\n--- task log ---\n{}",
            self.ctd.task_log(id)
        );
        self.ctd.ctr_ok(["containers", "delete", id]);
    }
}

/// The pid namespace of `pid` (/proc/PID/ns/pid), as the link's text.
pub(crate) fn pid_ns(pid: i32) -> String {
    let path = format!("/proc/{pid}/ns/pid");
    std::fs::read_link(&path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// Every process on the host whose pid namespace is `ns` (exited ones skipped).
pub(crate) fn processes_in_pid_ns(ns: &str) -> Vec<(i32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                .map(|l| l.to_string_lossy() == ns)
                .unwrap_or(false)
        })
        .map(|pid| (pid, cmdline(pid).join(" ")))
        .collect()
}

/// A cron.d file: an @reboot job and an every-minute job, each logging the container's env.
const CRON_JOBS: &str = "\
@reboot root logger -t cron-it \"fired-at-boot mode=$APP_MODE greeting=$APP_GREETING\"\n\
* * * * * root logger -t cron-it \"fired-on-the-minute mode=$APP_MODE greeting=$APP_GREETING\"\n";
/// What the jobs and an ssh session print of the container's env (`ctr run --env`).
const ENV_SEEN: &str = "mode=legacy-vm greeting=hello world";

/// The whole journey of a legacy VM on rich-debian:1, in a netns with a volume for the
/// host keys and one for data:
/// - boot: rich-init is pid 1 over rsyslogd, cron, sshd; an @reboot job and `logger` reach
///   /var/log/syslog; the container's env is in the cron job and in an ssh session;
/// - an ssh session is opened and its client stopped (SIGSTOP); `upgrade-helper upgrade` to
///   tag 2; the stopped session ends when resumed (its sshd is gone); ssh again: same IP
///   and netns, same host key (StrictHostKeyChecking against the first one), the data on
///   the volume intact, env still there, the services back; an every-minute job fires;
/// - `ctr task kill -s TERM`: CMD's 143, and no process of the container's pid namespace
///   is left.
#[test]
fn rich_debian_runs_syslog_cron_and_sshd_under_containerd() {
    let out = TempDir::new("debian-run");
    build(out.path(), None);
    let ctd = Containerd::start();
    for tag in ["1", "2"] {
        ctd.import(&out.join(format!("rich-debian-{tag}.tar")), &[]);
    }
    let vm = Vm {
        ctd,
        ns: NetNs::new(),
        dir: TempDir::new("debian-vm"),
    };
    let keygen = require("ssh-keygen");
    ok(Run::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "it", "-f"])
        .arg(vm.dir.join("key")));
    let public = String::from_utf8_lossy(&read(&vm.dir.join("key.pub")))
        .trim()
        .to_string();
    let host_keys = vm.dir.join("host-keys");
    std::fs::create_dir(&host_keys).expect("create the host key volume");
    let data = vm.dir.join("data");
    std::fs::create_dir(&data).expect("create the data volume");
    let cron = vm.dir.write("cron-jobs", CRON_JOBS);

    let first = CtrRun::new(&format!("{REF}:1"), "rd1")
        .netns(&vm.ns.path())
        .bind(&host_keys, "/etc/ssh/host-keys")
        .bind(&data, "/data")
        .flag(&format!(
            "--mount=type=bind,src={},dst=/etc/cron.d/it-jobs,options=rbind:ro",
            cron.display()
        ))
        .env("APP_MODE=legacy-vm")
        .env("APP_GREETING=hello world")
        .env(&format!("SSH_AUTHORIZED_KEYS={public}"));
    vm.ctd.run_detached(&first);
    let pid = vm.wait_booted("rd1");
    vm.wait_syslog(pid, &format!("cron-it: fired-at-boot {ENV_SEEN}"));
    vm.ctd.ctr_ok([
        "tasks",
        "exec",
        "--exec-id",
        "logger",
        "rd1",
        "logger",
        "-t",
        "it",
        "hello-syslog",
    ]);
    vm.wait_syslog(pid, "it: hello-syslog");
    let log = vm.ctd.task_log("rd1");
    assert!(
        log.contains("[10-prepare] generated the ed25519 host key in /etc/ssh/host-keys"),
        "{log}"
    );

    // The host key on the volume is the one sshd shows.
    let host_pub = read(&host_keys.join("ssh_host_ed25519_key.pub"));
    let known = format!(
        "{} {}",
        vm.ns.inside_ip(),
        String::from_utf8_lossy(&host_pub).trim()
    );
    vm.dir.write("known_hosts", &format!("{known}\n"));
    let login = vm.ssh(
        "cat /etc/rich-debian-release; id -u; cat /proc/1/cmdline | tr '\\0' ' '; echo; \
         echo \"mode=$APP_MODE greeting=$APP_GREETING\"; echo payload-1 > /data/payload",
    );
    assert_eq!(
        login.code(),
        Some(0),
        "{login}\n--- task log ---\n{}",
        vm.ctd.task_log("rd1")
    );
    assert_eq!(
        login.stdout,
        format!("1\n0\n{BOOT_ARGV} \n{ENV_SEEN}\n"),
        "{login}"
    );
    assert_eq!(read(&data.join("payload")), b"payload-1\n");
    let auth = read_or_empty(Path::new(&format!("/proc/{pid}/root/var/log/auth.log")));
    let accepted = format!("Accepted publickey for root from {}", vm.ns.host_ip());
    assert!(
        auth.contains(&accepted),
        "{accepted:?} in auth.log:\n{auth}"
    );
    let log = vm.ctd.task_log("rd1");
    assert!(!log.contains("warning"), "nothing warns here:\n{log}");

    // An ssh session, open and stopped (its client suspended), across the upgrade.
    let session = vm
        .ssh_run("echo session-open; exec sleep 600")
        .timeout(Duration::from_secs(300))
        .spawn();
    wait_for("the ssh session to open", || {
        session
            .stdout_so_far()
            .contains("session-open")
            .then_some(())
    });
    session.signal(Signal::SIGSTOP);

    let upgrade = Run::new(helper_bin())
        .arg("--address")
        .arg(vm.ctd.address())
        .arg("--namespace")
        .arg(vm.ctd.namespace())
        .args(["upgrade", "rd1", "--image", &format!("{REF}:2")])
        .timeout(Duration::from_secs(120))
        .output();
    session.signal(Signal::SIGCONT);
    assert_eq!(
        upgrade.code(),
        Some(0),
        "{upgrade}\n--- task log ---\n{}",
        vm.ctd.task_log("rd1")
    );
    assert!(
        upgrade
            .stderr
            .contains(&format!("upgraded rd1 from {REF}:1 to {REF}:2")),
        "{upgrade}"
    );
    // The resumed client finds its connection closed: the old sshd went with the old task.
    let ended = session.wait();
    assert_eq!(ended.code(), Some(255), "ssh of the old session\n{ended}");

    let new_pid = vm.wait_booted("rd1");
    assert_ne!(new_pid, pid, "a new task");
    assert_eq!(
        netns_inode(new_pid),
        vm.ns.inode(),
        "the same netns, so the same IP"
    );
    let info = vm.ctd.container_info("rd1");
    assert_eq!(info["Image"], format!("{REF}:2"));
    let again = vm.ssh(
        "cat /etc/rich-debian-release; cat /data/payload; \
         echo \"mode=$APP_MODE greeting=$APP_GREETING\"",
    );
    assert_eq!(
        again.code(),
        Some(0),
        "ssh after the upgrade, same IP and known host key\n{again}\n--- task log ---\n{}",
        vm.ctd.task_log("rd1")
    );
    assert_eq!(again.stdout, format!("2\npayload-1\n{ENV_SEEN}\n"));
    assert_eq!(
        read(&host_keys.join("ssh_host_ed25519_key.pub")),
        host_pub,
        "the host key on the volume is unchanged"
    );
    vm.wait_syslog(new_pid, &format!("cron-it: fired-at-boot {ENV_SEEN}"));
    // cron runs minute jobs at the top of a minute: at most 60 s after it started.
    vm.wait_syslog_within(
        new_pid,
        &format!("cron-it: fired-on-the-minute {ENV_SEEN}"),
        Duration::from_secs(150),
    );

    // SIGTERM: CMD's 143, and nothing of the container left running.
    let ns = pid_ns(new_pid);
    vm.stop("rd1");
    let left = processes_in_pid_ns(&ns);
    assert!(
        left.is_empty(),
        "left in the container's pid namespace: {left:?}"
    );

    // A new container from tag 2, the same volume: the same host keys.
    let keys_file = vm.dir.write("authorized_keys", &format!("{public}\n"));
    let second = CtrRun::new(&format!("{REF}:2"), "rd2")
        .netns(&vm.ns.path())
        .bind(&host_keys, "/etc/ssh/host-keys")
        .flag(&format!(
            "--mount=type=bind,src={},dst=/etc/rich-init/authorized_keys,options=rbind:ro",
            keys_file.display()
        ));
    vm.ctd.run_detached(&second);
    vm.wait_booted("rd2");
    let log = vm.ctd.task_log("rd2");
    assert!(
        !log.contains("generated"),
        "the keys on the volume are kept\n{log}"
    );
    assert!(
        log.contains("1 key(s) from /etc/rich-init/authorized_keys"),
        "{log}"
    );
    let login = vm.ssh("cat /etc/rich-debian-release");
    assert_eq!(
        login.code(),
        Some(0),
        "{login}\n--- task log ---\n{}",
        vm.ctd.task_log("rd2")
    );
    assert_eq!(login.stdout, "2\n");
    vm.stop("rd2");
}
