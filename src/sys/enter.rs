//! Running a program *inside* a container from the host (a hook's initscript): join the
//! cgroups of the container's process (through the host's cgroupfs, so first), then its
//! namespaces through /proc/PID/ns, make its root filesystem our root (pivot_root in a
//! mount namespace of our own), then fork once more so that the program is also in its
//! pid namespace.
//!
//! Everything is opened before the first fork; the path of the program is only ever
//! resolved after the pivot, so neither it nor a symlink in it can name a host file.

use super::spawn::{self, ChildEvent, ChildSignals, Placement, Setup, Step};
use super::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// Joined in this order: the user namespace first (it decides what the others allow),
/// the mount namespace last (it moves our root and working directory).
const KINDS: [(&str, libc::c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("mnt", libc::CLONE_NEWNS),
];

#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    #[error("cannot open the {kind} namespace of pid {pid}: {errno} (has the container exited?)")]
    Namespace {
        kind: &'static str,
        pid: i32,
        errno: Errno,
    },
    #[error("cannot open the root filesystem {path} of pid {pid}: {errno}")]
    Root {
        path: PathBuf,
        pid: i32,
        errno: Errno,
    },
    #[error(
        "the root filesystem {path} is not visible in the mount namespace of pid {pid}, \
         and its root is the host's; refusing to run anything there"
    )]
    RootIsHost { path: PathBuf, pid: i32 },
    #[error("cannot find the cgroups of pid {pid}: {error}")]
    Cgroups {
        pid: i32,
        error: super::cgroups::CgroupError,
    },
}

/// The container to enter: its cgroups and namespaces that differ from ours, and its root.
#[derive(Debug)]
pub struct Target {
    /// The cgroup.procs file of each of its cgroups to join (see sys::cgroups).
    cgroups: Vec<(PathBuf, CString)>,
    namespaces: Vec<(OwnedFd, libc::c_int)>,
    root: OwnedFd,
    /// The rootfs path in the container's mount namespace, when the container has not
    /// pivoted into it yet (then we must); None when its root already is the rootfs.
    rootfs: Option<CString>,
}

fn open_raw(dir: RawFd, path: &Path, how: &libc::open_how) -> Result<OwnedFd, Errno> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `c` is NUL-terminated and `how` is a live open_how of the size we pass.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            std::ptr::from_ref(how),
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    let fd = RawFd::try_from(fd).map_err(|_| Errno::EBADF)?;
    // SAFETY: openat2 returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn how(flags: libc::c_int, resolve: u64) -> libc::open_how {
    // SAFETY: open_how is plain integers; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::try_from(flags | libc::O_CLOEXEC).unwrap_or(0);
    how.resolve = resolve;
    how
}

fn identity(fd: RawFd) -> Result<(u64, u64), Errno> {
    // SAFETY: fstat writes one stat structure into `st`.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is a live descriptor and `st` is writable.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Errno::last());
    }
    Ok((st.st_dev, st.st_ino))
}

fn open_path(path: &Path, flags: libc::c_int) -> Result<OwnedFd, Errno> {
    open_raw(libc::AT_FDCWD, path, &how(flags, 0))
}

impl Target {
    /// The container whose process is `pid` (a host pid), with its root filesystem at
    /// `rootfs` (an absolute path in that process's mount namespace, as config.json's
    /// root.path is before pivot_root; if it is gone, the process has already pivoted
    /// and its own root is used).
    pub fn open(pid: i32, rootfs: &Path) -> Result<Target, EnterError> {
        let cgroups =
            super::cgroups::files_of(pid).map_err(|error| EnterError::Cgroups { pid, error })?;
        let mut namespaces = Vec::new();
        for (kind, flag) in KINDS {
            let theirs = open_path(
                &PathBuf::from(format!("/proc/{pid}/ns/{kind}")),
                libc::O_RDONLY,
            )
            .map_err(|errno| EnterError::Namespace { kind, pid, errno })?;
            let ours = open_path(
                &PathBuf::from(format!("/proc/self/ns/{kind}")),
                libc::O_RDONLY,
            )
            .and_then(|fd| identity(fd.as_raw_fd()));
            let same = ours.is_ok_and(|o| identity(theirs.as_raw_fd()).is_ok_and(|t| t == o));
            if !same {
                namespaces.push((theirs, flag));
            }
        }
        let root_err = |errno| EnterError::Root {
            path: rootfs.to_path_buf(),
            pid,
            errno,
        };
        let proc_root = open_path(
            &PathBuf::from(format!("/proc/{pid}/root")),
            libc::O_PATH | libc::O_DIRECTORY,
        )
        .map_err(root_err)?;
        let relative = rootfs.strip_prefix("/").unwrap_or(rootfs);
        // RESOLVE_IN_ROOT: `..` and absolute links stay below the process's root.
        let in_root = how(
            libc::O_PATH | libc::O_DIRECTORY,
            libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
        );
        let mut rootfs_path = Some(
            CString::new(rootfs.as_os_str().as_encoded_bytes())
                .map_err(|_| root_err(Errno::EINVAL))?,
        );
        let root = match open_raw(proc_root.as_raw_fd(), relative, &in_root) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                // Already pivoted: the process's root is the rootfs, unless it is ours.
                let host = open_path(Path::new("/"), libc::O_PATH | libc::O_DIRECTORY)
                    .and_then(|fd| identity(fd.as_raw_fd()))
                    .map_err(root_err)?;
                if identity(proc_root.as_raw_fd()).map_err(root_err)? == host {
                    return Err(EnterError::RootIsHost {
                        path: rootfs.to_path_buf(),
                        pid,
                    });
                }
                rootfs_path = None;
                proc_root
            }
            Err(errno) => return Err(root_err(errno)),
        };
        Ok(Target {
            cgroups,
            namespaces,
            root,
            rootfs: rootfs_path,
        })
    }

    /// How many namespaces will be joined (those that differ from ours).
    pub fn namespace_count(&self) -> usize {
        self.namespaces.len()
    }

    /// The cgroup.procs file of the `index`th cgroup joined (for messages).
    pub fn cgroup_file(&self, index: usize) -> Option<&Path> {
        self.cgroups.get(index).map(|(path, _)| path.as_path())
    }
}

/// Make `rootfs` (a path in the container's mount namespace, which we have joined) our
/// real root, as runc does for the container itself: in a mount namespace of our own (a
/// copy of the container's, nothing propagating back), bind the rootfs onto itself,
/// pivot_root into it and detach the old root. A chroot would not do: a process with
/// CAP_SYS_CHROOT can leave one, and before pivot_root the container's mount namespace
/// still holds the host's root. Runs in the forked child; only syscalls.
fn pivot_into(rootfs: &CString) -> bool {
    let null = std::ptr::null::<libc::c_char>();
    // SAFETY: unshare takes a flag; the mount calls take NUL-terminated strings or null
    // where the kernel allows it; pivot_root and umount2 take "." (NUL-terminated).
    unsafe {
        libc::unshare(libc::CLONE_NEWNS) == 0
            && libc::mount(
                null,
                c"/".as_ptr(),
                null,
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ) == 0
            && libc::mount(
                rootfs.as_ptr(),
                rootfs.as_ptr(),
                null,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ) == 0
            && libc::chdir(rootfs.as_ptr()) == 0
            && libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) == 0
            && libc::umount2(c".".as_ptr(), libc::MNT_DETACH) == 0
            && libc::chdir(c"/".as_ptr()) == 0
    }
}

/// What the intermediate process tells its parent, besides the child's [`ChildEvent`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Middle {
    /// The program's process started with this (host) pid; it leads its own group.
    Started(i32),
    /// It ended with this raw wait status.
    Exited(i32),
    /// The intermediate process itself failed at this step.
    Failed(Step, Errno),
    /// It could not join the container's cgroup of this index ([`Target::cgroup_file`]).
    Cgroup(usize, Errno),
}

/// Fork a process that enters `target` and runs `argv` there (path resolved inside the
/// container's root) as [`spawn::spawn`] would, waits for it and reports through
/// `middle`; [`ChildEvent`]s of the program's own set-up go to `report`. Returns the
/// intermediate process's pid; it dies with us (PR_SET_PDEATHSIG), and so does the
/// program if it dies.
///
/// Crate-private for the reason [`spawn::spawn`] is.
pub(crate) fn spawn_inside(
    target: &Target,
    argv: &[CString],
    signals_for_child: ChildSignals,
    setup: &Setup,
    report: &dyn Fn(ChildEvent) -> i32,
    middle: &dyn Fn(Middle),
) -> Result<i32, Errno> {
    // SAFETY: the hook process is single-threaded; the child only makes syscalls and
    // calls the callbacks (which write to a pipe) before exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid > 0 {
        return Ok(pid);
    }
    let fail = |step: Step| -> ! {
        middle(Middle::Failed(step, Errno::last()));
        super::exit_now(1)
    };
    let parent = nix::unistd::getppid();
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and zeros.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        fail(Step::DeathSignal);
    }
    // The hook died before that: nobody would ever stop what we start.
    if nix::unistd::getppid() != parent {
        super::exit_now(1);
    }
    // Before any setns: the files are the host's cgroupfs, and the kernel checks a move
    // against the writer's cgroup namespace. Everything forked from here on inherits them.
    for (index, (_, procs)) in target.cgroups.iter().enumerate() {
        if let Err(errno) = super::cgroups::join(procs) {
            middle(Middle::Cgroup(index, errno));
            super::exit_now(1);
        }
    }
    for (fd, flag) in &target.namespaces {
        // SAFETY: `fd` is a namespace descriptor we opened; `flag` names its type.
        if unsafe { libc::setns(fd.as_raw_fd(), *flag) } != 0 {
            fail(Step::Namespace);
        }
    }
    let entered = match &target.rootfs {
        Some(rootfs) => pivot_into(rootfs),
        // SAFETY: fchdir/chdir take a live descriptor and a NUL-terminated literal. After
        // setns(CLONE_NEWNS) our root is the namespace's root, which is the rootfs.
        None => unsafe {
            libc::fchdir(target.root.as_raw_fd()) == 0 && libc::chdir(c"/".as_ptr()) == 0
        },
    };
    if !entered {
        fail(Step::Root);
    }
    let child = match spawn::spawn(argv, Placement::OwnGroup, signals_for_child, setup, report) {
        Ok(child) => child,
        Err(_) => fail(Step::Fork),
    };
    middle(Middle::Started(child));
    match super::reap::wait_for(child, true) {
        Ok(Some(status)) => middle(Middle::Exited(status)),
        _ => fail(Step::Wait),
    }
    super::exit_now(0)
}
