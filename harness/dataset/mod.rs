//! Deterministic documents from (profile, seed, size), and seeding them into
//! a database in bounded memory. Owns the dataset profiles' model; does not
//! own connections or servers (callers pass a `mongodb::Database`).

mod error;
mod generate;
mod plan;
mod profile;
mod seed;

pub use error::DatasetError;
pub use generate::{EPOCH_MILLIS, documents, generate_document, left_out};
pub use plan::SeedPlan;
pub use profile::{CollectionProfile, CollectionSize, Generator, IndexKey, IndexSpec, Profile};
pub use seed::{CollectionSummary, IndexNotCreated, SeedOptions, SeedSummary, seed_database};
