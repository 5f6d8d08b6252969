//! Pure state machines: (event, now) -> actions; no syscalls here.

pub mod backoff;
pub mod fleet;
pub mod order;
pub mod service;
pub mod unit;
