//! `rich-init hook`'s input: the OCI state JSON on stdin and the bundle's config.json.
//!
//! Input: the state JSON, then optionally a NUL byte and the config.json text.
//! Invariants: no panic; every error is one non-empty line; a parsed state has an id and
//! an absolute bundle; a parsed config, written back as JSON with only the fields the hook
//! reads, parses to the same config; the annotations the hook acts on (hook timeout,
//! initscript stage) give one-line messages when they are bad.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rich_init::config::duration;
use rich_init::oci::state::{self, ConfigError, Stage};
use rich_init::sys::caps;
use serde_json::{json, Map, Value};
use std::path::Path;

fn one_line(what: &str, text: &str) {
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "{what} is not one line: {text:?}"
    );
}

fn cap_names(bits: u64) -> Value {
    let names = caps::NAMES
        .iter()
        .enumerate()
        .filter(|(n, _)| bits & (1u64 << n) != 0)
        .map(|(_, name)| Value::String((*name).to_owned()));
    Value::Array(names.collect())
}

/// The config as the smallest config.json that says it.
fn render(c: &state::BundleConfig) -> Vec<u8> {
    let (uid, gid, groups) = &c.user;
    let annotations: Map<String, Value> = c
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let spec = json!({
        "root": { "path": c.rootfs.to_str().expect("parsed from JSON text") },
        "annotations": annotations,
        "process": {
            "env": c.env,
            "user": { "uid": uid, "gid": gid, "additionalGids": groups },
            "capabilities": {
                "bounding": cap_names(c.caps.bounding),
                "effective": cap_names(c.caps.effective),
                "permitted": cap_names(c.caps.permitted),
                "inheritable": cap_names(c.caps.inheritable),
                "ambient": cap_names(c.caps.ambient),
            },
            "noNewPrivileges": c.no_new_privs,
        },
    });
    spec.to_string().into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let (state_text, config_text) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let hook_state = match state::parse_state(state_text) {
        Ok(s) => {
            assert!(!s.id.is_empty() && s.bundle.is_absolute(), "{s:?}");
            match s.live_pid() {
                Ok(pid) => assert!(pid > 0 && s.pid == Some(pid)),
                Err(e) => one_line("a pid error", &e.to_string()),
            }
            // What the hook says when the bundle is unusable names the bundle.
            let gone = ConfigError::NoBundle(s.bundle.clone());
            one_line("a bundle error", &gone.to_string());
            Some(s)
        }
        Err(e) => {
            one_line("a state error", &e.to_string());
            None
        }
    };
    let Some(config_text) = config_text else {
        return;
    };
    let (bundle, path) = (Path::new("/b"), Path::new("/b/config.json"));
    let config = match state::parse_config(config_text, bundle, path) {
        Ok(c) => c,
        Err(e) => {
            let line = e.to_string();
            one_line("a config.json error", &line);
            assert!(line.contains("/b/config.json"), "{line}");
            return;
        }
    };
    assert!(config.rootfs.is_absolute(), "{:?}", config.rootfs);
    let known = (1u64 << caps::NAMES.len()) - 1;
    for set in [
        config.caps.bounding,
        config.caps.effective,
        config.caps.permitted,
        config.caps.inheritable,
        config.caps.ambient,
    ] {
        assert_eq!(set & !known, 0, "an unknown capability bit");
    }
    let again = state::parse_config(&render(&config), bundle, path);
    match again {
        Ok(again) => assert_eq!(again, config),
        Err(e) => panic!("{config:?} written back fails: {e}"),
    }
    let Some(hook_state) = hook_state else {
        return;
    };
    if let Some(text) = config.annotation(&hook_state, state::ANNOTATION_TIMEOUT) {
        if let Err(e) = duration::parse_nonzero(text) {
            let line = format!("annotation {}={text:?}: {e}", state::ANNOTATION_TIMEOUT);
            one_line("a timeout annotation error", &line);
        }
    }
    if let Some(word) = config.annotation(&hook_state, state::ANNOTATION_INITSCRIPT_STAGE) {
        if let Some(stage) = Stage::parse(word) {
            assert_eq!(stage.name(), word);
        }
    }
});
