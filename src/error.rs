//! Errors that stop the init before or while it starts CMD. Each one renders as one
//! line that says what failed and what to do.

use crate::sys::Errno;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot set up signal handling: {0}; rich-init cannot run here, please report this")]
    BlockSignals(Errno),
    #[error("cannot set the parent death signal: {0}; drop --parent-death-signal")]
    ParentDeathSignal(Errno),
    #[error("cannot become a child subreaper: {0}; run as pid 1, or on Linux >= 3.4")]
    Subreaper(Errno),
    #[error(
        "CMD (pid {pid}) is gone without an exit status (was SIGCHLD set to SA_NOCLDWAIT?); \
         start rich-init with default signal dispositions"
    )]
    CmdVanished { pid: i32 },
    #[error("cannot open a signalfd: {0} (is this kernel older than 2.6.27?)")]
    SignalFd(Errno),
    #[error("--systemd: cannot open the pipe the unit keepers report on: {0}; raise the open files limit")]
    KeeperPipe(Errno),
    #[error("cannot fork to start CMD: {0}; raise the pids limit (pids.max) or free memory")]
    Fork(Errno),
    #[error("argument {index} of CMD contains a NUL byte; remove it")]
    NulInArgument { index: usize },
    #[error(
        "the control socket {} belongs to a running rich-init; this one is not needed here: \
         run the command without --rich (inside the container, pid 1 already runs rich mode), \
         or give it its own --control-socket",
        path.display()
    )]
    ControlSocketInUse { path: std::path::PathBuf },
}

impl Error {
    /// The exit code for this error: 1, as dumb-init and tini use for their own failures.
    pub fn exit_code(&self) -> i32 {
        1
    }
}
