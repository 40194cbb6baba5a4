//! The `mongodump --archive` format, shared by its reader and writer (see
//! mongo-tools' `common/archive/spec.md`):
//!
//! ```text
//! magic 0x8199e26d (little-endian bytes 6d e2 99 81)
//! header document {concurrent_collections: int32, version: "0.1",
//!                  server_version, tool_version}
//! one prelude document per namespace {db, collection, metadata (the
//!                  .metadata.json text), size, type}
//! terminator 0xffffffff
//! blocks, interleaved between namespaces:
//!   {db, collection, EOF: false, CRC: 0}  documents...  terminator
//!   {db, collection, EOF: true,  CRC: <CRC-64/ECMA of all its documents>}  terminator
//! ```
//!
//! A namespace's documents may be split over several blocks; mongodump
//! writes a (possibly empty) data block right before each end block.

use bson::{Bson, RawDocument, RawDocumentBuf, doc};

use super::crc64::Crc64;
use super::error::{FormatError, Origin};
use super::metadata::{CollectionKind, CollectionMetadata};
use super::names::Namespace;

/// The first four bytes of every archive.
pub const ARCHIVE_MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];

/// The only archive format version the tools have written.
pub const ARCHIVE_FORMAT_VERSION: &str = "0.1";

/// The archive header, right after the magic number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveHeader {
    /// `--numParallelCollections` of the dump; mongorestore restores at
    /// least this many collections in parallel.
    pub concurrent_collections: i32,
    /// The format version, `"0.1"`.
    pub format_version: String,
    /// The source server's version.
    pub server_version: String,
    /// The dumping tool's version.
    pub tool_version: String,
}

impl ArchiveHeader {
    /// A header of the current format version.
    pub fn new(server_version: impl Into<String>, tool_version: impl Into<String>) -> Self {
        Self {
            concurrent_collections: 4,
            format_version: ARCHIVE_FORMAT_VERSION.to_owned(),
            server_version: server_version.into(),
            tool_version: tool_version.into(),
        }
    }

    pub(crate) fn to_document(&self, origin: &Origin) -> Result<RawDocumentBuf, FormatError> {
        encode(
            &doc! {
                "concurrent_collections": self.concurrent_collections,
                "version": &self.format_version,
                "server_version": &self.server_version,
                "tool_version": &self.tool_version,
            },
            origin,
            "archive header",
        )
    }

    pub(crate) fn from_document(document: &RawDocument) -> Result<Self, HeaderProblem> {
        let mut header = Self {
            concurrent_collections: 0,
            format_version: String::new(),
            server_version: String::new(),
            tool_version: String::new(),
        };
        for element in document {
            let (key, value) = element.map_err(|error| HeaderProblem::Unreadable {
                header: "header",
                detail: error.to_string(),
            })?;
            match key.as_str() {
                "concurrent_collections" => {
                    header.concurrent_collections = match value.as_i32().or(value.as_i64().map(|v| v as i32)) {
                        Some(count) => count,
                        None => {
                            return Err(HeaderProblem::WrongType {
                                header: "header",
                                field: "concurrent_collections".into(),
                                expected: "an integer",
                            });
                        }
                    }
                }
                "version" => header.format_version = string_field(value, "version")?,
                "server_version" => header.server_version = string_field(value, "server_version")?,
                "tool_version" => header.tool_version = string_field(value, "tool_version")?,
                _ => {}
            }
        }
        Ok(header)
    }
}

/// One namespace announced in the prelude.
#[derive(Debug, Clone, PartialEq)]
pub struct PreludeEntry {
    /// The namespace.
    pub namespace: Namespace,
    /// Its metadata, when the dump included it (the `metadata` string).
    pub metadata: Option<CollectionMetadata>,
    /// The uncompressed size the dump announced (mongodump writes 0).
    pub size: i64,
    /// `type`: regular collection, view or time series (`None` for `""`).
    pub kind: Option<CollectionKind>,
}

impl PreludeEntry {
    /// An entry for a regular collection with the given metadata.
    pub fn collection(namespace: Namespace, metadata: CollectionMetadata) -> Self {
        Self {
            namespace,
            kind: metadata.kind.clone().or(Some(CollectionKind::Collection)),
            metadata: Some(metadata),
            size: 0,
        }
    }

    pub(crate) fn to_document(&self, origin: &Origin) -> Result<RawDocumentBuf, FormatError> {
        let metadata = match &self.metadata {
            Some(metadata) => metadata.to_json(origin)?,
            None => String::new(),
        };
        // Go marshals its `int` as int32 when the value fits.
        let size = match i32::try_from(self.size) {
            Ok(size) => Bson::Int32(size),
            Err(_) => Bson::Int64(self.size),
        };
        encode(
            &doc! {
                "db": &self.namespace.database,
                "collection": &self.namespace.collection,
                "metadata": metadata,
                "size": size,
                "type": self.kind.as_ref().map(CollectionKind::as_str).unwrap_or_default(),
            },
            origin,
            "archive prelude entry",
        )
    }

    pub(crate) fn from_document(document: &RawDocument, origin: &Origin) -> Result<Self, FormatError> {
        let corrupt = |problem: String| FormatError::CorruptArchive {
            origin: origin.clone(),
            offset: 0,
            problem,
        };
        let mut database = String::new();
        let mut collection = String::new();
        let mut metadata_text = String::new();
        let mut size = 0;
        let mut kind = String::new();
        for element in document {
            let (key, value) = element.map_err(|error| corrupt(format!("unreadable prelude element ({error})")))?;
            match key.as_str() {
                "db" => database = string_field(value, "db").map_err(|problem| corrupt(problem.to_string()))?,
                "collection" => {
                    collection = string_field(value, "collection").map_err(|problem| corrupt(problem.to_string()))?
                }
                "metadata" => {
                    metadata_text = string_field(value, "metadata").map_err(|problem| corrupt(problem.to_string()))?
                }
                "type" => kind = string_field(value, "type").map_err(|problem| corrupt(problem.to_string()))?,
                "size" => {
                    size = value
                        .as_i64()
                        .or(value.as_i32().map(i64::from))
                        .ok_or_else(|| corrupt("prelude field `size` is not an integer".to_owned()))?
                }
                _ => {}
            }
        }
        let namespace = Namespace::new(database, collection);
        let metadata_origin = origin.clone().with_namespace(namespace.clone());
        let mut metadata = CollectionMetadata::from_json(metadata_text.as_bytes(), &metadata_origin)?;
        if let Some(metadata) = metadata.as_mut().filter(|metadata| metadata.collection_name.is_empty()) {
            metadata.collection_name = namespace.collection.clone();
        }
        Ok(Self {
            namespace,
            metadata,
            size,
            kind: (!kind.is_empty()).then(|| CollectionKind::parse(&kind)),
        })
    }
}

/// A namespace block header: data follows (`end == false`) or the
/// namespace is complete (`end == true`, with its CRC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamespaceHeader {
    pub(crate) namespace: Namespace,
    pub(crate) end: bool,
    pub(crate) crc: u64,
}

impl NamespaceHeader {
    pub(crate) fn to_document(&self, origin: &Origin) -> Result<RawDocumentBuf, FormatError> {
        encode(
            &doc! {
                "db": &self.namespace.database,
                "collection": &self.namespace.collection,
                "EOF": self.end,
                // The tools store the unsigned CRC's bits in an int64.
                "CRC": self.crc as i64,
            },
            origin,
            "namespace header",
        )
    }

    pub(crate) fn from_document(document: &RawDocument) -> Result<Self, HeaderProblem> {
        let mut database = String::new();
        let mut collection = String::new();
        let mut end = false;
        let mut crc = 0;
        for element in document {
            let (key, value) = element.map_err(|error| HeaderProblem::Unreadable {
                header: "namespace header",
                detail: error.to_string(),
            })?;
            match key.as_str() {
                "db" => database = string_field(value, "db")?,
                "collection" => collection = string_field(value, "collection")?,
                "EOF" => end = value.as_bool().ok_or_else(|| namespace_field("EOF", "a boolean"))?,
                "CRC" => crc = value.as_i64().ok_or_else(|| namespace_field("CRC", "an int64"))? as u64,
                other => {
                    return Err(HeaderProblem::UnknownField {
                        field: other.to_owned(),
                    });
                }
            }
        }
        if collection.is_empty() {
            return Err(HeaderProblem::NoCollection);
        }
        Ok(Self {
            namespace: Namespace::new(database, collection),
            end,
            crc,
        })
    }
}

/// What the archive says, and what was read, about one finished namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceSummary {
    /// CRC-64/ECMA of the namespace's documents (checked against the
    /// archive's when reading).
    pub crc: u64,
    /// Documents in the namespace.
    pub documents: u64,
    /// Bytes of those documents.
    pub bytes: u64,
}

/// One namespace's running totals while an archive is read or written.
#[derive(Debug, Default)]
pub(super) struct NamespaceState {
    /// CRC-64/ECMA of the documents so far.
    crc: Crc64,
    /// Documents so far.
    documents: u64,
    /// Bytes of those documents.
    bytes: u64,
    /// Whether its end block was read or written.
    pub(super) ended: bool,
}

impl NamespaceState {
    /// Counts one document's bytes.
    pub(super) fn add(&mut self, document: &[u8]) {
        self.crc.update(document);
        self.documents += 1;
        self.bytes += document.len() as u64;
    }

    /// Marks the namespace ended; its totals.
    pub(super) fn end(&mut self) -> NamespaceSummary {
        self.ended = true;
        NamespaceSummary {
            crc: self.crc.value(),
            documents: self.documents,
            bytes: self.bytes,
        }
    }
}

/// What is wrong with an archive header or namespace header, before the
/// reader adds the file and offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    /// An element could not be read.
    #[error("unreadable {header} element ({detail})")]
    Unreadable {
        /// `header` or `namespace header`.
        header: &'static str,
        /// The BSON reader's words.
        detail: String,
    },
    /// A field holds the wrong type.
    #[error("{header} field `{field}` is not {expected}")]
    WrongType {
        /// `header` or `namespace header`.
        header: &'static str,
        /// The field.
        field: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A field that should be a string is not (the header is named by the
    /// caller's error, as before).
    #[error("field `{field}` is not a string")]
    NotAString {
        /// The field.
        field: String,
    },
    /// A namespace header field the format does not have.
    #[error("namespace header has an unknown field `{field}`")]
    UnknownField {
        /// The field.
        field: String,
    },
    /// A namespace header without a collection.
    #[error("namespace header has no collection")]
    NoCollection,
}

fn namespace_field(field: &str, expected: &'static str) -> HeaderProblem {
    HeaderProblem::WrongType {
        header: "namespace header",
        field: field.to_owned(),
        expected,
    }
}

/// A string field.
fn string_field(value: bson::RawBsonRef<'_>, field: &str) -> Result<String, HeaderProblem> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| HeaderProblem::NotAString {
            field: field.to_owned(),
        })
}

fn encode(document: &bson::Document, origin: &Origin, what: &str) -> Result<RawDocumentBuf, FormatError> {
    RawDocumentBuf::try_from(document).map_err(|source| FormatError::Encode {
        origin: origin.clone(),
        what: what.to_owned(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_headers_round_trip_with_unsigned_crc() {
        let header = NamespaceHeader {
            namespace: Namespace::new("db", "c.d"),
            end: true,
            crc: 0xF000_0000_0000_0001,
        };
        let document = header.to_document(&Origin::default()).unwrap();
        assert_eq!(NamespaceHeader::from_document(&document).unwrap(), header);
    }

    #[test]
    fn header_field_order_is_the_tools_order() {
        let document = ArchiveHeader::new("7.0.42", "100.13.0")
            .to_document(&Origin::default())
            .unwrap();
        let keys: Vec<&str> = document.iter().map(|element| element.unwrap().0.as_str()).collect();
        assert_eq!(
            keys,
            ["concurrent_collections", "version", "server_version", "tool_version"]
        );
    }
}
