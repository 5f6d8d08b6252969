//! The upgrade journal that upgrade-helper keeps in a container label and reads back in
//! `recover`, after a crash, from whatever the label holds.
//!
//! Input: the label value.
//! Invariants: no panic; every error is one non-empty line; a decoded journal encodes
//! (unless too long for a label) to a value within the label limit that decodes to the
//! same journal, and encoding is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rich_init::upgrade::journal::{Journal, JournalError, LABEL, MAX_LABEL};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let journal = match Journal::decode(&text) {
        Ok(j) => j,
        Err(e) => {
            let line = e.to_string();
            assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
            return;
        }
    };
    assert!(
        !journal.old_image.is_empty() && !journal.lease.is_empty(),
        "{journal:?}"
    );
    match journal.encode() {
        Ok(label) => {
            assert!(label.len() + LABEL.len() <= MAX_LABEL);
            assert_eq!(Journal::decode(&label).as_ref(), Ok(&journal), "{label}");
            let again = Journal::decode(&label).and_then(|j| j.encode());
            assert_eq!(again.as_ref(), Ok(&label));
        }
        Err(JournalError::TooLong(n)) => assert!(n + LABEL.len() > MAX_LABEL),
        Err(e) => panic!("encoding {journal:?} failed: {e}"),
    }
});
