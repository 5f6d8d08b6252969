//! journalctl's (systemd v252) option tables and our help text, for `journalctl.rs`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    No,
    Required,
    Optional,
}

/// Every long option of journalctl v252, so that abbreviations resolve (and clash) as there.
pub const LONGS: &[(&str, Arg, char)] = &[
    ("help", Arg::No, 'h'),
    ("version", Arg::No, 'V'),
    ("no-pager", Arg::No, 'P'),
    ("pager-end", Arg::No, 'e'),
    ("follow", Arg::No, 'f'),
    ("force", Arg::No, '-'),
    ("output", Arg::Required, 'o'),
    ("all", Arg::No, 'a'),
    ("full", Arg::No, 'l'),
    ("no-full", Arg::No, 'L'),
    ("lines", Arg::Optional, 'n'),
    ("no-tail", Arg::No, 'T'),
    ("new-id128", Arg::No, '-'),
    ("quiet", Arg::No, 'q'),
    ("merge", Arg::No, 'm'),
    ("this-boot", Arg::No, 'B'),
    ("boot", Arg::Optional, 'b'),
    ("list-boots", Arg::No, '-'),
    ("dmesg", Arg::No, 'k'),
    ("system", Arg::No, 'Y'),
    ("user", Arg::No, '-'),
    ("directory", Arg::Required, 'D'),
    ("file", Arg::Required, '-'),
    ("root", Arg::Required, '-'),
    ("image", Arg::Required, '-'),
    ("header", Arg::No, '-'),
    ("identifier", Arg::Required, 't'),
    ("priority", Arg::Required, 'p'),
    ("facility", Arg::Required, '-'),
    ("grep", Arg::Required, 'g'),
    ("case-sensitive", Arg::Optional, '-'),
    ("setup-keys", Arg::No, '-'),
    ("interval", Arg::Required, '-'),
    ("verify", Arg::No, '-'),
    ("verify-key", Arg::Required, '-'),
    ("disk-usage", Arg::No, '-'),
    ("cursor", Arg::Required, 'c'),
    ("cursor-file", Arg::Required, '-'),
    ("after-cursor", Arg::Required, '-'),
    ("show-cursor", Arg::No, '-'),
    ("since", Arg::Required, 'S'),
    ("until", Arg::Required, 'U'),
    ("unit", Arg::Required, 'u'),
    ("user-unit", Arg::Required, '-'),
    ("field", Arg::Required, 'F'),
    ("fields", Arg::No, 'N'),
    ("catalog", Arg::No, 'x'),
    ("list-catalog", Arg::No, '-'),
    ("dump-catalog", Arg::No, '-'),
    ("update-catalog", Arg::No, '-'),
    ("reverse", Arg::No, 'r'),
    ("machine", Arg::Required, 'M'),
    ("utc", Arg::No, 'Z'),
    ("flush", Arg::No, '-'),
    ("relinquish-var", Arg::No, '-'),
    ("smart-relinquish-var", Arg::No, '-'),
    ("sync", Arg::No, '-'),
    ("rotate", Arg::No, '-'),
    ("vacuum-size", Arg::Required, '-'),
    ("vacuum-files", Arg::Required, '-'),
    ("vacuum-time", Arg::Required, '-'),
    ("no-hostname", Arg::No, 'H'),
    ("output-fields", Arg::Required, '-'),
    ("namespace", Arg::Required, '-'),
];

/// journalctl's short options (`hefo:aln::qmb::kD:p:g:c:S:U:t:u:NF:xrM:`).
pub const SHORTS: &[(char, Arg)] = &[
    ('h', Arg::No),
    ('e', Arg::No),
    ('f', Arg::No),
    ('o', Arg::Required),
    ('a', Arg::No),
    ('l', Arg::No),
    ('n', Arg::Optional),
    ('q', Arg::No),
    ('m', Arg::No),
    ('b', Arg::Optional),
    ('k', Arg::No),
    ('D', Arg::Required),
    ('p', Arg::Required),
    ('g', Arg::Required),
    ('c', Arg::Required),
    ('S', Arg::Required),
    ('U', Arg::Required),
    ('t', Arg::Required),
    ('u', Arg::Required),
    ('N', Arg::No),
    ('F', Arg::Required),
    ('x', Arg::No),
    ('r', Arg::No),
    ('M', Arg::Required),
];

pub const HELP: &str = "\
journalctl [OPTIONS...]

Query the journal (rich-init: the recent output of each unit, kept in memory).

  -u --unit=UNIT             Show logs from the specified unit
  -t --identifier=STRING     Show entries with the specified syslog identifier
  -b --boot                  Show current boot (the only one)
  -n --lines[=INTEGER]       Number of journal entries to show
  -e --pager-end             Show the last 1000 entries
  -f --follow                Follow the journal
     --no-tail               Show all lines, even in follow mode
  -r --reverse               Show the newest entries first
  -o --output=STRING         Change journal output mode (short, cat)
     --utc                   Express time in UTC (always the case here)
     --no-hostname           Suppress output of hostname field
  -a --all                   Show all fields, including unprintable
  -x --catalog               Accepted, no effect
  -q --quiet                 Do not show info messages
     --no-pager              Accepted: output is never paged
  -h --help                  Show this help text
     --version               Show package version
";
