//! The upgrade-helper tests' rig: a private containerd with the test images imported, a
//! network namespace the containers join, a volume dir per container, the helper binary
//! run against that daemon, and the checks every test repeats (where the container is,
//! what runs, what is left over).
//!
//! "Leaked", precisely: any lease at all (the helper makes one per upgrade and must drop
//! it); an active snapshot that no container's SnapshotKey names; a committed snapshot
//! that is not in the layer chain of an imported image. containerd's garbage collector
//! removes unreferenced snapshots asynchronously after a lease goes, so the snapshot
//! check waits (bounded) for the collector before it fails.

use crate::containerd::{rows, Containerd, SNAPSHOTTER};
use crate::ctr_run::{CtrRun, Task};
use crate::harness::{wait_for, Outcome, Run, TempDir, HANDSHAKE_LIMIT};
use crate::leaks;
use crate::netns::{netns_inode, NetNs, INSIDE_IF};
use crate::upgrade_image::{self, Image, ImageSpec};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The container label that holds an upgrade's journal.
pub const JOURNAL_LABEL: &str = "io.rich-init.upgrade";
/// The container extension that holds the old spec while a journal exists.
pub const OLD_SPEC_EXTENSION: &str = "io.rich-init.upgrade.old-spec";

/// The upgrade-helper that cargo built for this test run (with fault injection).
pub fn helper_bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_upgrade-helper") {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "upgrade-helper was not built for this test run: run the tests with \
             `--features fault-injection`, as `make test` does"
        ),
    }
}

/// A daemon, a netns, a work dir and the images; dropped in that order.
pub struct Rig {
    pub ctd: Containerd,
    pub ns: NetNs,
    pub work: TempDir,
    pub images: Vec<Image>,
}

impl Rig {
    /// Build `specs` and `ctr images import` each of them (unpacked).
    pub fn new(specs: &[ImageSpec]) -> Rig {
        Rig::with_unpacked(specs, &[])
    }

    /// As [`new`](Self::new), importing the images named in `packed` with --no-unpack.
    pub fn with_unpacked(specs: &[ImageSpec], packed: &[&str]) -> Rig {
        let work = TempDir::new("upgrade");
        let images: Vec<Image> = specs.iter().map(upgrade_image::image).collect();
        Rig::with_images(work, images, packed)
    }

    /// A rig for images already built in `work`.
    pub fn with_images(work: TempDir, images: Vec<Image>, packed: &[&str]) -> Rig {
        let ns = NetNs::new();
        let ctd = Containerd::start();
        for image in &images {
            let extra: &[&str] = if packed.contains(&image.spec.name.as_str()) {
                &["--no-unpack"]
            } else {
                &[]
            };
            ctd.import(&image.tar, extra);
        }
        Rig {
            ctd,
            ns,
            work,
            images,
        }
    }

    /// The image named `name`.
    pub fn image(&self, name: &str) -> &Image {
        self.images
            .iter()
            .find(|i| i.spec.name == name)
            .unwrap_or_else(|| panic!("no test image {name}"))
    }

    /// The host dir bind-mounted at /data in container `id`.
    pub fn volume(&self, id: &str) -> PathBuf {
        self.work.join(format!("volume-{id}"))
    }

    /// Container `id` from `image` as a user would make it: in the netns, with a volume at
    /// /data, user env (USER_VAR=mine, MODE=custom over any image value) and user labels
    /// (user.label=mine, org.example.mode=custom).
    pub fn container(&self, image: &str, id: &str) -> CtrRun {
        let volume = self.volume(id);
        std::fs::create_dir_all(&volume)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", volume.display()));
        CtrRun::new(image, id)
            .netns(&self.ns.path())
            .bind(&volume, "/data")
            .env("USER_VAR=mine")
            .env("MODE=custom")
            .label("user.label=mine")
            .label("org.example.mode=custom")
    }

    /// `ctr run -d` it and wait until its task runs.
    pub fn start(&self, spec: &CtrRun) -> Task {
        self.ctd.run_detached(spec);
        self.ctd.wait_task_status(&spec.id, "RUNNING")
    }

    /// Wait until the task log of `id` has `n` lines that contain `needle`.
    pub fn wait_log(&self, id: &str, needle: &str, n: usize) {
        wait_for(
            &format!("{n} line(s) with {needle:?} in {id}'s log"),
            || (self.ctd.task_log(id).matches(needle).count() >= n).then_some(()),
        );
    }

    /// `upgrade-helper --address SOCK --namespace NS` with ARGS still to add.
    pub fn helper(&self) -> Run {
        let mut run = Run::new(helper_bin());
        for var in [
            "CONTAINERD_ADDRESS",
            "CONTAINERD_NAMESPACE",
            "UPGRADE_HELPER_FAULT",
        ] {
            run.command_mut().env_remove(var);
        }
        run.arg("--address")
            .arg(self.ctd.address())
            .arg("--namespace")
            .arg(self.ctd.namespace())
    }

    fn upgrade_run(&self, id: &str, image: &str, extra: &[&str]) -> Run {
        let mut run = self.helper().args(["upgrade", id, "--image", image]);
        if !extra.iter().any(|a| a.starts_with("--health-window")) {
            run = run.arg("--health-window=500ms");
        }
        if !extra.iter().any(|a| a.starts_with("--stop-timeout")) {
            run = run.arg("--stop-timeout=5s");
        }
        run.args(extra)
    }

    /// `upgrade-helper upgrade ID --image IMAGE` with a 500ms health window unless `extra`
    /// gives one; `extra` may end with `-- CMD...`.
    pub fn upgrade(&self, id: &str, image: &str, extra: &[&str]) -> Outcome {
        self.upgrade_run(id, image, extra).output()
    }

    /// The same with UPGRADE_HELPER_FAULT=`fault`.
    pub fn upgrade_with_fault(&self, id: &str, image: &str, fault: &str) -> Outcome {
        self.upgrade_run(id, image, &[])
            .env("UPGRADE_HELPER_FAULT", fault)
            .output()
    }

    /// `upgrade-helper recover [NAMES...]`.
    pub fn recover(&self, names: &[&str]) -> Outcome {
        self.helper().arg("recover").args(names).output()
    }

    /// `upgrade-helper status NAME`, which must exit 0.
    pub fn status(&self, id: &str) -> Outcome {
        let out = self.helper().args(["status", id]).output();
        assert_eq!(out.code(), Some(0), "status {id}\n{out}");
        out
    }

    /// `upgrade-helper status NAME --json`, parsed.
    pub fn status_json(&self, id: &str) -> Value {
        let out = self.helper().args(["status", id, "--json"]).output();
        assert_eq!(out.code(), Some(0), "status {id} --json\n{out}");
        serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("status --json is not one JSON document: {e}\n{out}"))
    }

    /// `ctr task exec` ARGV in the task of `id`, which must exit 0; its stdout. The output
    /// of a process that exits right after writing it can be lost on its way through
    /// containerd's FIFOs (seen under load), so a check that needs to be exact reads the
    /// task's files through /proc/PID/root instead ([`read_inside`](Self::read_inside)).
    pub fn exec(&self, id: &str, argv: &[&str]) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let exec_id = format!("check-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let out = self.ctd.ctr(
            ["tasks", "exec", "--exec-id", &exec_id, id]
                .iter()
                .chain(argv),
        );
        assert_eq!(out.code(), Some(0), "exec in {id}\n{out}");
        out.stdout
    }

    /// The file at `path` as the task of `id` sees it (its root and mounts, through
    /// /proc/PID/root); None if it does not exist.
    pub fn read_inside(&self, id: &str, path: &str) -> Option<Vec<u8>> {
        let task = self
            .ctd
            .task(id)
            .unwrap_or_else(|| panic!("{id} has no task"));
        let at = format!("/proc/{}/root/{}", task.pid, path.trim_start_matches('/'));
        match std::fs::read(&at) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("cannot read {at} ({id}'s {path}): {e}"),
        }
    }

    /// [`read_inside`](Self::read_inside) as text.
    pub fn text_inside(&self, id: &str, path: &str) -> Option<String> {
        self.read_inside(id, path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// `ctr containers info ID`.
    pub fn info(&self, id: &str) -> Value {
        self.ctd.container_info(id)
    }

    /// No journal label, no saved old spec, and `status` says no upgrade is pending.
    pub fn assert_no_journal(&self, id: &str) {
        let info = self.info(id);
        assert!(
            info["Labels"].get(JOURNAL_LABEL).is_none(),
            "{id} still has the journal label\n{info:#}"
        );
        // An entry without data is not a saved spec; that it should not be there at all
        // is the job of one test (upgrade.rs, the_saved_old_spec_goes_with_the_journal).
        let saved = &info["Extensions"][OLD_SPEC_EXTENSION];
        assert!(
            saved.is_null() || saved == &serde_json::json!({}),
            "{id} still has the saved old spec\n{info:#}"
        );
        let status = self.status(id);
        assert!(
            status.stdout.contains("pending upgrade: none"),
            "status should say no upgrade is pending\n{status}"
        );
        assert_eq!(self.status_json(id)["journal"], Value::Null);
    }

    /// The task of `id` runs from `image`'s rootfs, in the test's netns, which has its
    /// address; returns the task.
    pub fn assert_runs(&self, id: &str, image: &Image) -> Task {
        let task = self
            .ctd
            .task(id)
            .unwrap_or_else(|| panic!("{id} has no task"));
        assert_eq!(task.status, "RUNNING", "{id}'s task: {task:?}");
        assert_eq!(
            netns_inode(task.pid),
            self.ns.inode(),
            "{id}'s task (pid {}) is not in netns {}",
            task.pid,
            self.ns.name()
        );
        let version = self.text_inside(id, &image.spec.version_file);
        assert_eq!(
            version.as_deref().map(str::trim),
            Some(image.spec.version.as_str()),
            "{id}'s rootfs"
        );
        let addr = self.ns.ip(["-4", "addr", "show", "dev", INSIDE_IF]);
        let want = format!("inet {}/30", self.ns.inside_ip());
        assert!(
            addr.stdout.contains(&want),
            "{id}'s netns should have {want}:\n{addr}"
        );
        // Unchanged, as the task saw it a moment ago.
        assert_eq!(
            self.ctd.task(id).map(|t| t.pid),
            Some(task.pid),
            "{id}'s task"
        );
        task
    }

    /// `id` has no running task (none at all, or a stopped one).
    pub fn assert_not_running(&self, id: &str) {
        if let Some(task) = self.ctd.task(id) {
            assert_eq!(task.status, "STOPPED", "{id} should not run: {task:?}");
        }
    }

    /// What is leaked now (see the module doc), one line each.
    pub fn leaked(&self) -> Vec<String> {
        let mut found: Vec<String> = self
            .ctd
            .leases()
            .into_iter()
            .map(|l| format!("lease {l}"))
            .collect();
        let keys: Vec<String> = self
            .ctd
            .containers()
            .iter()
            .map(|c| {
                self.info(c)["SnapshotKey"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let out = self
            .ctd
            .ctr_ok(["snapshots", "--snapshotter", SNAPSHOTTER, "ls"]);
        for row in rows(&out.stdout) {
            let (key, kind) = (row[0], row[row.len() - 1]);
            let ok = match kind {
                "Active" => keys.iter().any(|k| k == key),
                "Committed" => self.images.iter().any(|i| i.chain.iter().any(|c| c == key)),
                _ => false,
            };
            if !ok {
                found.push(format!("{kind} snapshot {key}"));
            }
        }
        found
    }

    /// Nothing is leaked, once the garbage collector has had its (bounded) chance.
    pub fn assert_nothing_leaked(&self) {
        let mut last = Vec::new();
        let clean = leaks::settle(HANDSHAKE_LIMIT, || {
            last = self.leaked();
            last.is_empty()
        });
        let snapshots = self
            .ctd
            .ctr_ok(["snapshots", "--snapshotter", SNAPSHOTTER, "ls"]);
        assert!(
            clean,
            "leaked after {HANDSHAKE_LIMIT:?}: {last:#?}\n{snapshots}\n--- containerd log ---\n{}",
            self.ctd.log()
        );
    }

    /// Delete the task and container `id` (with its snapshot).
    pub fn remove(&self, id: &str) {
        if self.ctd.task(id).is_some() {
            self.ctd.ctr_ok(["tasks", "delete", "--force", id]);
        }
        self.ctd.ctr_ok(["containers", "delete", id]);
    }
}

/// The process args, env and cwd of a container record.
pub fn process(info: &Value) -> (Vec<String>, Vec<String>, String) {
    let p = &info["Spec"]["process"];
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    (
        list(&p["args"]),
        list(&p["env"]),
        p["cwd"].as_str().unwrap_or_default().to_string(),
    )
}

/// The value of `key` in a K=V list.
pub fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .find_map(|e| e.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}
