//! Who reaps CMD's orphans: whether to register as a child subreaper, and what to say
//! about it, per personality. Pure: the two prctl calls are passed in.
//!
//! - tini: register when asked (`-s`, `TINI_SUBREAPER`), even as pid 1; a failure is
//!   fatal. Then, not pid 1, read the bit (it may be inherited): not set means the
//!   "zombie reaping won't work" warning.
//! - dumb-init: never registers, never warns.
//! - rich-init: not pid 1, always register; if that fails, warn unless the bit is
//!   already set (inherited).

use crate::cli::{Personality, Subreaper};
use crate::sys::Errno;

/// What to log after setting up reaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// PR_SET_CHILD_SUBREAPER succeeded.
    Registered,
    /// PR_GET_CHILD_SUBREAPER failed (tini says so at debug level, then warns).
    Unreadable(Errno),
    /// Neither pid 1 nor a subreaper (with the registration error, when we tried).
    NotReaper(Option<Errno>),
}

/// Decide and carry out the subreaper set-up. `register` is PR_SET_CHILD_SUBREAPER,
/// `read_bit` PR_GET_CHILD_SUBREAPER; each is called only when the rule needs it.
/// Err: a requested registration failed (fatal, as in tini).
pub fn set_up(
    personality: Personality,
    wanted: Subreaper,
    is_pid1: bool,
    register: impl FnOnce() -> Result<(), Errno>,
    read_bit: impl FnOnce() -> Result<bool, Errno>,
) -> Result<Vec<Note>, Errno> {
    if personality == Personality::DumbInit {
        return Ok(Vec::new());
    }
    let mut notes = Vec::new();
    match wanted {
        Subreaper::Requested => {
            register()?;
            notes.push(Note::Registered);
        }
        Subreaper::Auto if !is_pid1 => {
            match register() {
                Ok(()) => notes.push(Note::Registered),
                Err(e) if read_bit() != Ok(true) => notes.push(Note::NotReaper(Some(e))),
                Err(_) => {}
            }
            return Ok(notes);
        }
        Subreaper::Auto | Subreaper::Off => {}
    }
    let check = personality == Personality::Tini && !is_pid1;
    if check {
        match read_bit() {
            Ok(true) => {}
            Ok(false) => notes.push(Note::NotReaper(None)),
            Err(e) => {
                notes.push(Note::Unreadable(e));
                notes.push(Note::NotReaper(None));
            }
        }
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Personality::{DumbInit, Rich, Tini};
    use Subreaper::{Auto, Off, Requested};

    const EPERM: Errno = Errno::EPERM;
    const EINVAL: Errno = Errno::EINVAL;

    /// (personality, wanted, pid 1, PR_SET result, PR_GET result) ->
    /// (PR_SET called, PR_GET called, outcome).
    type Row = (
        Personality,
        Subreaper,
        bool,
        Result<(), Errno>,
        Result<bool, Errno>,
        bool,
        bool,
        Result<Vec<Note>, Errno>,
    );

    #[test]
    fn subreaper_rules_per_personality() {
        use Note::*;
        let ok = Ok(());
        let rows: Vec<Row> = vec![
            // tini without -s: never registers; not pid 1 it reads the bit.
            (Tini, Off, true, ok, Ok(false), false, false, Ok(vec![])),
            (
                Tini,
                Off,
                false,
                ok,
                Ok(false),
                false,
                true,
                Ok(vec![NotReaper(None)]),
            ),
            (Tini, Off, false, ok, Ok(true), false, true, Ok(vec![])),
            (
                Tini,
                Off,
                false,
                ok,
                Err(EINVAL),
                false,
                true,
                Ok(vec![Unreadable(EINVAL), NotReaper(None)]),
            ),
            // tini -s / TINI_SUBREAPER: registers even as pid 1; failing is fatal.
            (
                Tini,
                Requested,
                true,
                ok,
                Ok(true),
                true,
                false,
                Ok(vec![Registered]),
            ),
            (
                Tini,
                Requested,
                false,
                ok,
                Ok(true),
                true,
                true,
                Ok(vec![Registered]),
            ),
            (
                Tini,
                Requested,
                false,
                Err(EINVAL),
                Ok(false),
                true,
                false,
                Err(EINVAL),
            ),
            (
                Tini,
                Requested,
                false,
                Err(EPERM),
                Ok(true),
                true,
                false,
                Err(EPERM),
            ),
            // dumb-init: nothing, ever.
            (
                DumbInit,
                Off,
                false,
                ok,
                Ok(false),
                false,
                false,
                Ok(vec![]),
            ),
            (DumbInit, Off, true, ok, Ok(false), false, false, Ok(vec![])),
            (DumbInit, Off, false, ok, Ok(true), false, false, Ok(vec![])),
            // rich-init: not pid 1 always registers; warns only if that fails and the
            // bit is not inherited.
            (Rich, Auto, true, ok, Ok(false), false, false, Ok(vec![])),
            (
                Rich,
                Auto,
                false,
                ok,
                Ok(false),
                true,
                false,
                Ok(vec![Registered]),
            ),
            (
                Rich,
                Auto,
                false,
                Err(EINVAL),
                Ok(false),
                true,
                true,
                Ok(vec![NotReaper(Some(EINVAL))]),
            ),
            (
                Rich,
                Auto,
                false,
                Err(EINVAL),
                Err(EINVAL),
                true,
                true,
                Ok(vec![NotReaper(Some(EINVAL))]),
            ),
            (
                Rich,
                Auto,
                false,
                Err(EINVAL),
                Ok(true),
                true,
                true,
                Ok(vec![]),
            ),
        ];
        for (p, wanted, pid1, set, get, want_set, want_get, want) in rows {
            let (mut set_called, mut get_called) = (false, false);
            let got = set_up(
                p,
                wanted,
                pid1,
                || {
                    set_called = true;
                    set
                },
                || {
                    get_called = true;
                    get
                },
            );
            let row = format!("{p:?} {wanted:?} pid1={pid1} set={set:?} get={get:?}");
            assert_eq!(got, want, "{row}");
            assert_eq!(
                (set_called, get_called),
                (want_set, want_get),
                "{row}: calls"
            );
        }
    }
}
