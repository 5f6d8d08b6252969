//! Table-driven tests of `units::service`; each case cites the man page it follows.
