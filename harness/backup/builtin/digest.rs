//! The per-collection digest of a backup: count, bytes, and the MD5 over the
//! raw documents in ascending `_id` order (the checksum definition of
//! `shared/spec/drill-semantics.md`). A builtin dump is already in `_id`
//! order, so the digest streams; a dump by the real tools is in natural
//! order, so its documents are kept in memory up to a bound and sorted.

use std::cmp::Ordering;

use bson::{RawBson, RawDocument, RawDocumentBuf};
use md5::{Digest, Md5};

use crate::checksum::order::compare_values;

/// Documents of one collection kept in memory to sort them when they are
/// not in `_id` order (256 MiB).
pub const SORT_MEMORY_BOUND: u64 = 256 * 1024 * 1024;

/// What a digest found: always the count and bytes, the MD5 when it could
/// be computed in `_id` order, otherwise the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestResult {
    /// Documents seen.
    pub count: u64,
    /// Raw BSON bytes seen.
    pub bytes: u64,
    /// MD5 in ascending `_id` order, hex.
    pub md5: Option<String>,
    /// Why `md5` is `None`.
    pub md5_unavailable: Option<String>,
}

/// Computes a [`DigestResult`] from documents fed one at a time.
pub struct IdOrderDigest {
    /// Documents seen.
    count: u64,
    /// Raw bytes seen.
    bytes: u64,
    /// MD5 of the documents in the order fed; it is the answer while that
    /// order is ascending by `_id`.
    streaming: Md5,
    /// The last `_id` fed, to detect a stream that is not sorted.
    last_id: Option<RawBson>,
    /// Whether every `_id` so far was larger than the one before.
    in_order: bool,
    /// Documents kept for sorting; `None` once the bound is passed.
    kept: Option<Vec<RawDocumentBuf>>,
    /// Bytes the digest may keep.
    bound: u64,
    /// A document without `_id` makes the order undefined.
    missing_id: bool,
}

impl std::fmt::Debug for IdOrderDigest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IdOrderDigest")
            .field("count", &self.count)
            .field("in_order", &self.in_order)
            .finish()
    }
}

impl Default for IdOrderDigest {
    fn default() -> Self {
        Self::streaming_only()
    }
}

impl IdOrderDigest {
    /// A digest that sorts in memory up to `bound` bytes when the input is
    /// not in `_id` order.
    pub fn with_sort_bound(bound: u64) -> Self {
        Self {
            count: 0,
            bytes: 0,
            streaming: Md5::new(),
            last_id: None,
            in_order: true,
            kept: Some(Vec::new()),
            bound,
            missing_id: false,
        }
    }

    /// A digest for input known to be in `_id` order (a builtin dump):
    /// keeps nothing, and reports no MD5 if the order turns out wrong.
    pub fn streaming_only() -> Self {
        let mut digest = Self::with_sort_bound(0);
        digest.kept = None;
        digest
    }

    /// Feeds one document.
    pub fn update(&mut self, document: &RawDocument) {
        let bytes = document.as_bytes();
        self.count += 1;
        self.bytes += bytes.len() as u64;
        self.streaming.update(bytes);
        match document.get("_id").ok().flatten() {
            Some(id) => {
                if self.in_order
                    && let Some(last) = &self.last_id
                    && compare_values(last.as_raw_bson_ref(), id) != Ordering::Less
                {
                    self.in_order = false;
                }
                self.last_id = Some(RawBson::from(id));
            }
            None => {
                self.missing_id = true;
                self.in_order = false;
            }
        }
        if let Some(kept) = self.kept.as_mut() {
            if self.bytes <= self.bound {
                kept.push(document.to_owned());
            } else {
                self.kept = None;
            }
        }
    }

    /// Documents fed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The result.
    pub fn finish(self) -> DigestResult {
        let (md5, md5_unavailable) = if self.in_order {
            (Some(hex::encode(self.streaming.finalize())), None)
        } else if self.missing_id {
            (None, Some("a document has no _id, so there is no _id order".to_owned()))
        } else if let Some(mut kept) = self.kept {
            kept.sort_by(|left, right| compare_ids(left, right));
            let mut sorted = Md5::new();
            for document in &kept {
                sorted.update(document.as_bytes());
            }
            (Some(hex::encode(sorted.finalize())), None)
        } else {
            (
                None,
                Some(format!(
                    "documents are not in _id order and hold {} bytes, more than the {} sorted in memory",
                    self.bytes, self.bound
                )),
            )
        };
        DigestResult {
            count: self.count,
            bytes: self.bytes,
            md5,
            md5_unavailable,
        }
    }
}

fn compare_ids(left: &RawDocument, right: &RawDocument) -> Ordering {
    match (left.get("_id").ok().flatten(), right.get("_id").ok().flatten()) {
        (Some(left), Some(right)) => compare_values(left, right),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The `_id` of a raw document, as extended JSON for messages.
pub fn describe_id(document: &RawDocument) -> String {
    match document.get("_id").ok().flatten() {
        Some(id) => match bson::Bson::try_from(id) {
            Ok(value) => value.to_string(),
            Err(_) => "(unreadable)".to_owned(),
        },
        None => "(none)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use bson::rawdoc;

    use super::*;

    fn md5_of(documents: &[RawDocumentBuf]) -> String {
        let mut hasher = Md5::new();
        for document in documents {
            hasher.update(document.as_bytes());
        }
        hex::encode(hasher.finalize())
    }

    #[test]
    fn sorted_input_streams_and_unsorted_input_is_sorted_in_memory() {
        let sorted = vec![
            rawdoc! { "_id": 1, "a": "x" },
            rawdoc! { "_id": 2 },
            rawdoc! { "_id": "s" },
        ];
        let expected = md5_of(&sorted);
        let mut streaming = IdOrderDigest::streaming_only();
        for document in &sorted {
            streaming.update(document);
        }
        let result = streaming.finish();
        assert_eq!(result.md5.as_deref(), Some(expected.as_str()));
        assert_eq!(result.count, 3);

        let mut bounded = IdOrderDigest::with_sort_bound(SORT_MEMORY_BOUND);
        for document in [&sorted[2], &sorted[0], &sorted[1]] {
            bounded.update(document);
        }
        assert_eq!(bounded.finish().md5.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn unsorted_input_over_the_bound_gives_the_reason() {
        let mut digest = IdOrderDigest::with_sort_bound(20);
        for id in [3, 1, 2] {
            digest.update(&rawdoc! { "_id": id, "padding": "0123456789" });
        }
        let result = digest.finish();
        assert_eq!(result.md5, None);
        assert_eq!(
            result.md5_unavailable.as_deref(),
            Some("documents are not in _id order and hold 114 bytes, more than the 20 sorted in memory")
        );
        assert_eq!(describe_id(&rawdoc! { "_id": "k" }), "\"k\"");
    }
}
