//! The image's file system seen from outside: paths inside the image (absolute, as its own
//! symlinks spell them) are resolved component by component under the root, so an absolute
//! symlink such as `/etc/systemd/system/a.service -> /lib/systemd/system/a.service` stays inside
//! the image instead of reaching the host's `/lib`.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::DiscoveryError;

/// Symlinks followed while resolving one path, as Linux's own limit (40, path_resolution(7)).
const MAX_HOPS: usize = 40;

/// What one name in one unit directory is (systemd.unit(5), "Description").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// A unit file: a regular file, or a symlink with the same name (image path of the file).
    File { image: PathBuf, linked: bool },
    /// A symlink to `/dev/null`, or an empty file: the unit is masked.
    Masked { image: PathBuf },
    /// A symlink to a unit of another name: an alias of that name.
    Alias { image: PathBuf, target: String },
}

/// The host path of `image`, a path inside the image rooted at `root`.
pub(crate) fn host(root: &Path, image: &Path) -> PathBuf {
    match image.strip_prefix("/") {
        Ok(rel) => root.join(rel),
        Err(_) => root.join(image),
    }
}

fn read_err(path: PathBuf, source: io::Error) -> DiscoveryError {
    DiscoveryError::Read { path, source }
}

/// Resolves every symlink in `image` inside the image; a missing component ends the resolution
/// and the rest is kept as written (systemd allows dangling links). Returns an image path.
pub(crate) fn resolve(root: &Path, image: &Path) -> Result<PathBuf, DiscoveryError> {
    let mut done = PathBuf::from("/");
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, image);
    let mut hops = 0;
    let mut missing = false;
    while let Some(part) = todo.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        let next = done.join(&part);
        if missing {
            done = next;
            continue;
        }
        let on_host = host(root, &next);
        match fs::symlink_metadata(&on_host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(DiscoveryError::SymlinkLoop { path: on_host });
                }
                let target = fs::read_link(&on_host).map_err(|e| read_err(on_host, e))?;
                if target.is_absolute() {
                    done = PathBuf::from("/");
                }
                push_components(&mut todo, &target);
            }
            Ok(_) => done = next,
            Err(e) if is_absent(&e) => {
                missing = true;
                done = next;
            }
            Err(e) => return Err(read_err(on_host, e)),
        }
    }
    Ok(done)
}

/// Pushes the parts of `path` so that the first part is popped first.
fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    todo.extend(parts.into_iter().rev());
}

/// NotFound, or NotADirectory (a file where a directory was expected): both mean "absent".
pub(super) fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// systemd's null_or_empty(): `/dev/null` itself, any character device 1:3, or an empty
/// regular file.
fn null_or_empty(root: &Path, image: &Path) -> Result<bool, DiscoveryError> {
    if image == Path::new("/dev/null") {
        return Ok(true);
    }
    let on_host = host(root, image);
    match fs::metadata(&on_host) {
        Ok(meta) => {
            use std::os::unix::fs::FileTypeExt;
            let ft = meta.file_type();
            Ok((ft.is_file() && meta.len() == 0) || (ft.is_char_device() && is_dev_null(&meta)))
        }
        Err(e) if is_absent(&e) => Ok(false),
        Err(e) => Err(read_err(on_host, e)),
    }
}

fn is_dev_null(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let rdev = meta.rdev();
    // Linux's encoding of major 1, minor 3 (memory devices: null).
    libc::major(rdev) == 1 && libc::minor(rdev) == 3
}

/// What `name` is in the unit directory `dir` (an image path), or None when absent or a
/// directory. `load_dirs` decides whether a same-name symlink is "linked" from outside.
pub(super) fn classify(
    root: &Path,
    dir: &Path,
    name: &str,
    load_dirs: &[PathBuf],
) -> Result<Option<Entry>, DiscoveryError> {
    let image = dir.join(name);
    let on_host = host(root, &image);
    let meta = match fs::symlink_metadata(&on_host) {
        Ok(meta) => meta,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(read_err(on_host, e)),
    };
    if meta.is_dir() {
        return Ok(None);
    }
    if !meta.file_type().is_symlink() {
        if null_or_empty(root, &image)? {
            return Ok(Some(Entry::Masked { image }));
        }
        return Ok(Some(Entry::File {
            image,
            linked: false,
        }));
    }
    let link = fs::read_link(&on_host).map_err(|e| read_err(on_host.clone(), e))?;
    let resolved = resolve(root, &image)?;
    if null_or_empty(root, &resolved)? {
        return Ok(Some(Entry::Masked { image }));
    }
    let target = link.file_name().map(|s| s.to_string_lossy().into_owned());
    match target {
        Some(target) if target != name => Ok(Some(Entry::Alias { image, target })),
        _ => {
            let inside = resolved
                .parent()
                .is_some_and(|parent| load_dirs.iter().any(|d| d == parent));
            Ok(Some(Entry::File {
                image: resolved,
                linked: !inside,
            }))
        }
    }
}

/// The names in directory `dir` (an image path), or nothing when it is absent.
pub(crate) fn list_dir(root: &Path, dir: &Path) -> Result<Vec<String>, DiscoveryError> {
    let on_host = host(root, &resolve(root, dir)?);
    let entries = match fs::read_dir(&on_host) {
        Ok(entries) => entries,
        Err(e) if is_absent(&e) => return Ok(Vec::new()),
        Err(e) => return Err(read_err(on_host, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| read_err(on_host.clone(), e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    crate::sort::sort(&mut names);
    Ok(names)
}

/// Whether `image` is a symlink, and if so whether it resolves to `/dev/null` (masked).
pub(super) fn link_kind(root: &Path, image: &Path) -> Result<LinkKind, DiscoveryError> {
    let on_host = host(root, image);
    match fs::symlink_metadata(&on_host) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let link = fs::read_link(&on_host).map_err(|e| read_err(on_host, e))?;
            if null_or_empty(root, &resolve(root, image)?)? {
                Ok(LinkKind::Null)
            } else {
                Ok(LinkKind::Link(link))
            }
        }
        Ok(_) if null_or_empty(root, image)? => Ok(LinkKind::Null),
        Ok(_) => Ok(LinkKind::NotLink),
        Err(e) if is_absent(&e) => Ok(LinkKind::NotLink),
        Err(e) => Err(read_err(on_host, e)),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum LinkKind {
    /// A link to `/dev/null` (or an empty file): masks the name.
    Null,
    /// A symlink, with its target as written.
    Link(PathBuf),
    /// A regular file or directory.
    NotLink,
}
