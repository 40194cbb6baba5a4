//! One integration-test binary (STYLE.md): every file here is a module that
//! shares [`ctx`], which starts real servers and cleans them up.

mod builtin;
mod checksum;
mod cli;
mod containers;
mod ctx;
mod dataset;
mod drills;
mod engines;
mod external;
mod format;
mod history;
mod hostile;
mod kube;
mod lint;
mod managed;
mod messages;
mod probes;
mod provider;
mod reports;
mod retention;
mod scenario;
mod secrets;
mod stores;
