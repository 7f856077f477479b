#![forbid(unsafe_code)]
//! `kmem-campaign`: what a fuzzing campaign of `scripts/fuzz` leaves behind, read back.
//!
//! - [`status`]: libFuzzer's status lines and final statistics;
//! - [`record`]: the campaign's record (per target, per sampling interval: executions, their
//!   rate, coverage, features, corpus size, crash inputs), built from the raw files the
//!   script writes and kept as `campaign.json`;
//! - [`report`]: the Markdown report and the CI step summary;
//! - [`plot`]: coverage and exec/s against time, one line per target, as SVG;
//! - [`compare`]: two campaigns side by side.
//!
//! `kmemfuzz campaign record|report|compare|merge` runs them ([`commands`]); see
//! docs/fuzzing.md.

pub mod commands;
pub mod compare;
pub mod plot;
pub mod record;
pub mod report;
pub mod status;

pub use record::{Campaign, Finding, Sample, TargetRecord};
