//! The OCI hooks.d files that `make install` ships for podman and CRI-O: installed where
//! those engines read them, pointing at the installed binary, matching exactly the
//! containers annotated `io.rich-init.rich=true`; and, used the way an engine uses them
//! (the entry copied into config.json), they run the initscript under runc.

use crate::harness::{require, Run, TempDir};
use crate::oci_rig::{set_annotation, shared, write_script};
use crate::runc::{Bundle, Container, Runtime, Spec};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const HOOKSDIR: &str = "usr/share/containers/oci/hooks.d";

/// `make install` into a temp DESTDIR; returns it.
pub fn install() -> TempDir {
    let dest = TempDir::new("install");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Run::new(require("make"))
        .arg("-C")
        .arg(repo)
        .arg("--no-print-directory")
        .arg("install")
        .arg(format!("DESTDIR={}", dest.path().display()))
        .arg("PREFIX=/usr/local")
        .arg(format!("HOOKSDIR=/{HOOKSDIR}"))
        .output();
    assert_eq!(out.code(), Some(0), "make install failed\n{out}");
    dest
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not installed: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[test]
fn make_install_ships_hooks_d_files_for_each_stage() {
    let dest = install();
    // createRuntime: for io.rich-init.initscript-stage=createRuntime (issue 13, finding 7).
    for stage in ["prestart", "createRuntime", "poststop"] {
        let file = dest.join(HOOKSDIR).join(format!("rich-init-{stage}.json"));
        let hook = load(&file);
        // The hooks.d 1.0.0 schema (containers/common pkg/hooks/docs/oci-hooks.5.md).
        assert_eq!(hook["version"], "1.0.0", "{}", file.display());
        assert_eq!(
            hook["hook"],
            json!({"path": "/usr/local/bin/rich-init", "args": ["rich-init", "hook", stage]})
        );
        assert_eq!(hook["stages"], json!([stage]));
        assert_eq!(
            hook["when"],
            json!({"annotations": {"^io\\.rich-init\\.rich$": "^true$"}}),
            "only containers annotated io.rich-init.rich=true"
        );
        let installed = dest.join("usr/local/bin/rich-init");
        assert!(installed.is_file(), "the hook's path is installed");
    }
}

/// What podman does with a matching hooks.d file: append its `hook` to the stage's list.
fn add_hook(bundle: &Bundle, stage: &str, entry: &Value) {
    bundle.edit_config(|config| {
        if !config["hooks"].is_object() {
            config["hooks"] = json!({});
        }
        let list = config["hooks"][stage]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut list = list;
        list.push(entry.clone());
        config["hooks"][stage] = Value::Array(list);
    });
}

#[test]
fn the_shipped_hooks_run_the_initscript_and_the_poststop_scripts_under_runc() {
    let dest = install();
    let installed: PathBuf = dest.join("usr/local/bin/rich-init");
    let bundle = Bundle::new();
    let hooks_dir = TempDir::new("hooks-d");
    write_script(
        &hooks_dir.join("poststop/10-mark"),
        &format!(
            "#!/bin/sh\necho \"$RICH_INIT_STAGE $RICH_INIT_CONTAINER_ID\" > {}/poststop-ran\n",
            bundle.shared().display()
        ),
    );
    write_script(
        &bundle.rootfs().join("prepare.sh"),
        "#!/bin/sh\necho \"prepared $RICH_INIT_CONTAINER_ID\" > /shared/prepared\n",
    );
    bundle.write_config(&Spec::new(&[
        "/bin/sh",
        "-c",
        "cat /shared/prepared > /shared/cmd-saw",
    ]));
    set_annotation(&bundle, "io.rich-init.rich", "true");
    set_annotation(&bundle, "io.rich-init.initscript", "/prepare.sh");
    for stage in ["prestart", "poststop"] {
        let file = dest.join(HOOKSDIR).join(format!("rich-init-{stage}.json"));
        let mut entry = load(&file)["hook"].clone();
        // The DESTDIR copy stands in for /usr/local/bin/rich-init.
        entry["path"] = json!(installed.display().to_string());
        entry["env"] = json!([format!(
            "RICH_INIT_HOOKS_DIR={}",
            hooks_dir.path().display()
        )]);
        add_hook(&bundle, stage, &entry);
    }
    let container = Container::run_bundle(Runtime::Runc, &bundle);
    let id = container.id().to_string();
    let out = container.wait();
    assert_eq!(out.code(), Some(0), "runc run\n{out}");
    assert_eq!(shared(&bundle, "prepared"), format!("prepared {id}\n"));
    assert_eq!(shared(&bundle, "cmd-saw"), format!("prepared {id}\n"));
    assert_eq!(shared(&bundle, "poststop-ran"), format!("poststop {id}\n"));
}
