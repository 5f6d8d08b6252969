//! rich-init's own option parser: a work-alike of what clap 4 did with our options, so that
//! every command line is accepted or refused, and reported, exactly as before.
//!
//! Its rules, clap's:
//! - `--long`, `--long=VALUE`, `--long VALUE`; no abbreviations. `-c`, clusters (`-vq`),
//!   `-rVALUE`, `-r=VALUE`, `-r VALUE`. A lone `-` is a word, not an option.
//! - The first word that is not an option, or everything after `--`, is CMD and its
//!   arguments, options or not.
//! - An option's value is read at once but checked later: at the next option, at CMD, or at
//!   the end. An unknown option (or a value given to a switch) is reported first, even when
//!   the option before it was missing its value.
//! - A switch or a single-valued option given twice is an error; `-v` and the lists repeat.
//! - `--help` and `--version` answer as soon as they are read (after checking the pending
//!   value); conflicts (`-c` with `--isolation`/`--forward-to`) are checked at the end.

use super::rich::{Cli, ForwardArg, IsolationArg};
use super::rich_opts::{by_long, by_short, Action, List, Opt, Single, Switch};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug)]
pub(super) enum Request {
    /// Run with these options; `Given` says which were on the command line.
    Run(Box<Cli>, Given),
    Help,
    Version,
}

/// The options given on the command line, in the order clap recorded them: where each
/// first appeared, except that a count moves to the end each time.
#[derive(Debug, Default)]
pub(super) struct Given(Vec<&'static Opt>);

impl Given {
    /// Whether the option with this id was on the command line.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|o| o.is(id))
    }

    fn has(&self, opt: &Opt) -> bool {
        self.0.iter().any(|o| o.long == opt.long)
    }

    /// The first option (in order) given with others it conflicts with, and those.
    fn conflict(&self) -> Option<ArgError> {
        self.0.iter().find_map(|opt| {
            let with: Vec<&'static Opt> = (self.0.iter().copied())
                .filter(|o| o.long != opt.long && opt.conflicts_with(o))
                .collect();
            (!with.is_empty()).then_some(ArgError::Conflict(opt, with))
        })
    }
}

/// Why a command line was refused; it displays as clap's message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ArgError {
    /// The option as written (`--bogus` without its `=VALUE`, `-x` for one letter).
    Unknown(String),
    /// A value given to an option that takes none (`--rich=1`).
    UnexpectedValue(&'static Opt, String),
    NoValue(&'static Opt),
    /// Not one of the option's words; an empty one reads as [`ArgError::NoValue`].
    InvalidValue(&'static Opt, String),
    InvalidUtf8,
    Repeated(&'static Opt),
    Conflict(&'static Opt, Vec<&'static Opt>),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Unknown(arg) => write!(f, "unexpected argument '{arg}' found"),
            ArgError::UnexpectedValue(opt, value) => write!(
                f,
                "unexpected value '{value}' for '{}' found; no more were expected",
                opt.display()
            ),
            ArgError::InvalidValue(opt, value) if !value.is_empty() => {
                write!(f, "invalid value '{value}' for '{}'", opt.display())
            }
            ArgError::NoValue(opt) | ArgError::InvalidValue(opt, _) => write!(
                f,
                "a value is required for '{}' but none was supplied",
                opt.display()
            ),
            ArgError::InvalidUtf8 => {
                write!(f, "invalid UTF-8 was detected in one or more arguments")
            }
            ArgError::Repeated(opt) => write!(
                f,
                "the argument '{}' cannot be used multiple times",
                opt.display()
            ),
            ArgError::Conflict(opt, with) => {
                write!(f, "the argument '{}' cannot be used with", opt.display())?;
                match with.as_slice() {
                    [one] => write!(f, " '{}'", one.display()),
                    many => {
                        write!(f, ":")?;
                        many.iter()
                            .try_for_each(|o| write!(f, "\n  {}", o.display()))
                    }
                }
            }
        }
    }
}

impl ArgError {
    /// The usage error's line: the message's first line (a word with a line break in it
    /// cuts it short, as it did clap's), then where to look.
    pub(super) fn usage_line(&self) -> String {
        let text = self.to_string();
        let first = text.lines().next().unwrap_or_default();
        format!("{first}; see rich-init --help")
    }
}

/// How clap's lexer sees one word.
enum Word<'a> {
    /// `--`
    Escape,
    /// `--NAME` or `--NAME=VALUE`
    Long(&'a [u8], Option<&'a [u8]>),
    /// `-abc`: the letters after the dash.
    Short(&'a [u8]),
    /// Anything else, a lone `-` included.
    Plain,
}

fn classify(word: &OsStr) -> Word<'_> {
    match word.as_bytes() {
        b"--" => Word::Escape,
        [b'-', b'-', rest @ ..] => {
            let mut parts = rest.splitn(2, |b| *b == b'=');
            Word::Long(parts.next().unwrap_or_default(), parts.next())
        }
        [b'-', rest @ ..] if !rest.is_empty() => Word::Short(rest),
        _ => Word::Plain,
    }
}

/// What reading an option led to.
enum Step {
    Next,
    Help,
    Version,
}

/// Parse the words after argv[0].
pub(super) fn parse(args: &[OsString]) -> Result<Request, ArgError> {
    let mut parser = Parser::default();
    for (at, word) in args.iter().enumerate() {
        let step = match classify(word) {
            Word::Long(name, value) => parser.long(name, value)?,
            Word::Short(letters) => parser.shorts(letters)?,
            Word::Plain if parser.waits_for_value() => parser.value(word),
            Word::Plain => return parser.finish(args.get(at..)),
            Word::Escape => return parser.finish(args.get(at + 1..)),
        };
        match step {
            Step::Next => {}
            Step::Help => return Ok(Request::Help),
            Step::Version => return Ok(Request::Version),
        }
    }
    parser.finish(None)
}

struct Parser {
    cli: Box<Cli>,
    given: Given,
    /// The option last read that takes a value, and its value once read: it is checked
    /// and stored by [`Parser::resolve`].
    pending: Option<(&'static Opt, Option<OsString>)>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            cli: Box::new(Cli::defaults(Vec::new())),
            given: Given::default(),
            pending: None,
        }
    }
}

impl Parser {
    /// CMD is `command` (what follows `--`, or the first word that is no option, and the
    /// rest); then the pending option is checked, then the conflicts.
    fn finish(mut self, command: Option<&[OsString]>) -> Result<Request, ArgError> {
        self.resolve()?;
        self.cli.command = command.unwrap_or_default().to_vec();
        match self.given.conflict() {
            Some(conflict) => Err(conflict),
            None => Ok(Request::Run(self.cli, self.given)),
        }
    }

    fn long(&mut self, name: &[u8], value: Option<&[u8]>) -> Result<Step, ArgError> {
        let lossy = || format!("--{}", String::from_utf8_lossy(name));
        let opt = std::str::from_utf8(name)
            .ok()
            .and_then(by_long)
            .ok_or_else(|| ArgError::Unknown(lossy()))?;
        match value {
            Some(v) if opt.takes_value() => self.react(opt, Some(os(v))),
            Some(v) => Err(ArgError::UnexpectedValue(
                opt,
                String::from_utf8_lossy(v).into_owned(),
            )),
            None if opt.takes_value() => self.expect(opt),
            None => self.react(opt, None),
        }
    }

    /// `-abc`: switches until one that takes a value, which takes the rest of the word (an
    /// `=` first is dropped) or, when nothing is left, the next word.
    fn shorts(&mut self, letters: &[u8]) -> Result<Step, ArgError> {
        let valid = letters.utf8_chunks().next().map_or("", |c| c.valid());
        for (at, c) in valid.char_indices() {
            let opt = by_short(c).ok_or_else(|| ArgError::Unknown(format!("-{c}")))?;
            if !opt.takes_value() {
                match self.react(opt, None)? {
                    Step::Next => continue,
                    answer => return Ok(answer),
                }
            }
            return match letters.get(at + c.len_utf8()..).unwrap_or_default() {
                [] => self.expect(opt),
                [b'=', value @ ..] | value => self.react(opt, Some(os(value))),
            };
        }
        match letters.get(valid.len()..) {
            Some(rest) if !rest.is_empty() => Err(ArgError::Unknown(format!(
                "-{}",
                String::from_utf8_lossy(rest)
            ))),
            _ => Ok(Step::Next),
        }
    }

    /// An option whose value is the next word.
    fn expect(&mut self, opt: &'static Opt) -> Result<Step, ArgError> {
        self.resolve()?;
        self.pending = Some((opt, None));
        Ok(Step::Next)
    }

    fn waits_for_value(&self) -> bool {
        matches!(self.pending, Some((_, None)))
    }

    fn value(&mut self, word: &OsStr) -> Step {
        if let Some((_, value @ None)) = &mut self.pending {
            *value = Some(word.to_os_string());
        }
        Step::Next
    }

    /// Check and store the pending option, if any.
    fn resolve(&mut self) -> Result<(), ArgError> {
        match self.pending.take() {
            Some((opt, value)) => self.react(opt, value).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Store an option given on the command line, after the pending one.
    fn react(&mut self, opt: &'static Opt, value: Option<OsString>) -> Result<Step, ArgError> {
        self.resolve()?;
        match (opt.action, value) {
            (Action::Help, _) => return Ok(Step::Help),
            (Action::Version, _) => return Ok(Step::Version),
            (Action::Single(..) | Action::List(..), None) => return Err(ArgError::NoValue(opt)),
            (Action::Count, _) => {
                self.given.0.retain(|o| o.long != opt.long);
                self.given.0.push(opt);
                self.cli.verbose = self.cli.verbose.saturating_add(1);
            }
            (Action::Switch(switch), _) => {
                self.once(opt)?;
                *switch_field(&mut self.cli, switch) = true;
            }
            (Action::Single(single, _), Some(value)) => {
                self.once(opt)?;
                store_single(&mut self.cli, single, opt, value)?;
            }
            (Action::List(list, _), Some(value)) => {
                if !self.given.has(opt) {
                    self.given.0.push(opt);
                }
                store_list(&mut self.cli, list, value)?;
            }
        }
        Ok(Step::Next)
    }

    /// Record an option that may be given once.
    fn once(&mut self, opt: &'static Opt) -> Result<(), ArgError> {
        if self.given.has(opt) {
            return Err(ArgError::Repeated(opt));
        }
        self.given.0.push(opt);
        Ok(())
    }
}

fn os(bytes: &[u8]) -> OsString {
    OsStr::from_bytes(bytes).to_os_string()
}

fn switch_field(cli: &mut Cli, switch: Switch) -> &mut bool {
    match switch {
        Switch::SingleChild => &mut cli.single_child,
        Switch::NoJobControl => &mut cli.no_job_control,
        Switch::NoTermOnExit => &mut cli.no_term_on_exit,
        Switch::Rich => &mut cli.rich,
        Switch::Systemd => &mut cli.systemd,
        Switch::WarnOnReap => &mut cli.warn_on_reap,
        Switch::Quiet => &mut cli.quiet,
    }
}

fn store_single(
    cli: &mut Cli,
    single: Single,
    opt: &'static Opt,
    value: OsString,
) -> Result<(), ArgError> {
    match single {
        Single::Isolation => cli.isolation = choice(opt, &value, IsolationArg::from_name)?,
        Single::ForwardTo => cli.forward_to = choice(opt, &value, ForwardArg::from_name)?,
        Single::ParentDeathSignal => cli.parent_death_signal = Some(text(value)?),
        Single::Grace => cli.grace = Some(text(value)?),
        Single::ServicesDir => cli.services_dir = Some(path(opt, value)?),
        Single::Services => cli.services = Some(text(value)?),
        Single::Initscript => cli.initscript = Some(path(opt, value)?),
        Single::InitDir => cli.init_dir = Some(path(opt, value)?),
        Single::StopDir => cli.stop_dir = Some(path(opt, value)?),
        Single::EnvFile => cli.env_file = Some(value),
        Single::ProfileHook => cli.profile_hook = Some(value),
        Single::OnCmdExit => cli.on_cmd_exit = Some(text(value)?),
        Single::StopCmd => cli.stop_cmd = Some(text(value)?),
        Single::CmdAfter => cli.cmd_after = Some(text(value)?),
        Single::ControlSocket => cli.control_socket = Some(value),
    }
    Ok(())
}

fn store_list(cli: &mut Cli, list: List, value: OsString) -> Result<(), ArgError> {
    let values = match list {
        List::Rewrite => &mut cli.rewrite,
        List::RemapExit => &mut cli.remap_exit,
    };
    values.push(text(value)?);
    Ok(())
}

/// A value that must be text.
fn text(value: OsString) -> Result<String, ArgError> {
    value.into_string().map_err(|_| ArgError::InvalidUtf8)
}

/// A path: anything but empty.
fn path(opt: &'static Opt, value: OsString) -> Result<PathBuf, ArgError> {
    if value.is_empty() {
        return Err(ArgError::NoValue(opt));
    }
    Ok(PathBuf::from(value))
}

/// One of the option's words, exactly as written.
fn choice<T>(
    opt: &'static Opt,
    value: &OsStr,
    from_name: fn(&str, bool) -> Option<T>,
) -> Result<T, ArgError> {
    let invalid = |text: String| ArgError::InvalidValue(opt, text);
    let text = value
        .to_str()
        .ok_or_else(|| invalid(value.to_string_lossy().into_owned()))?;
    from_name(text, false).ok_or_else(|| invalid(text.to_string()))
}

#[cfg(test)]
#[path = "rich_args_cases.rs"]
mod cases;
#[cfg(test)]
#[path = "rich_args_tests.rs"]
mod tests;
