//! Per-collection digests (count, MD5 over raw BSON in `_id` order, index
//! specifications) and typed comparisons between two deployments, or
//! between a deployment and a stored digest or sorted backup documents.
//! Streams: memory does not grow with collection size. Every read of user
//! data leaves out the drill's tick documents (see
//! [`crate::measure::ticks::is_tick_id`]). It does not render
//! anything (the CLI and reports do) and does not decide verdicts.
pub mod compare;
pub mod db_hash;
pub mod digest;
pub mod digest_comparison;
pub mod error;
pub mod indexes;
pub mod md5_digest;
pub mod merge_join;
pub mod order;

pub use compare::{CollectionComparison, CompareOptions, DatabaseComparison, compare_databases};
pub use db_hash::DbHashCheck;
pub use digest::{CollectionDigest, DatabaseDigest, DigestOptions, digest_collection, digest_database};
pub use digest_comparison::{CollectionDigestComparison, DigestComparison, compare_digests};
pub use error::ChecksumError;
pub use indexes::{IndexDifference, IndexSpec, diff_indexes};
pub use md5_digest::Md5Digest;
pub use merge_join::{DocumentDifferences, IdList, MergeError, Side, merge_join};
