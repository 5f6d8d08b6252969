//! rich-init: a static pid 1 for rich containers.

pub mod cli;
pub mod clients;
pub mod config;
pub mod control;
pub mod ctl;
pub mod envfile;
pub mod error;
pub mod init;
pub mod logging;
pub mod logsink;
pub mod oci;
pub mod procs;
pub mod scripts;
pub mod signame;
pub mod sort;
pub mod supervisor;
pub mod sys;
pub mod systemctl;
pub mod units;
pub mod upgrade;
pub mod wait_status;
