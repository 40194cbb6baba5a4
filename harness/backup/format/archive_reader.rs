//! Reading an archive: magic, header and prelude up front, then the
//! interleaved blocks demultiplexed into per-namespace events. Checks what
//! mongorestore checks (magic, framing, terminators, one open per
//! namespace, CRC at each end, every announced namespace finished) and
//! reports where it broke, with the namespace.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use bson::RawDocumentBuf;
use flate2::read::MultiGzDecoder;

use super::archive::{ARCHIVE_MAGIC, ArchiveHeader, NamespaceHeader, NamespaceState, NamespaceSummary, PreludeEntry};
use super::bson_stream::{Frame, FrameReader};
use super::error::{FormatError, Origin};
use super::names::Namespace;
use super::open::MAX_SMALL_FILE_BYTES;

/// An error a visitor returns to stop reading.
pub type VisitorError = Box<dyn std::error::Error + Send + Sync>;

/// Receives what [`read_archive`] finds, in archive order.
pub trait ArchiveVisitor {
    /// The header, once, first.
    fn header(&mut self, _header: &ArchiveHeader) -> Result<(), VisitorError> {
        Ok(())
    }

    /// One prelude entry (metadata of a namespace), before any document.
    fn metadata(&mut self, _namespace: &Namespace, _entry: &PreludeEntry) -> Result<(), VisitorError> {
        Ok(())
    }

    /// One document of a namespace, with its offset in the decompressed
    /// archive.
    fn document(&mut self, namespace: &Namespace, document: RawDocumentBuf, offset: u64) -> Result<(), VisitorError>;

    /// A namespace is complete and its CRC matched.
    fn end_of_namespace(&mut self, _namespace: &Namespace, _summary: &NamespaceSummary) -> Result<(), VisitorError> {
        Ok(())
    }
}

/// One step of an archive after its prelude.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchiveEvent {
    /// A document of a namespace.
    Document {
        /// Its namespace.
        namespace: Namespace,
        /// The document, byte for byte.
        document: RawDocumentBuf,
        /// Offset of the document in the decompressed archive.
        offset: u64,
    },
    /// A namespace ended and its CRC matched.
    EndOfNamespace {
        /// The namespace.
        namespace: Namespace,
        /// Its CRC, document count and bytes.
        summary: NamespaceSummary,
    },
}

/// A reader that is plain or gunzips, decided by the first two bytes.
pub enum MaybeGzip<R: Read> {
    /// Not compressed.
    Plain(BufReader<R>),
    /// Gzip-compressed (possibly several gzip members).
    Gzip(MultiGzDecoder<BufReader<R>>),
}

impl<R: Read> MaybeGzip<R> {
    /// Looks at the first bytes: `1f 8b` is gzip.
    pub fn detect(reader: R) -> std::io::Result<Self> {
        let mut buffered = BufReader::with_capacity(256 * 1024, reader);
        let head = buffered.fill_buf()?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(MaybeGzip::Gzip(MultiGzDecoder::new(buffered)))
        } else {
            Ok(MaybeGzip::Plain(buffered))
        }
    }

    /// Whether the stream is gzip.
    pub fn is_gzip(&self) -> bool {
        matches!(self, MaybeGzip::Gzip(_))
    }
}

impl<R: Read> Read for MaybeGzip<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            MaybeGzip::Plain(reader) => reader.read(buffer),
            MaybeGzip::Gzip(reader) => reader.read(buffer),
        }
    }
}

/// A pull reader over an archive.
pub struct ArchiveReader<R: Read> {
    /// Frames of the decompressed stream, with the offset.
    frames: FrameReader<R>,
    /// Named in errors.
    origin: Origin,
    /// The header read at open.
    header: ArchiveHeader,
    /// The prelude read at open, in archive order.
    prelude: Vec<PreludeEntry>,
    /// The namespace whose data block is open, if any.
    current: Option<Namespace>,
    /// Every namespace seen or announced.
    states: HashMap<Namespace, NamespaceState>,
    /// Set after the end or an error.
    finished: bool,
}

impl<R: Read> std::fmt::Debug for ArchiveReader<R> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ArchiveReader")
            .field("origin", &self.origin)
            .field("offset", &self.frames.offset())
            .field("current", &self.current)
            .finish()
    }
}

impl ArchiveReader<MaybeGzip<File>> {
    /// Opens an archive file, gzip or not (detected from its first bytes).
    pub fn open_file(path: &Path) -> Result<Self, FormatError> {
        // The archive is the backup's root, chosen by the user: it may be
        // a symlink or a pipe (`--archive -`); its content is all checked.
        let file = File::open(path).map_err(|source| FormatError::Filesystem {
            path: path.to_owned(),
            action: "open".to_owned(),
            source,
        })?;
        Self::detect(file, Origin::file(path))
    }
}

impl<R: Read> ArchiveReader<MaybeGzip<R>> {
    /// Reads an archive from any reader, gzip or not.
    pub fn detect(reader: R, origin: Origin) -> Result<Self, FormatError> {
        let reader = MaybeGzip::detect(reader).map_err(|source| FormatError::Io {
            origin: origin.clone(),
            offset: 0,
            source,
        })?;
        let compressed = reader.is_gzip();
        Self::start(FrameReader::new(reader, compressed), origin)
    }
}

impl<R: Read> ArchiveReader<R> {
    /// Reads an uncompressed archive's magic, header and prelude.
    pub fn new(reader: R, origin: Origin) -> Result<Self, FormatError> {
        Self::start(FrameReader::new(reader, false), origin)
    }

    fn start(mut frames: FrameReader<R>, origin: Origin) -> Result<Self, FormatError> {
        let mut magic = [0u8; 4];
        let got = frames.read_up_to(&mut magic, &origin)?;
        if got < magic.len() || magic != ARCHIVE_MAGIC {
            return Err(FormatError::BadMagic {
                origin,
                found: hex::encode(&magic[..got]),
            });
        }
        let corrupt = |offset, problem: &str| FormatError::CorruptArchive {
            origin: origin.clone(),
            offset,
            problem: problem.to_owned(),
        };
        let header = match frames.read_frame(&origin, true)? {
            (offset, Frame::Document(document)) => {
                ArchiveHeader::from_document(&document).map_err(|problem| corrupt(offset, &problem.to_string()))?
            }
            (offset, Frame::Terminator) => return Err(corrupt(offset, "terminator where the header should be")),
            (offset, Frame::End) => return Err(corrupt(offset, "archive ends before its header")),
        };
        let mut prelude = Vec::new();
        let mut states = HashMap::new();
        // Each prelude document is bounded by the frame reader; their sum
        // by the small-file cap, since the whole prelude is kept.
        let mut prelude_bytes: u64 = 0;
        loop {
            match frames.read_frame(&origin, true)? {
                (offset, Frame::Document(document)) => {
                    prelude_bytes = prelude_bytes.saturating_add(document.as_bytes().len() as u64);
                    if prelude_bytes > MAX_SMALL_FILE_BYTES {
                        return Err(corrupt(offset, "the prelude holds more than 16 MiB of metadata"));
                    }
                    let entry = PreludeEntry::from_document(&document, &origin).map_err(|error| match error {
                        FormatError::CorruptArchive { origin, problem, .. } => FormatError::CorruptArchive {
                            origin,
                            offset,
                            problem,
                        },
                        other => other,
                    })?;
                    entry.namespace.validate(&origin)?;
                    states.insert(entry.namespace.clone(), NamespaceState::default());
                    prelude.push(entry);
                }
                (_, Frame::Terminator) => break,
                (offset, Frame::End) => return Err(corrupt(offset, "archive ends inside its prelude")),
            }
        }
        Ok(Self {
            frames,
            origin,
            header,
            prelude,
            current: None,
            states,
            finished: false,
        })
    }

    /// The archive header.
    pub fn header(&self) -> &ArchiveHeader {
        &self.header
    }

    /// The prelude entries, in archive order.
    pub fn prelude(&self) -> &[PreludeEntry] {
        &self.prelude
    }

    /// Decompressed bytes read so far.
    pub fn offset(&self) -> u64 {
        self.frames.offset()
    }

    /// The next document or end of namespace; `None` at the end of a
    /// complete archive.
    pub fn next_event(&mut self) -> Result<Option<ArchiveEvent>, FormatError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.advance();
        if !matches!(result, Ok(Some(_))) {
            self.finished = true;
        }
        result
    }

    fn corrupt(&self, namespace: Option<&Namespace>, offset: u64, problem: impl Into<String>) -> FormatError {
        let mut origin = self.origin.clone();
        if let Some(namespace) = namespace {
            origin = origin.with_namespace(namespace.clone());
        }
        FormatError::CorruptArchive {
            origin,
            offset,
            problem: problem.into(),
        }
    }

    fn advance(&mut self) -> Result<Option<ArchiveEvent>, FormatError> {
        loop {
            if let Some(namespace) = self.current.clone() {
                let origin = self.origin.clone().with_namespace(namespace.clone());
                match self.frames.read_frame(&origin, true)? {
                    (offset, Frame::Document(document)) => {
                        self.states
                            .entry(namespace.clone())
                            .or_default()
                            .add(document.as_bytes());
                        return Ok(Some(ArchiveEvent::Document {
                            namespace,
                            document,
                            offset,
                        }));
                    }
                    (_, Frame::Terminator) => self.current = None,
                    (offset, Frame::End) => {
                        return Err(FormatError::ArchiveCut { origin, offset });
                    }
                }
                continue;
            }
            let (offset, frame) = self.frames.read_frame(&self.origin, true)?;
            let document = match frame {
                Frame::Document(document) => document,
                Frame::Terminator => return Err(self.corrupt(None, offset, "terminator without a namespace header")),
                Frame::End => return self.check_complete(offset).map(|()| None),
            };
            let header = NamespaceHeader::from_document(&document)
                .map_err(|problem| self.corrupt(None, offset, problem.to_string()))?;
            let namespace = header.namespace;
            namespace.validate(&self.origin)?;
            let state = self.states.entry(namespace.clone()).or_default();
            if state.ended {
                return Err(self.corrupt(Some(&namespace), offset, "namespace header after the namespace ended"));
            }
            if !header.end {
                self.current = Some(namespace);
                continue;
            }
            let summary = state.end();
            if summary.crc != header.crc {
                return Err(FormatError::CrcMismatch {
                    origin: self.origin.clone().with_namespace(namespace),
                    offset,
                    expected: header.crc,
                    actual: summary.crc,
                });
            }
            let origin = self.origin.clone().with_namespace(namespace.clone());
            match self.frames.read_frame(&origin, true)? {
                (_, Frame::Terminator) => {}
                (after, Frame::Document(_)) => {
                    return Err(self.corrupt(Some(&namespace), after, "document after the end of the namespace"));
                }
                (after, Frame::End) => {
                    return Err(self.corrupt(
                        Some(&namespace),
                        after,
                        "archive ends before the terminator of an end block",
                    ));
                }
            }
            return Ok(Some(ArchiveEvent::EndOfNamespace { namespace, summary }));
        }
    }

    /// At the end of the stream every namespace must have ended.
    fn check_complete(&self, offset: u64) -> Result<(), FormatError> {
        // Report in prelude order, then any namespace only seen in blocks.
        let unfinished = self
            .prelude
            .iter()
            .map(|entry| &entry.namespace)
            .chain(self.states.keys())
            .find(|namespace| self.states.get(*namespace).is_some_and(|state| !state.ended));
        match unfinished {
            Some(namespace) => Err(FormatError::ArchiveCut {
                origin: self.origin.clone().with_namespace(namespace.clone()),
                offset,
            }),
            None => Ok(()),
        }
    }
}

impl<R: Read> Iterator for ArchiveReader<R> {
    type Item = Result<ArchiveEvent, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// Reads a whole archive (plain or gzip, detected) into a visitor.
pub fn read_archive<R: Read>(reader: R, origin: Origin, visitor: &mut impl ArchiveVisitor) -> Result<(), FormatError> {
    let mut archive = ArchiveReader::detect(reader, origin)?;
    visit(&mut archive, visitor)
}

/// Feeds an opened archive's header, prelude and events to a visitor.
pub fn visit<R: Read>(archive: &mut ArchiveReader<R>, visitor: &mut impl ArchiveVisitor) -> Result<(), FormatError> {
    let visitor_error = |origin: &Origin, namespace: Option<&Namespace>, offset: u64, source: VisitorError| {
        let mut origin = origin.clone();
        if let Some(namespace) = namespace {
            origin = origin.with_namespace(namespace.clone());
        }
        FormatError::Visitor { origin, offset, source }
    };
    visitor
        .header(&archive.header)
        .map_err(|source| visitor_error(&archive.origin, None, 0, source))?;
    for entry in &archive.prelude {
        visitor
            .metadata(&entry.namespace, entry)
            .map_err(|source| visitor_error(&archive.origin, Some(&entry.namespace), 0, source))?;
    }
    while let Some(event) = archive.next_event()? {
        match event {
            ArchiveEvent::Document {
                namespace,
                document,
                offset,
            } => visitor
                .document(&namespace, document, offset)
                .map_err(|source| visitor_error(&archive.origin, Some(&namespace), offset, source))?,
            ArchiveEvent::EndOfNamespace { namespace, summary } => visitor
                .end_of_namespace(&namespace, &summary)
                .map_err(|source| visitor_error(&archive.origin, Some(&namespace), archive.offset(), source))?,
        }
    }
    Ok(())
}
