//! Whether the container's initscript runs at this hook's stage: the pure decision. An
//! initscript that is asked for but can never run (its stage has no `rich-init hook`
//! registered in config.json, or the stage annotation names no stage an initscript can
//! run at) is an error, never silence.

use super::state::{Stage, ANNOTATION_INITSCRIPT, ANNOTATION_INITSCRIPT_STAGE};
use std::path::PathBuf;

/// Why the annotations ask for something that cannot be done; each is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitscriptError {
    #[error(
        "annotation {ANNOTATION_INITSCRIPT_STAGE}={0:?} is not a stage an initscript can run at; use prestart or createRuntime"
    )]
    BadStage(String),
    #[error(
        "annotation {ANNOTATION_INITSCRIPT_STAGE}={wanted} asks for the initscript at {wanted}, but config.json has no {wanted} hook running `rich-init hook {wanted}`, so it would never run; add that hook (`rich-init oci inject` does; for podman and CRI-O install rich-init-{wanted}.json into hooks.d), or remove the annotation"
    )]
    NotRegistered { wanted: &'static str },
    #[error(
        "annotation {ANNOTATION_INITSCRIPT}={0:?} is not an absolute path inside the container"
    )]
    Relative(String),
}

/// What the container asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    /// The annotation io.rich-init.initscript (empty values count as absent).
    pub initscript: Option<&'a str>,
    /// The annotation io.rich-init.initscript-stage.
    pub stage: Option<&'a str>,
}

/// The stage the annotations ask the initscript to run at (prestart when unsaid).
pub fn wanted_stage(word: Option<&str>) -> Result<Stage, InitscriptError> {
    match word {
        None => Ok(Stage::Prestart),
        Some(word) => Stage::parse(word)
            .filter(|s| s.can_run_initscript())
            .ok_or_else(|| InitscriptError::BadStage(word.to_string())),
    }
}

/// The initscript to run at `now`, given the stages at which config.json runs
/// `rich-init hook` (`registered`). Only the stages where an initscript can run decide;
/// at the others this is always Ok(None).
pub fn decide(
    now: Stage,
    asked: Asked<'_>,
    registered: &[Stage],
) -> Result<Option<PathBuf>, InitscriptError> {
    let Some(path) = asked.initscript else {
        return Ok(None);
    };
    if !now.can_run_initscript() {
        return Ok(None);
    }
    let wanted = wanted_stage(asked.stage)?;
    if wanted != now {
        // The other stage's hook runs it; if there is none, say so now, before the
        // container's program starts without it.
        if !registered.contains(&wanted) {
            return Err(InitscriptError::NotRegistered {
                wanted: wanted.name(),
            });
        }
        return Ok(None);
    }
    if !path.starts_with('/') {
        return Err(InitscriptError::Relative(path.to_string()));
    }
    Ok(Some(PathBuf::from(path)))
}

/// The stages `oci inject` hooks: prestart and poststop, and createRuntime when the
/// annotations have the initscript run there. A stage annotation that no initscript can
/// run at is refused then, rather than at the container's start.
pub fn hook_stages(
    initscript: Option<&str>,
    stage: Option<&str>,
) -> Result<Vec<&'static str>, InitscriptError> {
    let mut stages = vec![Stage::Prestart.name()];
    if initscript.is_some_and(|s| !s.is_empty()) {
        let wanted = wanted_stage(stage.filter(|s| !s.is_empty()))?;
        if wanted == Stage::CreateRuntime {
            stages.push(wanted.name());
        }
    }
    stages.push(Stage::Poststop.name());
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stage::*;

    type Want = Result<Option<&'static str>, fn(&InitscriptError) -> bool>;

    #[test]
    fn decides_where_the_initscript_runs() {
        let pre_post: &[Stage] = &[Prestart, Poststop];
        let all: &[Stage] = &[Prestart, CreateRuntime, Poststop];
        let runtime_only: &[Stage] = &[CreateRuntime];
        let not_registered: fn(&InitscriptError) -> bool =
            |e| matches!(e, InitscriptError::NotRegistered { .. });
        let bad_stage: fn(&InitscriptError) -> bool = |e| matches!(e, InitscriptError::BadStage(_));
        type Case<'a> = (Stage, Option<&'a str>, Option<&'a str>, &'a [Stage], Want);
        let cases: &[Case] = &[
            // Nothing asked: nothing to do, whatever the stage annotation says.
            (Prestart, None, None, pre_post, Ok(None)),
            (Prestart, None, Some("createContainer"), pre_post, Ok(None)),
            // The default stage is prestart.
            (Prestart, Some("/i.sh"), None, pre_post, Ok(Some("/i.sh"))),
            (
                Prestart,
                Some("/i.sh"),
                Some("prestart"),
                all,
                Ok(Some("/i.sh")),
            ),
            (CreateRuntime, Some("/i.sh"), None, all, Ok(None)),
            // createRuntime: run there, not at prestart...
            (
                CreateRuntime,
                Some("/i.sh"),
                Some("createRuntime"),
                all,
                Ok(Some("/i.sh")),
            ),
            (
                Prestart,
                Some("/i.sh"),
                Some("createRuntime"),
                all,
                Ok(None),
            ),
            // ...and an error at prestart when no createRuntime hook would run it
            // (the shipped hooks.d files of old: prestart and poststop only).
            (
                Prestart,
                Some("/i.sh"),
                Some("createRuntime"),
                pre_post,
                Err(not_registered),
            ),
            // The same the other way round.
            (
                CreateRuntime,
                Some("/i.sh"),
                None,
                runtime_only,
                Err(not_registered),
            ),
            (
                CreateRuntime,
                Some("/i.sh"),
                Some("prestart"),
                runtime_only,
                Err(not_registered),
            ),
            // Stages an initscript cannot run at, and words that are no stage.
            (
                Prestart,
                Some("/i.sh"),
                Some("createContainer"),
                all,
                Err(bad_stage),
            ),
            (
                Prestart,
                Some("/i.sh"),
                Some("startContainer"),
                all,
                Err(bad_stage),
            ),
            (
                Prestart,
                Some("/i.sh"),
                Some("poststart"),
                all,
                Err(bad_stage),
            ),
            (
                CreateRuntime,
                Some("/i.sh"),
                Some("Prestart"),
                all,
                Err(bad_stage),
            ),
            (Prestart, Some("/i.sh"), Some("soon"), all, Err(bad_stage)),
            // A relative path, at the stage that would run it.
            (
                Prestart,
                Some("i.sh"),
                None,
                all,
                Err(|e| matches!(e, InitscriptError::Relative(_))),
            ),
            (CreateRuntime, Some("i.sh"), None, all, Ok(None)),
            // The other stages never decide.
            (
                Poststop,
                Some("/i.sh"),
                Some("createRuntime"),
                pre_post,
                Ok(None),
            ),
            (Poststop, Some("/i.sh"), Some("bogus"), pre_post, Ok(None)),
            (CreateContainer, Some("/i.sh"), None, &[], Ok(None)),
        ];
        for (now, initscript, stage, registered, want) in cases {
            let asked = Asked {
                initscript: *initscript,
                stage: *stage,
            };
            let got = decide(*now, asked, registered);
            let case = format!("{now:?} {initscript:?} {stage:?} {registered:?}: {got:?}");
            match (want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(g.as_deref(), w.map(std::path::Path::new), "{case}"),
                (Err(check), Err(e)) => {
                    assert!(check(e), "{case}");
                    assert!(!e.to_string().contains('\n'), "{case}");
                    assert!(e.to_string().contains(ANNOTATION_INITSCRIPT), "{case}");
                }
                _ => panic!("{case}"),
            }
        }
    }

    #[test]
    fn inject_hooks_the_stage_the_annotations_ask_for() {
        let pre_post = Ok(vec!["prestart", "poststop"]);
        let all = Ok(vec!["prestart", "createRuntime", "poststop"]);
        let cases = [
            (None, None, pre_post.clone()),
            (None, Some("createRuntime"), pre_post.clone()),
            (None, Some("bogus"), pre_post.clone()),
            (Some(""), Some("createRuntime"), pre_post.clone()),
            (Some("/i.sh"), None, pre_post.clone()),
            (Some("/i.sh"), Some(""), pre_post.clone()),
            (Some("/i.sh"), Some("prestart"), pre_post.clone()),
            (Some("/i.sh"), Some("createRuntime"), all),
            (
                Some("/i.sh"),
                Some("createContainer"),
                Err(InitscriptError::BadStage("createContainer".into())),
            ),
        ];
        for (initscript, stage, want) in cases {
            assert_eq!(
                hook_stages(initscript, stage),
                want,
                "{initscript:?} {stage:?}"
            );
        }
    }

    #[test]
    fn the_error_names_the_annotation_and_the_fix() {
        let e = decide(
            Prestart,
            Asked {
                initscript: Some("/i.sh"),
                stage: Some("createRuntime"),
            },
            &[Prestart],
        )
        .expect_err("not registered");
        let line = e.to_string();
        assert!(
            line.contains("io.rich-init.initscript-stage=createRuntime"),
            "{line}"
        );
        assert!(line.contains("rich-init-createRuntime.json"), "{line}");
    }
}
