//! Reading concatenated BSON documents (a `.bson` file, plain or gzip, or
//! the documents inside an archive) as raw bytes, never re-serialized, one
//! document in memory at a time. Each document is checked before it is
//! handed out: its length is sane, it is complete, it ends with NUL, and
//! every element (recursively) can be located and decoded, so a corrupt
//! dump is reported at the byte where it breaks instead of at restore time.

use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use bson::raw::{RawBsonRef, RawDocument, RawDocumentBuf};
use bson::spec::ElementType;
use flate2::read::MultiGzDecoder;

use super::error::{FormatError, MAX_DOCUMENT_BYTES, MIN_DOCUMENT_BYTES, Origin};
use super::names::Namespace;
use super::open::open_regular;

/// The length prefix archives use instead of a document to end a block.
pub(crate) const TERMINATOR: u32 = 0xFFFF_FFFF;

/// A document and where it starts in its (decompressed) stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedDocument {
    /// Byte offset of the document's first byte.
    pub offset: u64,
    /// The document, byte for byte as stored.
    pub document: RawDocumentBuf,
}

/// What one read of a length-prefixed frame found.
#[derive(Debug)]
pub(crate) enum Frame {
    /// The stream ended cleanly, between two frames.
    End,
    /// The archive block terminator `0xFFFFFFFF`.
    Terminator,
    /// A complete, validated document.
    Document(RawDocumentBuf),
}

/// Reads length-prefixed frames and keeps the offset, shared by the
/// `.bson` stream and the archive reader.
#[derive(Debug)]
pub(crate) struct FrameReader<R> {
    /// The bytes, already decompressed when the source is gzip.
    reader: R,
    /// Decompressed bytes consumed so far.
    offset: u64,
    /// Whether `reader` decompresses, so that decoder failures are
    /// reported as bad gzip rather than as disk errors.
    compressed: bool,
}

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(reader: R, compressed: bool) -> Self {
        Self {
            reader,
            offset: 0,
            compressed,
        }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads exactly `buffer.len()` bytes unless the stream ends first;
    /// returns how many were read.
    pub(crate) fn read_up_to(&mut self, buffer: &mut [u8], origin: &Origin) -> Result<usize, FormatError> {
        let mut filled = 0;
        while filled < buffer.len() {
            match self.reader.read(&mut buffer[filled..]) {
                Ok(0) => break,
                Ok(count) => filled += count,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(self.read_error(origin, filled as u64, error)),
            }
        }
        self.offset += filled as u64;
        Ok(filled)
    }

    fn read_error(&self, origin: &Origin, extra: u64, source: std::io::Error) -> FormatError {
        let offset = self.offset + extra;
        let origin = origin.clone();
        // flate2 reports corrupt or truncated gzip data with these kinds;
        // anything else is the file or pipe underneath failing.
        let gzip_kind = matches!(
            source.kind(),
            ErrorKind::InvalidInput | ErrorKind::InvalidData | ErrorKind::UnexpectedEof
        );
        if self.compressed && gzip_kind {
            FormatError::Gzip { origin, offset, source }
        } else {
            FormatError::Io { origin, offset, source }
        }
    }

    /// Reads the next frame. The returned offset is where the frame starts.
    pub(crate) fn read_frame(&mut self, origin: &Origin, allow_terminator: bool) -> Result<(u64, Frame), FormatError> {
        let start = self.offset;
        let mut prefix = [0u8; 4];
        let got = self.read_up_to(&mut prefix, origin)?;
        if got == 0 {
            return Ok((start, Frame::End));
        }
        if got < prefix.len() {
            return Err(FormatError::TruncatedLength {
                origin: origin.clone(),
                offset: start,
                remaining: got as u64,
            });
        }
        let declared = u32::from_le_bytes(prefix);
        if allow_terminator && declared == TERMINATOR {
            return Ok((start, Frame::Terminator));
        }
        if !(MIN_DOCUMENT_BYTES..=MAX_DOCUMENT_BYTES).contains(&declared) {
            return Err(FormatError::InvalidLength {
                origin: origin.clone(),
                offset: start,
                declared,
                maximum: MAX_DOCUMENT_BYTES,
            });
        }
        // Grow with what actually arrives, so a truncated stream that
        // declares 16 MiB does not allocate 16 MiB.
        let body_length = u64::from(declared) - 4;
        let mut bytes = Vec::with_capacity((declared as usize).min(64 * 1024));
        bytes.extend_from_slice(&prefix);
        let read = (&mut self.reader).take(body_length).read_to_end(&mut bytes);
        let body_read = bytes.len() as u64 - 4;
        if let Err(error) = read {
            return Err(self.read_error(origin, body_read, error));
        }
        self.offset += body_read;
        if body_read < body_length {
            return Err(FormatError::TruncatedDocument {
                origin: origin.clone(),
                offset: start,
                declared,
                remaining: bytes.len() as u64,
            });
        }
        let last = bytes[bytes.len() - 1];
        if last != 0 {
            return Err(FormatError::MissingTerminator {
                origin: origin.clone(),
                offset: start,
                declared,
                found: last,
            });
        }
        let document = RawDocumentBuf::from_bytes(bytes).map_err(|source| FormatError::MalformedDocument {
            origin: origin.clone(),
            offset: start,
            path: "(document)".to_owned(),
            source: Box::new(source),
        })?;
        validate_elements(&document, "", 1).map_err(|invalid| match invalid {
            Invalid::Element(path, source) => FormatError::MalformedDocument {
                origin: origin.clone(),
                offset: start,
                path,
                source: Box::new(source),
            },
            Invalid::TooDeep(path) => FormatError::TooDeep {
                origin: origin.clone(),
                offset: start,
                path,
                limit: MAX_NESTING_DEPTH,
            },
        })?;
        Ok((start, Frame::Document(document)))
    }
}

/// The deepest nesting of documents and arrays accepted, the top-level
/// document counting as level 1: MongoDB's own limit (the server refuses
/// deeper documents on insert), and the bound that keeps the recursive
/// validator's stack small whatever the input.
pub const MAX_NESTING_DEPTH: usize = 100;

/// Why a document failed validation.
enum Invalid {
    /// An element at this dotted path cannot be located or decoded.
    Element(String, bson::error::Error),
    /// The document or array at this dotted path is nested too deep.
    TooDeep(String),
}

/// Checks that every element of a document, at every depth up to
/// [`MAX_NESTING_DEPTH`], can be located and decoded; `depth` is the
/// nesting level of `document`. Strings are decoded leniently: the server
/// stores what drivers send, and a dump must round-trip bytes, not judge UTF-8.
fn validate_elements(document: &RawDocument, prefix: &str, depth: usize) -> Result<(), Invalid> {
    let mut last_key = String::new();
    for element in document.iter_elements() {
        let element = element.map_err(|error| {
            let place = if last_key.is_empty() {
                "the first element".to_owned()
            } else {
                format!("the element after `{last_key}`")
            };
            Invalid::Element(format!("{prefix}{place}"), error)
        })?;
        let key = element.key().as_str();
        let path = format!("{prefix}{key}");
        match element.element_type() {
            ElementType::String
            | ElementType::JavaScriptCode
            | ElementType::Symbol
            | ElementType::DbPointer
            | ElementType::JavaScriptCodeWithScope => {
                element
                    .value_utf8_lossy()
                    .map_err(|error| Invalid::Element(path.clone(), error))?;
            }
            _ => {
                let value = element.value().map_err(|error| Invalid::Element(path.clone(), error))?;
                let inner = match value {
                    RawBsonRef::Document(inner) => inner,
                    RawBsonRef::Array(inner) => RawDocument::from_bytes(inner.as_bytes())
                        .map_err(|error| Invalid::Element(path.clone(), error))?,
                    _ => {
                        last_key = key.to_owned();
                        continue;
                    }
                };
                if depth >= MAX_NESTING_DEPTH {
                    return Err(Invalid::TooDeep(path));
                }
                validate_elements(inner, &format!("{path}."), depth + 1)?;
            }
        }
        last_key = key.to_owned();
    }
    Ok(())
}

/// A stream of concatenated BSON documents, each with its offset.
///
/// Sync by design: callers on the async runtime run it inside
/// `tokio::task::spawn_blocking`, which keeps this core simple to test and
/// lets gzip decompression use a whole thread.
#[derive(Debug)]
pub struct BsonStream<R> {
    /// The frame reader (offset and gzip awareness).
    frames: FrameReader<R>,
    /// Named in every error.
    origin: Origin,
    /// Set after the end or the first error, so iteration stops there.
    finished: bool,
}

impl<R: Read> BsonStream<R> {
    /// A stream over uncompressed BSON.
    pub fn new(reader: R, origin: Origin) -> Self {
        Self {
            frames: FrameReader::new(reader, false),
            origin,
            finished: false,
        }
    }

    /// The next document, or `None` at the clean end of the stream.
    pub fn next_document(&mut self) -> Result<Option<StreamedDocument>, FormatError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.frames.read_frame(&self.origin, false);
        match result {
            Ok((offset, Frame::Document(document))) => Ok(Some(StreamedDocument { offset, document })),
            Ok((_, Frame::End | Frame::Terminator)) => {
                self.finished = true;
                Ok(None)
            }
            Err(error) => {
                self.finished = true;
                Err(error)
            }
        }
    }

    /// Decompressed bytes consumed so far (the offset of the next document).
    pub fn offset(&self) -> u64 {
        self.frames.offset()
    }

    /// Where the stream comes from, as errors name it.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl<R: Read> BsonStream<MultiGzDecoder<R>> {
    /// A stream over gzip-compressed BSON (as `mongodump --gzip` writes).
    pub fn gzip(reader: R, origin: Origin) -> Self {
        Self {
            frames: FrameReader::new(MultiGzDecoder::new(reader), true),
            origin,
            finished: false,
        }
    }
}

impl BsonStream<Box<dyn Read + Send>> {
    /// Opens a `.bson` or `.bson.gz` file (gzip is chosen by the `.gz`
    /// extension, as mongorestore does).
    pub fn open_file(path: &Path, namespace: Option<Namespace>) -> Result<Self, FormatError> {
        let file = open_regular(path)?;
        let origin = Origin {
            file: Some(path.to_owned()),
            namespace,
        };
        let buffered = BufReader::with_capacity(256 * 1024, file);
        let compressed = path.extension().is_some_and(|extension| extension == "gz");
        let reader: Box<dyn Read + Send> = if compressed {
            Box::new(MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Self {
            frames: FrameReader::new(reader, compressed),
            origin,
            finished: false,
        })
    }
}

impl<R: Read> Iterator for BsonStream<R> {
    type Item = Result<StreamedDocument, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_document().transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use bson::rawdoc;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn two_documents() -> Vec<u8> {
        let mut bytes = rawdoc! { "_id": 1, "name": "first" }.into_bytes();
        bytes.extend(rawdoc! { "_id": 2, "nested": { "list": [1, "two", { "three": 3.0 }] } }.into_bytes());
        bytes
    }

    fn origin() -> Origin {
        Origin::file("dump/db/c.bson").with_namespace(Namespace::new("db", "c"))
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<StreamedDocument>, FormatError> {
        BsonStream::new(bytes, origin()).collect()
    }

    #[test]
    fn reads_documents_with_offsets() {
        let bytes = two_documents();
        let documents = read_all(&bytes).unwrap();
        assert_eq!(documents.len(), 2);
        let first_length = documents[0].document.as_bytes().len() as u64;
        assert_eq!(documents[0].offset, 0);
        assert_eq!(documents[1].offset, first_length);
        assert_eq!(documents[1].document.get_i32("_id").unwrap(), 2);
        let rejoined: Vec<u8> = documents
            .iter()
            .flat_map(|item| item.document.as_bytes().to_vec())
            .collect();
        assert_eq!(rejoined, bytes);
    }

    #[test]
    fn empty_stream_has_no_documents() {
        assert!(read_all(&[]).unwrap().is_empty());
    }

    #[test]
    fn truncated_document_names_file_offset_and_sizes() {
        let bytes = two_documents();
        let cut = &bytes[..bytes.len() - 10];
        let error = read_all(cut).unwrap_err();
        let first_length = rawdoc! { "_id": 1, "name": "first" }.as_bytes().len();
        let second_length = bytes.len() - first_length;
        assert_eq!(
            error.to_string(),
            format!(
                "file dump/db/c.bson (namespace db.c): document at offset {first_length} declares {second_length} bytes but only {} remain",
                second_length - 10
            )
        );
    }

    #[test]
    fn truncated_length_prefix_is_reported() {
        let mut bytes = two_documents();
        let first_length = rawdoc! { "_id": 1, "name": "first" }.as_bytes().len();
        assert_eq!(first_length, 30);
        bytes.truncate(first_length + 2);
        let error = read_all(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "file dump/db/c.bson (namespace db.c): document at offset 30 is cut in its length prefix (2 of 4 bytes remain)"
        );
    }

    #[test]
    fn flipped_length_byte_is_an_invalid_length() {
        let mut bytes = two_documents();
        bytes[3] = 0x7f;
        let error = read_all(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "file dump/db/c.bson (namespace db.c): document at offset 0 declares an impossible length of {} bytes (valid: 5 to 16793600)",
                u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0x7f])
            )
        );
        let error = read_all(&[4, 0, 0, 0, 0]).unwrap_err();
        assert!(error.to_string().contains("impossible length of 4 bytes"), "{error}");
    }

    #[test]
    fn missing_nul_is_reported() {
        let mut bytes = rawdoc! { "_id": 1 }.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = 0x2a;
        let error = read_all(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "file dump/db/c.bson (namespace db.c): document at offset 0 (14 bytes) does not end with a NUL byte (found 0x2a)"
        );
    }

    #[test]
    fn malformed_nested_element_names_its_path() {
        let mut bytes = rawdoc! { "_id": 1, "outer": { "inner": "text" } }.into_bytes();
        // The string length of "text" (5 with NUL) sits right before it;
        // make it claim far more bytes than the document holds.
        let position = bytes.windows(4).position(|window| window == b"text").unwrap() - 4;
        bytes[position] = 0x40;
        let error = read_all(&bytes).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "file dump/db/c.bson (namespace db.c): document at offset 0 has a malformed element at outer."
            ),
            "{error}"
        );
        assert!(std::error::Error::source(&error).is_some());
    }

    /// A document nested `levels` deep: `{a: {a: ... {} }}`.
    fn nested(levels: usize) -> Vec<u8> {
        let mut document = rawdoc! {};
        for _ in 1..levels {
            document = rawdoc! { "a": document };
        }
        document.into_bytes()
    }

    #[test]
    fn nesting_is_bounded_at_mongodb_s_limit() {
        assert_eq!(read_all(&nested(MAX_NESTING_DEPTH)).unwrap().len(), 1);
        let error = read_all(&nested(MAX_NESTING_DEPTH + 1)).unwrap_err();
        let path = vec!["a"; MAX_NESTING_DEPTH].join(".");
        assert_eq!(
            error.to_string(),
            format!(
                "file dump/db/c.bson (namespace db.c): document at offset 0 nests deeper than 100 levels at {path}"
            )
        );
        // 4,000 levels (the 32 KB file) end in the same error, not a stack overflow.
        let error = read_all(&nested(4000)).unwrap_err();
        assert!(matches!(error, FormatError::TooDeep { limit: 100, .. }), "{error:?}");
    }

    #[test]
    fn invalid_utf8_in_strings_is_kept() {
        let mut bytes = rawdoc! { "_id": 1, "name": "abc" }.into_bytes();
        let position = bytes.windows(3).position(|window| window == b"abc").unwrap();
        bytes[position] = 0xff;
        let documents = read_all(&bytes).unwrap();
        assert_eq!(documents[0].document.as_bytes(), bytes.as_slice());
    }

    #[test]
    fn reads_gzip_and_reports_bad_gzip() {
        let bytes = two_documents();
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&bytes).unwrap();
        let compressed = encoder.finish().unwrap();
        let documents: Vec<_> = BsonStream::gzip(compressed.as_slice(), origin())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(documents.len(), 2);

        let garbage = b"\x1f\x8b\x08\x00garbage that is not deflate".to_vec();
        let error = BsonStream::gzip(garbage.as_slice(), origin())
            .next()
            .unwrap()
            .unwrap_err();
        assert!(matches!(error, FormatError::Gzip { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "file dump/db/c.bson (namespace db.c): bad gzip stream after 0 decompressed bytes"
        );

        let cut = &compressed[..compressed.len() - 12];
        let error = BsonStream::gzip(cut, origin())
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(matches!(error, FormatError::Gzip { .. }), "{error:?}");
    }

    #[test]
    fn stops_after_the_first_error() {
        let mut stream = BsonStream::new(&[9u8, 0, 0][..], origin());
        assert!(stream.next().unwrap().is_err());
        assert!(stream.next().is_none());
    }
}
