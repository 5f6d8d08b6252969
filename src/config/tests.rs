//! Table-driven tests of service files and of loading a directory.
