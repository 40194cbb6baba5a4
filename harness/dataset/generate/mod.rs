//! Document generation: one generator per kind of collection, sharing a
//! per-document random generator and the names documents use to refer to
//! each other.

mod audit_log;
mod configurations;
mod document;
mod environments;
mod feature_flags;
mod names;
mod random;
mod services;
mod users;

pub use document::{documents, generate_document, left_out};
pub use random::EPOCH_MILLIS;
