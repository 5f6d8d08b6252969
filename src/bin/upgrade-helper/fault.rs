//! Test-only fault injection: `UPGRADE_HELPER_FAULT=fail@STEP` makes the step fail,
//! `kill@STEP` SIGKILLs the helper there (a crash). Compiled in only with the
//! `fault-injection` feature, which `make` never enables: release builds cannot reach it.

/// Called at the start of each step (lease, journal, snapshot, stop, swap, start, health,
/// commit, commit-cleanup, rollback), and in the descriptor hand-over: before the take
/// (handover-take), before the give to the new init (handover-give) and before the give
/// back to the restarted old init on a rollback (handover-give-back).
#[cfg(feature = "fault-injection")]
pub fn fault(step: &str) -> anyhow::Result<()> {
    let Ok(spec) = std::env::var("UPGRADE_HELPER_FAULT") else {
        return Ok(());
    };
    for one in spec.split(',') {
        match one.split_once('@') {
            Some(("fail", at)) if at == step => {
                anyhow::bail!("injected fault at step {step}")
            }
            Some(("kill", at)) if at == step => {
                eprintln!("upgrade-helper: injected crash (SIGKILL) at step {step}");
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::this(),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn fault(_step: &str) -> anyhow::Result<()> {
    Ok(())
}
