//! Backup engines (the real tools, the builtin engine, a user's command), the
//! mongodump on-disk formats, backup manifests and their verification.

pub mod format;
