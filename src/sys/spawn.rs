//! fork + exec of the CMD. Everything the child needs (argv C strings, the pointer
//! array, the signal mask to restore) is built before fork; the child only makes
//! syscalls, reports failures through the caller's callback and `_exit`s.

use super::signals::{self, SigSet};
use super::{tty, Errno};
use std::ffi::CString;

/// Where the child goes before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// setsid(), then take stdin as controlling terminal (dumb-init).
    Session,
    /// setpgid(0, 0), then make that group the terminal's foreground group (tini).
    Group,
    /// Stay in our session and group.
    Inherit,
    /// setpgid(0, 0) only, never touching the terminal (services, scripts).
    OwnGroup,
}

/// Something that happened in the child between fork and exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEvent {
    /// Fatal: the child exits with the callback's code.
    SetsidFailed(Errno),
    SetsidDone,
    /// Not fatal: there is no terminal to take, or it belongs to another session.
    TtyAttachFailed(Errno),
    /// Fatal.
    SetpgidFailed(Errno),
    /// Not fatal when there is no terminal (ENOTTY, ENXIO, EBADF).
    ForegroundFailed(Errno),
    /// Fatal: exec failed with this errno.
    ExecFailed(Errno),
    /// Fatal: a step of a service's set-up failed.
    SetupFailed(Step, Errno),
}

/// A set-up step between fork and exec (services).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Stdio,
    Chdir,
    Umask,
    Groups,
    Gid,
    Uid,
    NoNewPrivs,
    CloseFds,
    DeathSignal,
    /// Entering a container (sys::enter).
    Namespace,
    Root,
    Fork,
    Wait,
    Caps,
    Rlimit,
    Nice,
    OomScoreAdj,
    Chroot,
    /// Socket activation: its listening sockets at fd 3 onwards (sys::listen).
    ListenFds,
}

impl Step {
    pub fn describe(self) -> &'static str {
        match self {
            Step::Stdio => "connect its standard streams",
            Step::Chdir => "enter its working directory",
            Step::Umask => "set its umask",
            Step::Groups => "set its supplementary groups",
            Step::Gid => "set its group id",
            Step::Uid => "set its user id",
            Step::NoNewPrivs => "set no_new_privs",
            Step::CloseFds => "close inherited descriptors",
            Step::DeathSignal => "set its parent death signal",
            Step::Namespace => "join the container's namespaces",
            Step::Root => "enter the container's root filesystem",
            Step::Fork => "fork inside the container",
            Step::Wait => "wait for its process inside the container",
            Step::Caps => "set its capabilities",
            Step::Rlimit => "set its resource limits (Limit*=)",
            Step::Nice => "set its nice value",
            Step::OomScoreAdj => "set its OOM score adjustment",
            Step::Chroot => "enter its RootDirectory=",
            Step::ListenFds => "pass its listening sockets",
        }
    }
}

/// The user a service runs as.
#[derive(Debug, Clone, Copy)]
pub struct Ids<'a> {
    pub uid: u32,
    pub gid: u32,
    pub groups: &'a [u32],
}

/// What else a child gets before exec; the default is "as we are" (CMD).
#[derive(Debug, Default, Clone, Copy)]
pub struct Setup<'a> {
    /// The environment (`NAME=value`); None: ours.
    pub env: Option<&'a [CString]>,
    pub cwd: Option<&'a std::ffi::CStr>,
    pub ids: Option<Ids<'a>>,
    pub umask: Option<u32>,
    pub no_new_privs: bool,
    /// Descriptors to put in place of stdin, stdout, stderr.
    pub stdin: Option<i32>,
    pub stdout: Option<i32>,
    pub stderr: Option<i32>,
    /// Close every descriptor above stderr at exec (hooks: nothing leaks into a script).
    pub close_other_fds: bool,
    /// prctl(PR_SET_PDEATHSIG): the child gets this signal when its parent dies.
    pub parent_death_signal: Option<i32>,
    /// Capability sets to run with (set around the user change).
    pub caps: Option<&'a super::caps::CapSets>,
    /// The program to exec when it is not argv\[0\] (a unit's `@` prefix, a searched path).
    pub program: Option<&'a std::ffi::CStr>,
    /// Resource limits to set: (RLIMIT_* resource, soft, hard), `u64::MAX` for infinity.
    pub rlimits: &'a [(u32, u64, u64)],
    /// A nice value to set.
    pub nice: Option<i32>,
    /// /proc/self/oom_score_adj to write.
    pub oom_score_adj: Option<&'a [u8]>,
    /// SIGPIPE ignored, as systemd's IgnoreSIGPIPE=yes (its default) leaves a service.
    pub ignore_sigpipe: bool,
    /// chroot into this directory (RootDirectory=), before the working directory.
    pub root: Option<&'a std::ffi::CStr>,
    /// A mount namespace with fresh tmpfs on /tmp and /var/tmp (PrivateTmp=); skipped when
    /// the namespace cannot be made (no CAP_SYS_ADMIN), as the caller has said.
    pub private_tmp: bool,
    /// Sockets to pass at fd 3 onwards (sd_listen_fds(3)); with any, `env` must be given
    /// (and hold LISTEN_FDS and LISTEN_FDNAMES): `LISTEN_PID=` the child's pid is added
    /// to it in the child.
    pub listen_fds: &'a [i32],
}

impl ChildEvent {
    pub fn is_fatal(&self) -> bool {
        match self {
            ChildEvent::SetsidFailed(_)
            | ChildEvent::SetpgidFailed(_)
            | ChildEvent::ExecFailed(_)
            | ChildEvent::SetupFailed(..) => true,
            ChildEvent::ForegroundFailed(e) => {
                !matches!(e, Errno::ENOTTY | Errno::ENXIO | Errno::EBADF)
            }
            ChildEvent::SetsidDone | ChildEvent::TtyAttachFailed(_) => false,
        }
    }
}

/// The signal state CMD starts with.
#[derive(Clone, Copy)]
pub enum ChildSignals {
    /// The mask we were started with; dispositions as inherited (tini, rich-init).
    Restore(SigSet),
    /// An empty mask and the default action for signals 1-31 (dumb-init).
    Reset,
}

/// Fork and exec `argv` (searched in PATH like execvp). `report` runs in the child for
/// each [`ChildEvent`]; for a fatal one its return value is the child's exit code.
/// Returns the child's pid.
///
/// Crate-private on purpose: the child runs `report` (which allocates) between fork and
/// exec, which is only sound in a process that has never started a thread, as the pid-1
/// loop is.
pub(crate) fn spawn(
    argv: &[CString],
    placement: Placement,
    signals_for_child: ChildSignals,
    setup: &Setup,
    report: &dyn Fn(ChildEvent) -> i32,
) -> Result<i32, Errno> {
    let Some(first) = argv.first() else {
        return Err(Errno::EINVAL);
    };
    let program: &std::ffi::CStr = setup.program.unwrap_or(first);
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    if !setup.listen_fds.is_empty() && setup.env.is_none() {
        return Err(Errno::EINVAL);
    }
    let mut env_ptrs: Option<Vec<*const libc::c_char>> = setup.env.map(|env| {
        // Room for LISTEN_PID, added in the child.
        let mut v: Vec<*const libc::c_char> = Vec::with_capacity(env.len() + 2);
        v.extend(env.iter().map(|e| e.as_ptr()));
        v.push(std::ptr::null());
        v
    });

    // SAFETY: we are single-threaded (pid 1 never starts threads), so the child may run
    // arbitrary code; it only makes syscalls and calls `report` before exec or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno::last());
    }
    if pid > 0 {
        if matches!(placement, Placement::Group | Placement::OwnGroup) {
            // Also from the parent, so the group exists before we forward anything to it.
            // EACCES (the child already exec'd) and ESRCH (it already died) are fine.
            let _ = nix::unistd::setpgid(
                nix::unistd::Pid::from_raw(pid),
                nix::unistd::Pid::from_raw(pid),
            );
        }
        return Ok(pid);
    }

    // Our parent as we see it now, to tell later whether it died before the parent death
    // signal was set (only asked when one is wanted: CMD and services skip the syscall).
    let parent = setup.parent_death_signal.map(|_| nix::unistd::getppid());
    let fail = |event: ChildEvent| -> ! { super::exit_now(report(event)) };
    let note = |event: ChildEvent| {
        if event.is_fatal() {
            fail(event);
        }
        report(event);
    };
    match placement {
        Placement::Session => {
            if let Err(e) = nix::unistd::setsid() {
                fail(ChildEvent::SetsidFailed(e));
            }
            note(ChildEvent::SetsidDone);
            if let Err(e) = tty::take_controlling_tty() {
                note(ChildEvent::TtyAttachFailed(e));
            }
        }
        Placement::Group => {
            if let Err(e) =
                nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))
            {
                fail(ChildEvent::SetpgidFailed(e));
            }
            // Signals are blocked, so SIGTTOU does not stop us for doing this from the
            // background.
            if let Err(e) = tty::take_foreground() {
                note(ChildEvent::ForegroundFailed(e));
            }
        }
        Placement::OwnGroup => {
            if let Err(e) =
                nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))
            {
                fail(ChildEvent::SetpgidFailed(e));
            }
        }
        Placement::Inherit => {}
    }
    let mask = match signals_for_child {
        ChildSignals::Restore(mask) => mask,
        ChildSignals::Reset => {
            for sig in 1..=31 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    // Only fails for an invalid signal number, which these are not.
                    let _ = signals::set_default(sig);
                }
            }
            SigSet::empty()
        }
    };
    // A failure here leaves signals blocked in CMD; report it through exec's path
    // rather than running CMD deaf to signals.
    if let Err(e) = signals::set_mask(&mask) {
        fail(ChildEvent::ExecFailed(e));
    }
    if let Err((step, e)) = apply(setup, parent) {
        fail(ChildEvent::SetupFailed(step, e));
    }
    // LISTEN_PID is the pid that execs: ours, known only now (sd_listen_fds(3)).
    let mut listen_pid = [0u8; 32];
    if let (false, Some(envp)) = (setup.listen_fds.is_empty(), env_ptrs.as_mut()) {
        let var = super::listen::listen_pid_var(super::getpid(), &mut listen_pid);
        envp.insert(envp.len().saturating_sub(1), var.as_ptr());
    }
    match &env_ptrs {
        // SAFETY: `program`, `ptrs` and `envp` are NUL-terminated arrays of C strings
        // that outlive the call; execvpe only returns on failure.
        Some(envp) => unsafe { libc::execvpe(program.as_ptr(), ptrs.as_ptr(), envp.as_ptr()) },
        // SAFETY: as above, with our own environment.
        None => unsafe { libc::execvp(program.as_ptr(), ptrs.as_ptr()) },
    };
    fail(ChildEvent::ExecFailed(Errno::last()))
}

/// The child's part of [`Setup`], in the order that keeps the privileges each step
/// needs: streams, directory, umask, then groups, gid, uid, capabilities, the parent death
/// signal, and no_new_privs last.
fn apply(setup: &Setup, parent: Option<nix::unistd::Pid>) -> Result<(), (Step, Errno)> {
    for (fd, target) in [(setup.stdin, 0), (setup.stdout, 1), (setup.stderr, 2)] {
        if let Some(fd) = fd {
            // SAFETY: dup2 takes two descriptors; the target is a standard stream.
            if unsafe { libc::dup2(fd, target) } < 0 {
                return Err((Step::Stdio, Errno::last()));
            }
        }
    }
    if setup.private_tmp {
        private_tmp();
    }
    if let Some(root) = setup.root {
        // SAFETY: `root` is a NUL-terminated path; chdir("/") is a literal.
        if unsafe { libc::chroot(root.as_ptr()) } != 0 || unsafe { libc::chdir(c"/".as_ptr()) } != 0
        {
            return Err((Step::Chroot, Errno::last()));
        }
    }
    if let Some(dir) = setup.cwd {
        // SAFETY: `dir` is a NUL-terminated path.
        if unsafe { libc::chdir(dir.as_ptr()) } != 0 {
            return Err((Step::Chdir, Errno::last()));
        }
    }
    for (resource, soft, hard) in setup.rlimits {
        let limit = libc::rlimit {
            rlim_cur: *soft,
            rlim_max: *hard,
        };
        // SAFETY: setrlimit reads one rlimit; the resource number is passed as is.
        if unsafe { libc::setrlimit(*resource as _, &limit) } != 0 {
            // Raising a hard limit needs CAP_SYS_RESOURCE, which containers seldom grant:
            // then the most the current hard limit allows (documented in README).
            let mut now = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit writes one rlimit into `now`.
            if Errno::last() != Errno::EPERM
                || unsafe { libc::getrlimit(*resource as _, &mut now) } != 0
            {
                return Err((Step::Rlimit, Errno::last()));
            }
            let clamped = libc::rlimit {
                rlim_cur: (*soft).min(now.rlim_max),
                rlim_max: (*hard).min(now.rlim_max),
            };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(*resource as _, &clamped) } != 0 {
                return Err((Step::Rlimit, Errno::last()));
            }
        }
    }
    if let Some(nice) = setup.nice {
        // SAFETY: setpriority takes plain integers (0: this process).
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
            return Err((Step::Nice, Errno::last()));
        }
    }
    if let Some(adj) = setup.oom_score_adj {
        // SAFETY: the path is a NUL-terminated literal; the flags are valid.
        let fd = unsafe {
            libc::open(
                c"/proc/self/oom_score_adj".as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            )
        };
        // SAFETY: pointer and length from a live slice; fd is ours (or -1: write fails).
        let written = fd >= 0 && unsafe { libc::write(fd, adj.as_ptr().cast(), adj.len()) } >= 0;
        if fd >= 0 {
            // SAFETY: closing the descriptor opened just above.
            unsafe { libc::close(fd) };
        }
        if !written {
            return Err((Step::OomScoreAdj, Errno::last()));
        }
    }
    if setup.ignore_sigpipe {
        // SAFETY: setting a signal's disposition to SIG_IGN installs no handler.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    }
    if let Some(mask) = setup.umask {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(mask & 0o777) };
    }
    if let Some(caps) = setup.caps {
        super::caps::before_setuid(caps).map_err(|e| (Step::Caps, e))?;
    }
    if let Some(ids) = setup.ids {
        // SAFETY: `groups` is a live slice of gid_t-sized integers of the given length.
        if unsafe { libc::setgroups(ids.groups.len(), ids.groups.as_ptr()) } != 0 {
            return Err((Step::Groups, Errno::last()));
        }
        // SAFETY: setgid/setuid take plain integers.
        if unsafe { libc::setgid(ids.gid) } != 0 {
            return Err((Step::Gid, Errno::last()));
        }
        // SAFETY: as above.
        if unsafe { libc::setuid(ids.uid) } != 0 {
            return Err((Step::Uid, Errno::last()));
        }
    }
    if let Some(caps) = setup.caps {
        super::caps::after_setuid(caps).map_err(|e| (Step::Caps, e))?;
    }
    if let Some(sig) = setup.parent_death_signal {
        // Last of the credential changes: a change of uid clears the parent death signal.
        // SAFETY: PR_SET_PDEATHSIG takes a signal number and zeros.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig, 0, 0, 0) } != 0 {
            return Err((Step::DeathSignal, Errno::last()));
        }
        // Had the parent died before that, the signal would never come.
        if parent.is_some_and(|p| nix::unistd::getppid() != p) {
            return Err((Step::DeathSignal, Errno::ESRCH));
        }
    }
    if setup.close_other_fds {
        // Marked close-on-exec rather than closed: the caller's report pipe must stay
        // usable until exec.
        // SAFETY: close_range takes plain integers and touches only our descriptor table.
        if unsafe { libc::close_range(3, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) } != 0
        {
            cloexec_one_by_one().map_err(|e| (Step::CloseFds, e))?;
        }
    }
    if !setup.listen_fds.is_empty() {
        // After close_other_fds, which would mark them close-on-exec again.
        super::listen::place(setup.listen_fds).map_err(|e| (Step::ListenFds, e))?;
    }
    if setup.no_new_privs {
        // SAFETY: PR_SET_NO_NEW_PRIVS takes 1 and zeros.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err((Step::NoNewPrivs, Errno::last()));
        }
    }
    Ok(())
}

/// PrivateTmp=: a mount namespace of our own, mounts kept from the parent's, and a tmpfs
/// on /tmp and /var/tmp. Best effort: without CAP_SYS_ADMIN unshare fails and nothing
/// changes (the caller warned at load time).
fn private_tmp() {
    // SAFETY: unshare takes flags; it only changes this (forked) process.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return;
    }
    // SAFETY: a recursive private remount of / with no source, type or data.
    let private = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if private != 0 {
        return;
    }
    for dir in [c"/tmp", c"/var/tmp"] {
        // SAFETY: literals for source, target, type and data; mount flags are plain bits.
        unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                dir.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                c"mode=1777".as_ptr().cast(),
            )
        };
    }
}

/// Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: mark each possible descriptor instead.
fn cloexec_one_by_one() -> Result<(), Errno> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into `limit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(Errno::last());
    }
    let top = i32::try_from(limit.rlim_cur.min(1 << 20)).unwrap_or(1 << 20);
    for fd in 3..top {
        // SAFETY: F_SETFD on any integer is harmless; EBADF for unused numbers is expected.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}
