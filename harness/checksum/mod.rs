//! Per-collection digests (count, MD5 over raw BSON in `_id` order, index
//! specifications) and typed comparisons between two deployments. Streams:
//! memory does not grow with collection size.
pub mod order;
