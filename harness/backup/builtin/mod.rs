//! The harness's own backup engine: dumps and restores through the
//! mongodump on-disk formats without the MongoDB Database Tools, so drills
//! run where the tools are missing. Its dumps are restorable by the real
//! `mongorestore`, and it restores what the real `mongodump` wrote.
//!
//! It owns talking to the server for a dump or restore and finding backups
//! on disk; the bytes of the formats belong to [`crate::backup::format`].

mod connect;
pub mod digest;
mod dump;
mod error;
mod restore;
pub mod source;

pub use dump::{dump, engine_info};
pub use error::BuiltinError;
pub use restore::{index_for_create, restore, restore_stream};
pub use source::{OpenedBackup, locate_backup};
