//! Backup engines (the real tools, the builtin engine, a user's command), the
//! mongodump on-disk formats, backup manifests and their verification.
//!
//! Every backup is found by one policy (`locate`), read by one reader
//! (`format`, opening only regular files inside the backup, with bounds on
//! every length, depth and size) and, for a `.tar.gz`, extracted by one
//! extractor (`extract`), whoever asks: restore, verify-backup or the
//! command engine.

pub mod builtin;
pub mod command;
pub mod engine;
pub mod extract;
pub mod format;
pub mod locate;
pub mod manifest;
pub mod select;
pub mod tools;
pub mod verify;

pub use engine::{
    BackupLocation, CollectionResult, DumpOutcome, DumpRequest, EngineChoice, EngineInfo, Layout, RestoreOutcome,
    RestoreRequest,
};
