//! `rich-init oci inject --bundle DIR [...]`: rewrite a bundle's config.json into rich
//! mode, in place and atomically (temp file, fsync, rename). The first injection keeps
//! the original bytes beside it (`.config.json.rich-init-orig`), so that `--remove`
//! gives them back byte for byte when nothing else changed since.

pub use super::error::InjectError;
use super::rewrite::{self, Mode, Request};
use super::{diff, readonly};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub(super) const USAGE: &str = "usage: rich-init oci inject --bundle DIR [--rich-mode rich-init|dumb-init|tini|systemd|sbin-init] [--initscript PATH] [--initscript-stage prestart|createRuntime] [--services LIST] [--binary PATH] [--remove] [--dry-run]";
/// The original config.json, kept by the first injection for `--remove`.
pub const ORIGINAL: &str = ".config.json.rich-init-orig";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectArgs {
    pub bundle: PathBuf,
    pub mode: Mode,
    pub initscript: Option<String>,
    pub initscript_stage: Option<String>,
    pub services: Option<String>,
    pub binary: Option<PathBuf>,
    pub remove: bool,
    pub dry_run: bool,
}

/// Parse the words after `inject`. Err: the usage error to print.
pub fn parse_args(words: &[String]) -> Result<InjectArgs, InjectError> {
    let mut bundle = None;
    let mut mode = Mode::RichInit;
    let (mut initscript, mut services, mut binary) = (None, None, None);
    let mut initscript_stage = None;
    let (mut remove, mut dry_run) = (false, false);
    let mut it = super::words::Words::new(words, USAGE);
    while let Some(w) = it.next_word() {
        let word = w.text;
        match word {
            "--bundle" => bundle = Some(PathBuf::from(it.value(&w)?)),
            "--rich-mode" => {
                let word = it.value(&w)?;
                mode = Mode::parse(&word).ok_or(InjectError::RichMode(word))?;
            }
            "--initscript" => {
                let path = it.value(&w)?;
                if !path.starts_with('/') {
                    return Err(InjectError::RelativeInitscript(path));
                }
                initscript = Some(path);
            }
            "--initscript-stage" => {
                let word = it.value(&w)?;
                if super::initscript::wanted_stage(Some(&word)).is_err() {
                    return Err(InjectError::InitscriptStage(word));
                }
                initscript_stage = Some(word);
            }
            "--services" => services = Some(it.value(&w)?),
            "--binary" => binary = Some(PathBuf::from(it.value(&w)?)),
            "--remove" => remove = true,
            "--dry-run" => dry_run = true,
            "-h" | "--help" => return Err(InjectError::Help),
            other => return Err(InjectError::UnexpectedArgument(other.to_string())),
        }
    }
    let bundle = bundle.ok_or(InjectError::NoBundle)?;
    if services.is_some() && mode != Mode::RichInit {
        return Err(InjectError::ServicesNeedRichInit(mode));
    }
    Ok(InjectArgs {
        bundle,
        mode,
        initscript,
        initscript_stage,
        services,
        binary,
        remove,
        dry_run,
    })
}

/// Whether the ELF file `bytes` asks for a dynamic loader (PT_INTERP).
pub fn is_dynamic_elf(bytes: &[u8]) -> Option<bool> {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    if bytes.get(..5) != Some(b"\x7fELF\x02") {
        return None;
    }
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let (size, count) = (usize::from(u16_at(0x36)?), usize::from(u16_at(0x38)?));
    let mut dynamic = false;
    for i in 0..count {
        let at = phoff.checked_add(i.checked_mul(size)?)?;
        let kind = bytes.get(at..at + 4)?;
        dynamic |= kind == 3u32.to_le_bytes();
    }
    Some(dynamic)
}

fn resolve_binary(args: &InjectArgs, privileged: bool) -> Result<String, InjectError> {
    let given = match &args.binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().map_err(InjectError::OwnExecutable)?,
    };
    let path = match std::fs::canonicalize(&given) {
        Ok(path) => path,
        Err(source) => {
            return Err(InjectError::BinaryPath {
                path: given,
                source,
            })
        }
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(source) => return Err(InjectError::BinaryRead { path, source }),
    };
    match is_dynamic_elf(&bytes) {
        None => return Err(InjectError::BinaryNotElf(path)),
        // The image's own init runs in the system modes when privileged: the binary is
        // not used then; unprivileged, rich-init runs inside and must be static.
        Some(true) if !matches!(args.mode, Mode::Systemd | Mode::SbinInit) || !privileged => {
            return Err(InjectError::BinaryDynamic(path))
        }
        Some(_) => {}
    }
    path.into_os_string()
        .into_string()
        .map_err(|p| InjectError::BinaryNotUtf8(PathBuf::from(p)))
}

/// The indentation config.json uses (None: it is on one line), so that we write it back
/// the way it came.
fn indent_of(text: &str) -> Option<String> {
    let second = text.trim_start().lines().nth(1)?;
    let indent: String = second
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    Some(if indent.is_empty() {
        "\t".into()
    } else {
        indent
    })
}

fn render(value: &Value, like: &str) -> Result<Vec<u8>, InjectError> {
    let mut out = Vec::new();
    let written = match indent_of(like) {
        None => serde_json::to_writer(&mut out, value),
        Some(indent) => {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            serde::Serialize::serialize(value, &mut ser)
        }
    };
    written.map_err(InjectError::Render)?;
    if like.ends_with('\n') {
        out.push(b'\n');
    }
    Ok(out)
}

/// Replace `path` with `bytes`: same directory, same mode, fsync'd, then renamed over.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), InjectError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let result = (|| {
        // create_new: never through a link or file someone planted under that name.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself reaches the disk with the directory.
        std::fs::File::open(dir)?.sync_all()
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        InjectError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// What the command did: what to print on stdout, and warnings (one line each) for stderr.
#[derive(Debug, Default)]
pub struct Done {
    pub stdout: String,
    pub warnings: Vec<String>,
}

/// Whether `path` (absolute, inside the container) exists in the bundle's rootfs.
fn in_rootfs(bundle: &Path, config: &Value, path: &str) -> bool {
    let Some(root) = config["root"]["path"].as_str() else {
        return false;
    };
    let file = bundle.join(root).join(path.trim_start_matches('/'));
    std::fs::symlink_metadata(file).is_ok()
}

/// The whole command.
pub fn execute(args: &InjectArgs) -> Result<Done, InjectError> {
    if !args.bundle.is_dir() {
        return Err(InjectError::NoBundleDir(args.bundle.clone()));
    }
    let path = args.bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| InjectError::ReadConfig {
        path: path.clone(),
        bundle: args.bundle.clone(),
        source,
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| InjectError::ConfigJson {
        path: path.clone(),
        source,
    })?;
    let bad = |source: rewrite::RewriteError| InjectError::Rewrite {
        path: path.clone(),
        source,
    };
    let injected = rewrite::record(&value).map_err(bad)?.is_some();
    let plain = rewrite::remove(&value).map_err(bad)?;
    let original_path = args.bundle.join(ORIGINAL);
    let mut warnings = Vec::new();
    let bytes = if args.remove {
        if !injected {
            return Ok(Done {
                stdout: format!(
                    "{} has no rich-init injection; nothing to remove\n",
                    path.display()
                ),
                warnings: Vec::new(),
            });
        }
        match std::fs::read(&original_path) {
            Ok(orig) if serde_json::from_slice::<Value>(&orig).ok().as_ref() == Some(&plain) => {
                orig
            }
            _ => render(&plain, &text)?,
        }
    } else {
        let privileged = plain["process"]["capabilities"]["bounding"]
            .as_array()
            .is_some_and(|b| b.iter().any(|c| c == "CAP_SYS_ADMIN"));
        let rich_inside = args.mode == Mode::RichInit
            || (!privileged && matches!(args.mode, Mode::Systemd | Mode::SbinInit));
        let readonly = if rich_inside {
            readonly::plan(&plain, args.services.as_deref(), &|p| {
                in_rootfs(&args.bundle, &plain, p)
            })
        } else {
            readonly::Plan::default()
        };
        warnings.clone_from(&readonly.warnings);
        let req = Request {
            mode: args.mode,
            binary: resolve_binary(args, privileged)?,
            initscript: args.initscript.clone(),
            initscript_stage: args.initscript_stage.clone(),
            services: args.services.clone(),
            readonly,
        };
        render(&rewrite::inject(&plain, &req).map_err(bad)?, &text)?
    };
    if args.dry_run {
        let new = String::from_utf8_lossy(&bytes);
        let (old, new) = hide_kept_env_values(&value, &bytes, &text, &new);
        return Ok(Done {
            stdout: diff::lines(&old, &new),
            warnings,
        });
    }
    if !args.remove && !injected {
        write_atomic(&original_path, text.as_bytes())?;
    }
    write_atomic(&path, &bytes)?;
    if args.remove {
        let _ = std::fs::remove_file(&original_path);
    }
    Ok(Done {
        stdout: String::new(),
        warnings,
    })
}

/// Environment values may be secrets: in the dry run's diff, a variable that the
/// injection leaves as it was shows as `NAME=…` in both texts (the injection's own
/// variables keep their values, which are what the diff is about).
fn hide_kept_env_values(
    old_value: &Value,
    new_bytes: &[u8],
    old_text: &str,
    new_text: &str,
) -> (String, String) {
    let env_of = |v: &Value| -> Vec<String> {
        v["process"]["env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let new_env = serde_json::from_slice::<Value>(new_bytes)
        .map(|v| env_of(&v))
        .unwrap_or_default();
    let (mut old, mut new) = (old_text.to_string(), new_text.to_string());
    for pair in env_of(old_value) {
        let Some((name, _)) = pair.split_once('=') else {
            continue;
        };
        if !new_env.contains(&pair) {
            continue;
        }
        let (Ok(quoted), Ok(hidden)) = (
            serde_json::to_string(&pair),
            serde_json::to_string(&format!("{name}=…")),
        ) else {
            continue;
        };
        old = old.replace(&quoted, &hidden);
        new = new.replace(&quoted, &hidden);
    }
    (old, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_dry_run_hides_the_values_it_keeps() {
        let old_text = r#"{"process": {"env": ["TOKEN=s3cr3t", "CHANGED=a"]}}"#;
        let new_text = "{\n  \"process\": {\n    \"env\": [\"TOKEN=s3cr3t\", \"CHANGED=b\", \"rich_mode=true\"]\n  }\n}";
        let old: Value = serde_json::from_str(old_text).expect("json");
        let (a, b) = hide_kept_env_values(&old, new_text.as_bytes(), old_text, new_text);
        assert!(!a.contains("s3cr3t") && !b.contains("s3cr3t"), "{a}\n{b}");
        assert!(
            a.contains("\"TOKEN=…\"") && b.contains("\"TOKEN=…\""),
            "{a}\n{b}"
        );
        assert!(
            b.contains("CHANGED=b") && b.contains("rich_mode=true"),
            "{b}"
        );
    }

    #[test]
    fn parses_flags() {
        let a = parse_args(&words("--bundle /b")).expect("ok");
        assert_eq!(
            (a.mode, a.remove, a.dry_run),
            (Mode::RichInit, false, false)
        );
        let a = parse_args(&words(
            "--bundle=/b --rich-mode tini --initscript /i.sh --binary /x --remove --dry-run",
        ))
        .expect("ok");
        assert_eq!(a.mode, Mode::Tini);
        assert_eq!(a.initscript.as_deref(), Some("/i.sh"));
        assert_eq!(a.binary, Some(PathBuf::from("/x")));
        assert!(a.remove && a.dry_run);
        let a = parse_args(&words(
            "--bundle /b --initscript /i --initscript-stage createRuntime",
        ))
        .expect("ok");
        assert_eq!(a.initscript_stage.as_deref(), Some("createRuntime"));
        for bad in [
            "",
            "--bundle",
            "--bundle /b --rich-mode upstart",
            "--bundle /b --initscript init.sh",
            "--bundle /b --rich-mode tini --services crond",
            "--bundle /b --initscript-stage createContainer",
            "--bundle /b --initscript-stage",
            "--bundle /b extra",
        ] {
            let err = parse_args(&words(bad)).expect_err(bad).to_string();
            assert!(!err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn indentation_is_kept() {
        assert_eq!(indent_of("{\n\t\"a\": 1\n}\n").as_deref(), Some("\t"));
        assert_eq!(indent_of("{\n  \"a\": 1\n}").as_deref(), Some("  "));
        assert_eq!(indent_of("{\"a\":1}"), None);
        let v: Value = serde_json::from_str("{\"a\":[1]}").expect("json");
        assert_eq!(
            render(&v, "{\n\t\"x\": 0\n}\n").expect("render"),
            b"{\n\t\"a\": [\n\t\t1\n\t]\n}\n"
        );
        assert_eq!(render(&v, "{}").expect("render"), b"{\"a\":[1]}");
    }

    #[test]
    fn tells_static_from_dynamic() {
        let me = std::fs::read("/proc/self/exe").expect("read myself");
        assert_eq!(is_dynamic_elf(&me), Some(true), "test binaries are dynamic");
        assert_eq!(is_dynamic_elf(b"#!/bin/sh\n"), None);
        assert_eq!(is_dynamic_elf(b"\x7fELF\x02"), None, "truncated");
    }
}
