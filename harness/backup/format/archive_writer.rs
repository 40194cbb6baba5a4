//! Writing an archive mongorestore accepts, framed as mongodump frames it:
//! magic, header, one prelude entry per namespace, terminator; then data
//! blocks (a new block whenever the namespace changes, so callers may
//! interleave namespaces) and, per namespace, a data block (empty if
//! nothing is pending) followed by its end block with the CRC.

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use bson::RawDocument;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::archive::{ARCHIVE_MAGIC, ArchiveHeader, NamespaceHeader, NamespaceState, NamespaceSummary, PreludeEntry};
use super::bson_stream::TERMINATOR;
use super::error::{FormatError, MAX_DOCUMENT_BYTES, Origin};
use super::names::Namespace;

/// Writes an archive to any `Write`. For `--gzip` archives use
/// [`ArchiveWriter::gzip`] and call `finish()` on the returned encoder.
pub struct ArchiveWriter<W: Write> {
    /// The output, buffered: archives are many small writes.
    out: BufWriter<W>,
    /// Named in errors.
    origin: Origin,
    /// Bytes written so far (uncompressed).
    offset: u64,
    /// The namespace whose data block is open.
    current: Option<Namespace>,
    /// One entry per prelude namespace; only these may be written.
    states: HashMap<Namespace, NamespaceState>,
    /// Prelude order, to name the first unfinished namespace.
    order: Vec<Namespace>,
}

impl<W: Write> std::fmt::Debug for ArchiveWriter<W> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ArchiveWriter")
            .field("origin", &self.origin)
            .field("offset", &self.offset)
            .field("current", &self.current)
            .finish()
    }
}

impl<W: Write> ArchiveWriter<GzEncoder<W>> {
    /// An archive compressed as a whole (`mongodump --gzip --archive`).
    pub fn gzip(out: W, origin: Origin, header: &ArchiveHeader, prelude: &[PreludeEntry]) -> Result<Self, FormatError> {
        Self::new(GzEncoder::new(out, Compression::default()), origin, header, prelude)
    }
}

impl<W: Write> ArchiveWriter<W> {
    /// Writes the magic number, header and prelude. Every namespace that
    /// will be written must be in `prelude`, and every one must be ended
    /// before [`finish`](Self::finish).
    pub fn new(out: W, origin: Origin, header: &ArchiveHeader, prelude: &[PreludeEntry]) -> Result<Self, FormatError> {
        let mut writer = Self {
            out: BufWriter::with_capacity(256 * 1024, out),
            origin,
            offset: 0,
            current: None,
            states: HashMap::new(),
            order: Vec::new(),
        };
        writer.write_bytes(&ARCHIVE_MAGIC)?;
        let header = header.to_document(&writer.origin)?;
        writer.write_bytes(header.as_bytes())?;
        for entry in prelude {
            if writer.states.contains_key(&entry.namespace) {
                return Err(writer.misuse(format!("namespace {} is twice in the prelude", entry.namespace)));
            }
            let document = entry.to_document(&writer.origin)?;
            writer.write_bytes(document.as_bytes())?;
            writer.states.insert(entry.namespace.clone(), NamespaceState::default());
            writer.order.push(entry.namespace.clone());
        }
        writer.write_bytes(&TERMINATOR.to_le_bytes())?;
        Ok(writer)
    }

    fn misuse(&self, problem: String) -> FormatError {
        FormatError::WriterMisuse {
            origin: self.origin.clone(),
            problem,
        }
    }

    fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), FormatError> {
        self.out.write_all(bytes).map_err(|source| FormatError::Io {
            origin: self.origin.clone(),
            offset: self.offset,
            source,
        })?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn write_namespace_header(&mut self, namespace: &Namespace, end: bool, crc: u64) -> Result<(), FormatError> {
        let header = NamespaceHeader {
            namespace: namespace.clone(),
            end,
            crc,
        };
        let document = header.to_document(&self.origin)?;
        self.write_bytes(document.as_bytes())
    }

    /// Switches the open data block to `namespace`, closing another one.
    fn open_block(&mut self, namespace: &Namespace) -> Result<(), FormatError> {
        if self.current.as_ref() == Some(namespace) {
            return Ok(());
        }
        if self.current.take().is_some() {
            self.write_bytes(&TERMINATOR.to_le_bytes())?;
        }
        self.write_namespace_header(namespace, false, 0)?;
        self.current = Some(namespace.clone());
        Ok(())
    }

    fn check_writable(&self, namespace: &Namespace) -> Result<(), FormatError> {
        match self.states.get(namespace) {
            None => Err(self.misuse(format!("namespace {namespace} is not in the prelude"))),
            Some(state) if state.ended => Err(self.misuse(format!("namespace {namespace} has already ended"))),
            Some(_) => Ok(()),
        }
    }

    /// Appends one document of a namespace, unchanged.
    pub fn write_document(&mut self, namespace: &Namespace, document: &RawDocument) -> Result<(), FormatError> {
        self.check_writable(namespace)?;
        let bytes = document.as_bytes();
        if bytes.len() > MAX_DOCUMENT_BYTES as usize {
            return Err(self.misuse(format!(
                "a document of {namespace} is {} bytes, more than the {MAX_DOCUMENT_BYTES} a restore accepts",
                bytes.len()
            )));
        }
        self.open_block(namespace)?;
        self.write_bytes(bytes)?;
        self.states.entry(namespace.clone()).or_default().add(bytes);
        Ok(())
    }

    /// Ends a namespace: its last data block (empty when nothing is
    /// pending, as mongodump writes it) and its end block with the CRC.
    pub fn end_namespace(&mut self, namespace: &Namespace) -> Result<NamespaceSummary, FormatError> {
        self.check_writable(namespace)?;
        self.open_block(namespace)?;
        self.write_bytes(&TERMINATOR.to_le_bytes())?;
        self.current = None;
        let summary = self.states.entry(namespace.clone()).or_default().end();
        self.write_namespace_header(namespace, true, summary.crc)?;
        self.write_bytes(&TERMINATOR.to_le_bytes())?;
        Ok(summary)
    }

    /// Bytes written so far (before compression).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Checks that every namespace ended, flushes, and returns the output.
    pub fn finish(mut self) -> Result<W, FormatError> {
        if let Some(unfinished) = self.order.iter().find(|namespace| !self.states[*namespace].ended) {
            return Err(self.misuse(format!("namespace {unfinished} was never ended")));
        }
        self.out.flush().map_err(|source| FormatError::Io {
            origin: self.origin.clone(),
            offset: self.offset,
            source,
        })?;
        let offset = self.offset;
        let origin = self.origin.clone();
        self.out.into_inner().map_err(|error| FormatError::Io {
            origin,
            offset,
            source: error.into_error(),
        })
    }
}

#[cfg(test)]
mod tests {
    use bson::rawdoc;

    use super::super::archive_reader::{ArchiveEvent, ArchiveReader};
    use super::super::metadata::CollectionMetadata;
    use super::*;

    fn prelude(names: &[&str]) -> Vec<PreludeEntry> {
        names
            .iter()
            .map(|name| PreludeEntry::collection(Namespace::new("db", *name), CollectionMetadata::collection(*name)))
            .collect()
    }

    fn write_two_interleaved() -> Vec<u8> {
        let header = ArchiveHeader::new("7.0.0", "drdrill");
        let mut writer = ArchiveWriter::new(Vec::new(), Origin::default(), &header, &prelude(&["a", "b"])).unwrap();
        let (a, b) = (Namespace::new("db", "a"), Namespace::new("db", "b"));
        writer.write_document(&a, &rawdoc! { "_id": 1 }).unwrap();
        writer.write_document(&b, &rawdoc! { "_id": "x" }).unwrap();
        writer.write_document(&a, &rawdoc! { "_id": 2 }).unwrap();
        writer.end_namespace(&a).unwrap();
        writer.end_namespace(&b).unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn interleaved_namespaces_read_back() {
        let bytes = write_two_interleaved();
        let reader = ArchiveReader::new(bytes.as_slice(), Origin::default()).unwrap();
        assert_eq!(reader.prelude().len(), 2);
        let events: Vec<ArchiveEvent> = reader.collect::<Result<_, _>>().unwrap();
        let described: Vec<String> = events
            .iter()
            .map(|event| match event {
                ArchiveEvent::Document {
                    namespace, document, ..
                } => format!("{namespace} {:?}", document.get("_id").unwrap().unwrap()),
                ArchiveEvent::EndOfNamespace { namespace, summary } => {
                    format!("end {namespace} {}", summary.documents)
                }
            })
            .collect();
        assert_eq!(
            described,
            [
                "db.a Int32(1)",
                "db.b String(\"x\")",
                "db.a Int32(2)",
                "end db.a 2",
                "end db.b 1"
            ]
        );
    }

    #[test]
    fn a_cut_archive_names_the_open_namespace() {
        let bytes = write_two_interleaved();
        // Cut inside the second document of db.a (after db.b's block).
        let second_a = bytes
            .windows(4)
            .enumerate()
            .filter(|(_, window)| *window == [0x0e, 0, 0, 0])
            .map(|(position, _)| position)
            .nth(1)
            .unwrap();
        let cut = &bytes[..second_a + 6];
        let error = ArchiveReader::new(cut, Origin::file("x.archive"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "file x.archive (namespace db.a): document at offset {second_a} declares 14 bytes but only 6 remain"
            )
        );

        // Cut right after a block: the namespace is left unfinished.
        let end_of_first_block = bytes.windows(4).position(|window| window == [0xff; 4]).unwrap();
        let first_data_terminator = bytes[end_of_first_block + 4..]
            .windows(4)
            .position(|window| window == [0xff; 4])
            .unwrap()
            + end_of_first_block
            + 8;
        let error = ArchiveReader::new(&bytes[..first_data_terminator], Origin::file("x.archive"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(
            matches!(&error, FormatError::ArchiveCut { origin, .. } if origin.namespace == Some(Namespace::new("db", "a"))),
            "{error}"
        );
    }

    #[test]
    fn a_wrong_crc_is_reported() {
        let mut bytes = write_two_interleaved();
        // Change one byte inside db.a's first document's `_id` value.
        let position = bytes.windows(4).position(|window| window == [0x0e, 0, 0, 0]).unwrap() + 9;
        bytes[position] = 7;
        let error = ArchiveReader::new(bytes.as_slice(), Origin::default())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(
            matches!(&error, FormatError::CrcMismatch { origin, .. } if origin.namespace == Some(Namespace::new("db", "a"))),
            "{error}"
        );
    }

    #[test]
    fn gzip_archives_are_detected_and_cut_gzip_is_reported() {
        let header = ArchiveHeader::new("7.0.0", "drdrill");
        let mut writer = ArchiveWriter::gzip(Vec::new(), Origin::default(), &header, &prelude(&["a"])).unwrap();
        let namespace = Namespace::new("db", "a");
        for number in 0..2000 {
            writer.write_document(&namespace, &rawdoc! { "_id": number }).unwrap();
        }
        writer.end_namespace(&namespace).unwrap();
        let compressed = writer.finish().unwrap().finish().unwrap();
        let events = ArchiveReader::detect(compressed.as_slice(), Origin::default())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(events.len(), 2001);
        let cut = &compressed[..compressed.len() / 2];
        let error = ArchiveReader::detect(cut, Origin::file("x.archive.gz"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(matches!(error, FormatError::Gzip { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("file x.archive.gz (namespace db.a): bad gzip stream after"),
            "{error}"
        );
    }

    #[test]
    fn bad_magic_and_misuse_are_errors() {
        let error = ArchiveReader::new(&b"\x01\x02"[..], Origin::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "stream: not a mongodump archive (magic number 0102 instead of 6de29981)"
        );
        let header = ArchiveHeader::new("7.0.0", "drdrill");
        let mut writer = ArchiveWriter::new(Vec::new(), Origin::default(), &header, &prelude(&["a"])).unwrap();
        let error = writer
            .write_document(&Namespace::new("db", "zzz"), &rawdoc! {})
            .unwrap_err();
        assert_eq!(error.to_string(), "stream: namespace db.zzz is not in the prelude");
        let error = writer.finish().unwrap_err();
        assert_eq!(error.to_string(), "stream: namespace db.a was never ended");
    }
}
