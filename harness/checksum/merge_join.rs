//! The document-by-document comparison of two `_id`-sorted streams: a
//! merge-join in MongoDB's `_id` order ([`order::compare_values`]), one
//! document of each side in memory at a time (plus the previous one, to
//! check the order). Generic over the streams, so a live collection can be
//! compared with another server or with the documents of a backup file.
//! A synchronous iterator becomes a stream with
//! `futures_util::stream::iter`.
//!
//! [`order::compare_values`]: crate::checksum::order::compare_values

use std::cmp::Ordering;
use std::error::Error as StdError;
use std::pin::pin;

use bson::{Bson, RawBsonRef, RawDocument, RawDocumentBuf};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::checksum::order::compare_values;
use crate::progress::ProgressSink;

/// `_id`s of one kind of difference: the first few, and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdList {
    /// How many documents differ this way.
    pub total: u64,
    /// The `_id`s of the first of them, in `_id` order, at most the bound
    /// the comparison was given.
    pub ids: Vec<Bson>,
}

impl IdList {
    /// Counts one more `_id`, keeping it if fewer than `max_ids` are kept.
    /// The conversion to an owned value runs only when the `_id` is kept.
    fn record(&mut self, id: RawBsonRef<'_>, max_ids: usize) -> Result<(), bson::error::Error> {
        self.total += 1;
        if self.ids.len() < max_ids {
            self.ids.push(Bson::try_from(id)?);
        }
        Ok(())
    }

    /// True when nothing differs this way.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// Which stream of a merge-join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The reference side (the source, or the backup).
    Source,
    /// The side checked against it (the restored or failed-over data).
    Target,
}

impl std::fmt::Display for Side {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Source => "source",
            Self::Target => "target",
        })
    }
}

/// Why a merge-join stopped.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A stream returned an error.
    #[error("reading the {side} failed after {offset} documents")]
    Read {
        /// The stream that failed.
        side: Side,
        /// Documents read from it before the failure.
        offset: u64,
        /// The stream's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A document has no readable `_id`, so it cannot be placed.
    #[error("document {offset} of the {side} has no readable _id")]
    NoId {
        /// The stream.
        side: Side,
        /// The document's position, from 0.
        offset: u64,
    },
    /// A stream is not in strictly ascending `_id` order (in MongoDB's
    /// order), so the merge would report false differences.
    #[error("the {side} is not sorted by _id: {next} follows {previous} at document {offset}")]
    OutOfOrder {
        /// The stream.
        side: Side,
        /// The position of the offending document, from 0.
        offset: u64,
        /// The `_id` before, as shell-like text.
        previous: String,
        /// The offending `_id`, as shell-like text.
        next: String,
    },
    /// An `_id` to report could not be converted to a BSON value.
    #[error("an _id of the {side} cannot be decoded")]
    BadId {
        /// The stream.
        side: Side,
        /// The decoding error.
        #[source]
        source: bson::error::Error,
    },
}

/// The outcome of a merge-join.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentDifferences {
    /// Documents of the source with no document of that `_id` in the target.
    pub missing: IdList,
    /// Documents of the target with no document of that `_id` in the source.
    pub extra: IdList,
    /// `_id`s on both sides whose documents differ in any byte.
    pub changed: IdList,
    /// Documents read from the source.
    pub source_count: u64,
    /// Documents read from the target.
    pub target_count: u64,
}

impl DocumentDifferences {
    /// True when both streams held the same documents, byte for byte.
    pub fn is_identical(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty()
    }
}

/// One side of the merge: the current document and the one before it.
struct Cursor<S> {
    stream: S,
    side: Side,
    /// Documents read so far.
    read: u64,
    /// The document under the merge's head, `None` once the stream ended.
    current: Option<RawDocumentBuf>,
    /// The document before `current`, kept to check the order; holding it
    /// avoids copying each `_id`.
    previous: Option<RawDocumentBuf>,
}

fn id_of(document: &RawDocument, side: Side, offset: u64) -> Result<RawBsonRef<'_>, MergeError> {
    match document.get("_id") {
        Ok(Some(id)) => Ok(id),
        _ => Err(MergeError::NoId { side, offset }),
    }
}

fn show(id: RawBsonRef<'_>) -> String {
    Bson::try_from(id).map_or_else(|_| format!("{id:?}"), |value| value.to_string())
}

impl<S, E> Cursor<S>
where
    S: Stream<Item = Result<RawDocumentBuf, E>> + Unpin,
    E: StdError + Send + Sync + 'static,
{
    fn new(stream: S, side: Side) -> Self {
        Self {
            stream,
            side,
            read: 0,
            current: None,
            previous: None,
        }
    }

    /// Moves to the next document, checking it has an `_id` greater than
    /// the previous one.
    async fn advance(&mut self) -> Result<(), MergeError> {
        self.previous = self.current.take();
        let Some(item) = self.stream.next().await else {
            return Ok(());
        };
        let document = item.map_err(|source| MergeError::Read {
            side: self.side,
            offset: self.read,
            source: Box::new(source),
        })?;
        let id = id_of(&document, self.side, self.read)?;
        if let Some(previous) = &self.previous {
            let previous_id = id_of(previous, self.side, self.read - 1)?;
            if compare_values(previous_id, id) != Ordering::Less {
                return Err(MergeError::OutOfOrder {
                    side: self.side,
                    offset: self.read,
                    previous: show(previous_id),
                    next: show(id),
                });
            }
        }
        self.read += 1;
        self.current = Some(document);
        Ok(())
    }
}

/// How often (in source documents) the merge reports progress.
const PROGRESS_EVERY: u64 = 1000;

/// Compares two streams of documents sorted by ascending `_id` (MongoDB's
/// order, as `find().sort({_id: 1})` returns them): documents only in the
/// source are `missing`, only in the target `extra`, on both sides with
/// different bytes `changed`. Each list keeps the first `max_ids` `_id`s
/// and counts all. A stream out of order is an error, never a silent
/// false report.
pub async fn merge_join<S, T, E, F>(
    source: S,
    target: T,
    max_ids: usize,
    progress: &dyn ProgressSink,
) -> Result<DocumentDifferences, MergeError>
where
    S: Stream<Item = Result<RawDocumentBuf, E>>,
    T: Stream<Item = Result<RawDocumentBuf, F>>,
    E: StdError + Send + Sync + 'static,
    F: StdError + Send + Sync + 'static,
{
    let (source, target) = (pin!(source), pin!(target));
    let mut source = Cursor::new(source, Side::Source);
    let mut target = Cursor::new(target, Side::Target);
    let mut differences = DocumentDifferences::default();
    source.advance().await?;
    target.advance().await?;
    let mut reported = 0;
    loop {
        let order = match (&source.current, &target.current) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(left), Some(right)) => {
                let left_id = id_of(left, Side::Source, source.read - 1)?;
                let right_id = id_of(right, Side::Target, target.read - 1)?;
                match compare_values(left_id, right_id) {
                    Ordering::Equal if left.as_bytes() != right.as_bytes() => {
                        record(&mut differences.changed, left_id, max_ids, Side::Source)?;
                        Ordering::Equal
                    }
                    order => order,
                }
            }
        };
        // `record` above and below only reads; the borrows end here, before
        // the cursors move.
        match order {
            Ordering::Less => only_on_one_side(&mut source, &mut differences.missing, max_ids).await?,
            Ordering::Greater => only_on_one_side(&mut target, &mut differences.extra, max_ids).await?,
            Ordering::Equal => {
                source.advance().await?;
                target.advance().await?;
            }
        }
        if source.read - reported >= PROGRESS_EVERY {
            progress.advance(source.read - reported);
            reported = source.read;
        }
    }
    progress.advance(source.read - reported);
    differences.source_count = source.read;
    differences.target_count = target.read;
    Ok(differences)
}

/// A document only `cursor`'s side has: its `_id` goes to `list`, and that
/// side moves on.
async fn only_on_one_side<S, E>(cursor: &mut Cursor<S>, list: &mut IdList, max_ids: usize) -> Result<(), MergeError>
where
    S: Stream<Item = Result<RawDocumentBuf, E>> + Unpin,
    E: StdError + Send + Sync + 'static,
{
    if let Some(document) = &cursor.current {
        record(list, id_of(document, cursor.side, 0)?, max_ids, cursor.side)?;
    }
    cursor.advance().await
}

fn record(list: &mut IdList, id: RawBsonRef<'_>, max_ids: usize, side: Side) -> Result<(), MergeError> {
    list.record(id, max_ids)
        .map_err(|source| MergeError::BadId { side, source })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bson::oid::ObjectId;
    use bson::{doc, rawdoc};
    use futures_util::stream;

    use super::*;
    use crate::progress::NoProgress;

    fn documents(items: Vec<RawDocumentBuf>) -> impl Stream<Item = Result<RawDocumentBuf, Infallible>> {
        stream::iter(items.into_iter().map(Ok))
    }

    async fn join(source: Vec<RawDocumentBuf>, target: Vec<RawDocumentBuf>, max_ids: usize) -> DocumentDifferences {
        merge_join(documents(source), documents(target), max_ids, &NoProgress)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn identical_streams_have_no_differences() {
        let items = vec![rawdoc! {"_id": 1, "a": 1}, rawdoc! {"_id": 2, "a": 2}];
        let differences = join(items.clone(), items, 20).await;
        assert!(differences.is_identical());
        assert_eq!((differences.source_count, differences.target_count), (2, 2));
    }

    #[tokio::test]
    async fn missing_extra_and_changed_are_named() {
        let source = vec![
            rawdoc! {"_id": 1, "v": "a"},
            rawdoc! {"_id": 2, "v": "b"},
            rawdoc! {"_id": 4, "v": "d"},
        ];
        let target = vec![
            rawdoc! {"_id": 1, "v": "a"},
            rawdoc! {"_id": 3, "v": "c"},
            rawdoc! {"_id": 4, "v": "D"},
            rawdoc! {"_id": 5, "v": "e"},
        ];
        let differences = join(source, target, 20).await;
        assert_eq!(differences.missing.ids, vec![Bson::Int32(2)]);
        assert_eq!(differences.extra.ids, vec![Bson::Int32(3), Bson::Int32(5)]);
        assert_eq!(differences.changed.ids, vec![Bson::Int32(4)]);
        assert_eq!(
            (
                differences.missing.total,
                differences.extra.total,
                differences.changed.total
            ),
            (1, 2, 1)
        );
        assert!(!differences.is_identical());
    }

    #[tokio::test]
    async fn same_value_different_number_type_is_changed_not_missing() {
        let differences = join(
            vec![rawdoc! {"_id": 1, "n": 1}],
            vec![rawdoc! {"_id": 1_i64, "n": 1}],
            20,
        )
        .await;
        assert_eq!(differences.changed.ids, vec![Bson::Int32(1)]);
        assert!(differences.missing.is_empty() && differences.extra.is_empty());
    }

    #[tokio::test]
    async fn lists_are_bounded_but_totals_are_exact() {
        let source: Vec<RawDocumentBuf> = (0..50).map(|id| rawdoc! {"_id": id}).collect();
        let differences = join(source, Vec::new(), 3).await;
        assert_eq!(differences.missing.total, 50);
        assert_eq!(
            differences.missing.ids,
            vec![Bson::Int32(0), Bson::Int32(1), Bson::Int32(2)]
        );
        let differences = join(Vec::new(), (0..5).map(|id| rawdoc! {"_id": id}).collect(), 0).await;
        assert_eq!(differences.extra.total, 5);
        assert!(differences.extra.ids.is_empty());
    }

    #[tokio::test]
    async fn mixed_id_types_merge_in_server_order() {
        let object_id = ObjectId::from_bytes([7; 12]);
        // Server order: numbers < strings < documents < ObjectId < dates.
        let all = vec![
            rawdoc! {"_id": 1},
            rawdoc! {"_id": 2.5},
            rawdoc! {"_id": 3_i64},
            rawdoc! {"_id": "a"},
            rawdoc! {"_id": "b"},
            rawdoc! {"_id": {"k": 1}},
            rawdoc! {"_id": object_id},
            rawdoc! {"_id": bson::DateTime::from_millis(0)},
        ];
        let source: Vec<RawDocumentBuf> = all.iter().step_by(2).cloned().collect();
        let target: Vec<RawDocumentBuf> = all.iter().skip(1).step_by(2).cloned().collect();
        let differences = join(source, target, 20).await;
        assert_eq!(
            differences.missing.ids,
            vec![
                Bson::Int32(1),
                Bson::Int64(3),
                Bson::String("b".into()),
                Bson::ObjectId(object_id)
            ]
        );
        assert_eq!(differences.extra.total, 4);
        assert_eq!(differences.extra.ids[0], Bson::Double(2.5));
        assert_eq!(differences.extra.ids[2], Bson::Document(doc! {"k": 1}));
        assert!(differences.changed.is_empty());
        let differences = join(all.clone(), all, 20).await;
        assert!(differences.is_identical());
    }

    #[tokio::test]
    async fn unsorted_input_is_an_error_not_a_report() {
        let error = merge_join(
            documents(vec![rawdoc! {"_id": "b"}, rawdoc! {"_id": "a"}]),
            documents(Vec::new()),
            20,
            &NoProgress,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                error,
                MergeError::OutOfOrder {
                    side: Side::Source,
                    offset: 1,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("\"a\" follows \"b\""), "{error}");
        let error = merge_join(
            documents(Vec::new()),
            documents(vec![rawdoc! {"_id": 1}, rawdoc! {"_id": 1}]),
            20,
            &NoProgress,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, MergeError::OutOfOrder { side: Side::Target, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn documents_without_id_and_read_errors_are_errors() {
        let error = merge_join(
            documents(vec![rawdoc! {"x": 1}]),
            documents(Vec::new()),
            20,
            &NoProgress,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                error,
                MergeError::NoId {
                    side: Side::Source,
                    offset: 0
                }
            ),
            "{error}"
        );
        let failing = stream::iter(vec![Ok(rawdoc! {"_id": 1}), Err(std::io::Error::other("disk gone"))]);
        let error = merge_join(documents(Vec::new()), failing, 20, &NoProgress)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                MergeError::Read {
                    side: Side::Target,
                    offset: 1,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(error.source().unwrap().to_string(), "disk gone");
    }
}
