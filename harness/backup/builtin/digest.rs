//! The per-collection digest of a backup: count, bytes, and the MD5 over the
//! raw documents in ascending `_id` order (the checksum definition of
//! `shared/spec/drill-semantics.md`). A builtin dump is already in `_id`
//! order, so the digest streams; a dump by the real tools is in natural
//! order, so its documents are sorted by an external merge sort: kept in
//! memory up to a [`SortBudget`] shared by every digest of one
//! verification, then written as sorted runs to anonymous temporary files
//! (removed by the system when closed, even on a crash) and merged. Memory
//! is the budget plus one buffered reader per run, whatever the backup's
//! size; the MD5 is the one a stable in-memory sort would give.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use bson::{RawBson, RawDocument, RawDocumentBuf};
use md5::{Digest, Md5};

use crate::backup::format::{BsonStream, Origin};
use crate::checksum::order::compare_values;

/// Bytes of documents all the digests of one verification keep in memory
/// together before the largest pusher spills a sorted run to disk (64 MiB:
/// with the merge's buffers and the reader, peak RSS stays under 150 MB).
pub const SORT_MEMORY_BOUND: u64 = 64 * 1024 * 1024;

/// Memory shared by the spilling digests of one verification, and the
/// folder their runs go to.
#[derive(Debug, Clone)]
pub struct SortBudget {
    /// Bytes currently kept in memory by all digests sharing the budget.
    held: Arc<AtomicU64>,
    /// The most bytes they may keep before one spills.
    limit: u64,
    /// Where sorted runs are written (as anonymous files).
    folder: PathBuf,
}

impl SortBudget {
    /// A budget of `limit` bytes, spilling into `folder`.
    pub fn new(limit: u64, folder: impl Into<PathBuf>) -> Self {
        Self {
            held: Arc::new(AtomicU64::new(0)),
            limit,
            folder: folder.into(),
        }
    }

    /// Bytes kept in memory right now by the digests sharing this budget.
    pub fn held(&self) -> u64 {
        self.held.load(AtomicOrdering::Relaxed)
    }
}

/// How a digest keeps documents for sorting.
#[derive(Debug)]
enum Keeping {
    /// In memory up to a bound, then gives up with a reason.
    Memory(u64),
    /// In memory within a shared budget, spilling sorted runs beyond it.
    Spill {
        /// The shared budget.
        budget: SortBudget,
        /// Sorted runs written so far, in input order.
        runs: Vec<File>,
    },
}

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
    /// Documents kept for sorting; `None` once the bound is passed or a
    /// spill failed.
    kept: Option<Vec<RawDocumentBuf>>,
    /// Bytes in `kept`, counted against a shared budget.
    kept_bytes: u64,
    /// Where kept documents go beyond memory.
    keeping: Keeping,
    /// Why sorting became impossible (a spill failed), if it did.
    sort_failure: Option<String>,
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
        Self::keeping(Keeping::Memory(bound))
    }

    /// A digest that sorts any amount of input, in memory within `budget`
    /// and by merging sorted runs spilled to its folder beyond it.
    pub fn spilling(budget: &SortBudget) -> Self {
        Self::keeping(Keeping::Spill {
            budget: budget.clone(),
            runs: Vec::new(),
        })
    }

    fn keeping(keeping: Keeping) -> Self {
        Self {
            count: 0,
            bytes: 0,
            streaming: Md5::new(),
            last_id: None,
            in_order: true,
            kept: Some(Vec::new()),
            kept_bytes: 0,
            keeping,
            sort_failure: None,
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
        let Some(kept) = self.kept.as_mut() else {
            return;
        };
        match &self.keeping {
            Keeping::Memory(bound) => {
                if self.bytes <= *bound {
                    kept.push(document.to_owned());
                } else {
                    self.kept = None;
                }
            }
            Keeping::Spill { budget, .. } => {
                kept.push(document.to_owned());
                self.kept_bytes += bytes.len() as u64;
                let held = budget.held.fetch_add(bytes.len() as u64, AtomicOrdering::Relaxed) + bytes.len() as u64;
                if held > budget.limit {
                    self.spill();
                }
            }
        }
    }

    /// Sorts the kept documents and writes them as one run, freeing their
    /// memory; a failure (full disk) ends sorting with its reason.
    fn spill(&mut self) {
        let Keeping::Spill { budget, runs } = &mut self.keeping else {
            return;
        };
        let Some(mut kept) = self.kept.take() else {
            return;
        };
        budget.held.fetch_sub(self.kept_bytes, AtomicOrdering::Relaxed);
        self.kept_bytes = 0;
        kept.sort_by(|left, right| compare_ids(left, right));
        match write_run(&kept, budget) {
            Ok(run) => {
                runs.push(run);
                kept.clear();
                self.kept = Some(kept);
            }
            Err(error) => {
                self.sort_failure = Some(format!(
                    "documents are not in _id order and a sorted run could not be written to {} ({error})",
                    budget.folder.display()
                ));
            }
        }
    }

    /// Documents fed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The result.
    pub fn finish(mut self) -> DigestResult {
        let kept = self.kept.take();
        if let Keeping::Spill { budget, .. } = &self.keeping {
            budget.held.fetch_sub(self.kept_bytes, AtomicOrdering::Relaxed);
            self.kept_bytes = 0;
        }
        let streaming = std::mem::take(&mut self.streaming);
        let (md5, md5_unavailable) = if self.in_order {
            (Some(hex::encode(streaming.finalize())), None)
        } else if self.missing_id {
            (None, Some("a document has no _id, so there is no _id order".to_owned()))
        } else if let Some(failure) = self.sort_failure.take() {
            (None, Some(failure))
        } else if let Some(mut kept) = kept {
            kept.sort_by(|left, right| compare_ids(left, right));
            let runs = match &mut self.keeping {
                Keeping::Spill { runs, .. } => std::mem::take(runs),
                Keeping::Memory(_) => Vec::new(),
            };
            match merge_md5(runs, kept) {
                Ok(md5) => (Some(md5), None),
                Err(error) => (None, Some(format!("the sorted runs could not be read back ({error})"))),
            }
        } else {
            let bound = match self.keeping {
                Keeping::Memory(bound) => bound,
                Keeping::Spill { .. } => 0,
            };
            (
                None,
                Some(format!(
                    "documents are not in _id order and hold {} bytes, more than the {} sorted in memory",
                    self.bytes, bound
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

impl Drop for IdOrderDigest {
    fn drop(&mut self) {
        // A digest dropped unfinished (an error part-way) gives its share back.
        if let Keeping::Spill { budget, .. } = &self.keeping {
            budget.held.fetch_sub(self.kept_bytes, AtomicOrdering::Relaxed);
        }
    }
}

/// Writes sorted documents to an anonymous file in the budget's folder
/// (unlinked at once, so it disappears when closed) and rewinds it.
fn write_run(documents: &[RawDocumentBuf], budget: &SortBudget) -> std::io::Result<File> {
    let mut writer = BufWriter::with_capacity(256 * 1024, tempfile::tempfile_in(&budget.folder)?);
    for document in documents {
        writer.write_all(document.as_bytes())?;
    }
    let mut file = writer.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    file.rewind()?;
    Ok(file)
}

/// One run's next document in the merge; the heap pops the smallest `_id`,
/// the earlier run on ties, so the merge is as stable as one sort.
struct Head {
    document: RawDocumentBuf,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap.
        compare_ids(&other.document, &self.document).then(other.run.cmp(&self.run))
    }
}

/// The MD5 of the merge of the spilled runs and the last, in-memory one.
fn merge_md5(runs: Vec<File>, last: Vec<RawDocumentBuf>) -> Result<String, crate::backup::format::FormatError> {
    let mut sources: Vec<Box<dyn Iterator<Item = Result<RawDocumentBuf, _>>>> = runs
        .into_iter()
        .map(|file| {
            let stream = BsonStream::new(BufReader::with_capacity(64 * 1024, file), Origin::default());
            Box::new(stream.map(|item| item.map(|streamed| streamed.document))) as Box<dyn Iterator<Item = _>>
        })
        .collect();
    sources.push(Box::new(last.into_iter().map(Ok)));
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (run, source) in sources.iter_mut().enumerate() {
        if let Some(document) = source.next().transpose()? {
            heap.push(Head { document, run });
        }
    }
    let mut hasher = Md5::new();
    while let Some(Head { document, run }) = heap.pop() {
        hasher.update(document.as_bytes());
        if let Some(next) = sources[run].next().transpose()? {
            heap.push(Head { document: next, run });
        }
    }
    Ok(hex::encode(hasher.finalize()))
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
    fn spilled_runs_merge_to_the_md5_of_one_stable_sort() {
        let folder = tempfile::tempdir().unwrap();
        // 300 bytes of budget: a run every few documents, with duplicate `_id`s
        // whose input order the sort keeps.
        let budget = SortBudget::new(300, folder.path());
        let documents: Vec<RawDocumentBuf> = (0..200)
            .rev()
            .map(|index| rawdoc! { "_id": index / 3, "copy": index % 3, "text": "0123456789" })
            .collect();
        let mut expected = documents.clone();
        expected.sort_by(|left, right| compare_ids(left, right));
        let mut spilling = IdOrderDigest::spilling(&budget);
        let mut other = IdOrderDigest::spilling(&budget);
        for document in &documents {
            spilling.update(document);
            other.update(document);
        }
        assert!(budget.held() <= 300 + 2 * 60, "{}", budget.held());
        assert_eq!(spilling.finish().md5, Some(md5_of(&expected)));
        drop(other);
        assert_eq!(budget.held(), 0);
        // The runs are anonymous files: nothing is left in the folder.
        assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0);
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
