//! The format layer against genuine mongodump 100.13 output
//! (`shared/fixtures/real-mongodump/`): every form reads back the counts and
//! MD5s of `expected.json`, metadata round-trips byte for byte, and what
//! our writers produce reads back identically (the archive writer even
//! reproduces the genuine archive byte for byte). No server needed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use bson::RawDocumentBuf;
use drdrill::backup::format::{
    ArchiveEvent, ArchiveHeader, ArchiveReader, ArchiveVisitor, ArchiveWriter, CollectionMetadata, DirectoryWriter,
    DumpDirectory, DumpPrelude, FormatError, Namespace, NamespaceSummary, Origin, PreludeEntry, VisitorError,
    collection_file_stem, read_archive, unescape_collection_name,
};
use drdrill::checksum::order::compare_values;
use md5::{Digest, Md5};

const DATABASE: &str = "shepherd_fixture";

/// `shared/fixtures/real-mongodump`, found beside the repository (or
/// beside any folder above it, since worktrees live one level deeper).
fn fixture_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for folder in manifest.ancestors() {
        let candidate = folder.join("shared/fixtures/real-mongodump");
        if candidate.join("expected.json").is_file() {
            return candidate;
        }
    }
    panic!(
        "fixture folder shared/fixtures/real-mongodump not found beside {} or any folder above it; \
         the genuine mongodump output must be checked out as a sibling `shared/` folder",
        manifest.display()
    );
}

/// Per collection: (count, md5) from `expected.json`.
fn expected() -> BTreeMap<String, (u64, String)> {
    let text = fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["databases"][DATABASE]["collections"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, entry)| {
            (
                name.clone(),
                (
                    entry["count"].as_u64().unwrap(),
                    entry["md5"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// Count and MD5 over the raw bytes in ascending `_id` order.
fn digest(mut documents: Vec<RawDocumentBuf>) -> (u64, String) {
    documents.sort_by(|left, right| {
        compare_values(
            left.get("_id").unwrap().expect("_id"),
            right.get("_id").unwrap().expect("_id"),
        )
    });
    let mut hasher = Md5::new();
    for document in &documents {
        hasher.update(document.as_bytes());
    }
    (documents.len() as u64, hex::encode(hasher.finalize()))
}

/// Every collection's documents, in file order.
fn read_directory(dump: &DumpDirectory) -> BTreeMap<String, Vec<RawDocumentBuf>> {
    dump.collections()
        .map(|collection| {
            let documents = collection
                .open_documents()
                .unwrap()
                .map(|item| item.unwrap().document)
                .collect();
            (collection.namespace.collection.clone(), documents)
        })
        .collect()
}

fn assert_matches_expected(documents: &BTreeMap<String, Vec<RawDocumentBuf>>, form: &str) {
    let expected = expected();
    assert_eq!(
        documents.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{form}: collections"
    );
    for (name, (count, md5)) in &expected {
        let (actual_count, actual_md5) = digest(documents[name].clone());
        assert_eq!(actual_count, *count, "{form}: count of {name}");
        assert_eq!(&actual_md5, md5, "{form}: md5 of {name}");
    }
}

fn genuine_prelude() -> DumpPrelude {
    DumpPrelude {
        server_version: "7.0.42".to_owned(),
        tool_version: "built-without-version-string".to_owned(),
    }
}

#[test]
fn directory_forms_give_the_expected_counts_and_md5s() {
    for form in ["dir", "dir-gzip"] {
        let dump = DumpDirectory::open(fixture_dir().join(form)).unwrap();
        assert_eq!(dump.databases.len(), 1);
        assert_eq!(dump.databases[0].name, DATABASE);
        assert_eq!(dump.prelude, Some(genuine_prelude()), "{form}");
        assert_eq!(
            dump.collections().all(|collection| collection.is_gzip()),
            form == "dir-gzip"
        );
        assert_matches_expected(&read_directory(&dump), form);
    }
}

#[test]
fn a_database_folder_can_be_opened_directly() {
    let dump = DumpDirectory::open(fixture_dir().join("dir").join(DATABASE)).unwrap();
    assert_eq!(dump.databases.len(), 1);
    assert_eq!(dump.databases[0].name, DATABASE);
    assert_eq!(dump.prelude, Some(genuine_prelude()));
    let collection = dump.collection(&Namespace::new(DATABASE, "weird name%x")).unwrap();
    assert!(collection.bson_file.as_ref().unwrap().ends_with("weird+name%25x.bson"));
}

#[test]
fn file_names_are_escaped_as_mongodump_escapes_them() {
    let folder = fixture_dir().join("dir").join(DATABASE);
    for name in expected().keys() {
        let stem = collection_file_stem(name);
        assert!(folder.join(format!("{stem}.bson")).is_file(), "{stem}.bson for {name}");
        assert!(
            folder.join(format!("{stem}.metadata.json")).is_file(),
            "{stem}.metadata.json"
        );
        assert_eq!(&unescape_collection_name(&stem).unwrap(), name);
    }
}

#[test]
fn metadata_is_written_back_byte_for_byte() {
    let plain = DumpDirectory::open(fixture_dir().join("dir")).unwrap();
    let gzip = DumpDirectory::open(fixture_dir().join("dir-gzip")).unwrap();
    let mut checked = 0;
    for collection in plain.collections() {
        let path = collection.metadata_file.as_ref().unwrap();
        let original = fs::read_to_string(path).unwrap();
        let metadata = collection.read_metadata().unwrap().unwrap();
        assert_eq!(metadata.collection_name, collection.namespace.collection);
        assert_eq!(
            metadata.to_json(&Origin::file(path)).unwrap(),
            original,
            "{}",
            path.display()
        );

        let compressed = gzip.collection(&collection.namespace).unwrap();
        let mut decompressed = String::new();
        flate2::read::GzDecoder::new(fs::File::open(compressed.metadata_file.as_ref().unwrap()).unwrap())
            .read_to_string(&mut decompressed)
            .unwrap();
        assert_eq!(decompressed, original);
        assert_eq!(compressed.read_metadata().unwrap().unwrap(), metadata);
        checked += 1;
    }
    assert_eq!(checked, expected().len());
}

/// Collects what an archive holds.
#[derive(Default)]
struct Collector {
    header: Option<ArchiveHeader>,
    metadata: BTreeMap<String, CollectionMetadata>,
    documents: BTreeMap<String, Vec<RawDocumentBuf>>,
    ends: BTreeMap<String, NamespaceSummary>,
}

impl ArchiveVisitor for Collector {
    fn header(&mut self, header: &ArchiveHeader) -> Result<(), VisitorError> {
        self.header = Some(header.clone());
        Ok(())
    }

    fn metadata(&mut self, namespace: &Namespace, entry: &PreludeEntry) -> Result<(), VisitorError> {
        self.metadata.insert(
            namespace.collection.clone(),
            entry.metadata.clone().ok_or("no metadata")?,
        );
        self.documents.entry(namespace.collection.clone()).or_default();
        Ok(())
    }

    fn document(&mut self, namespace: &Namespace, document: RawDocumentBuf, _offset: u64) -> Result<(), VisitorError> {
        self.documents
            .entry(namespace.collection.clone())
            .or_default()
            .push(document);
        Ok(())
    }

    fn end_of_namespace(&mut self, namespace: &Namespace, summary: &NamespaceSummary) -> Result<(), VisitorError> {
        self.ends.insert(namespace.collection.clone(), *summary);
        Ok(())
    }
}

fn collect_archive(path: &Path) -> Collector {
    let mut collector = Collector::default();
    read_archive(fs::File::open(path).unwrap(), Origin::file(path), &mut collector).unwrap();
    collector
}

#[test]
fn archive_forms_give_the_expected_counts_and_md5s() {
    let directory = DumpDirectory::open(fixture_dir().join("dir")).unwrap();
    for form in ["dump.archive", "dump.archive.gz"] {
        let collector = collect_archive(&fixture_dir().join(form));
        let header = collector.header.as_ref().unwrap();
        assert_eq!(header.format_version, "0.1");
        assert_eq!(header.server_version, "7.0.42");
        assert_eq!(header.concurrent_collections, 4);
        assert_matches_expected(&collector.documents, form);
        assert_eq!(collector.ends.len(), expected().len(), "{form}: every namespace ended");
        for (name, summary) in &collector.ends {
            assert_eq!(summary.documents, expected()[name].0);
        }
        for collection in directory.collections() {
            let from_directory = collection.read_metadata().unwrap().unwrap();
            assert_eq!(
                collector.metadata[&collection.namespace.collection], from_directory,
                "{form}"
            );
        }
    }
}

#[test]
fn a_cut_genuine_archive_names_the_namespace_and_offset() {
    let bytes = fs::read(fixture_dir().join("dump.archive")).unwrap();
    // The audit_log block starts at 15713 (header 75 bytes); cut 100 bytes
    // into its data.
    let cut = &bytes[..15713 + 75 + 100];
    let mut reader = ArchiveReader::new(cut, Origin::file("dump.archive")).unwrap();
    let error = loop {
        match reader.next_event() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("a cut archive must not end cleanly"),
            Err(error) => break error,
        }
    };
    let message = error.to_string();
    assert!(
        message.starts_with("file dump.archive (namespace shepherd_fixture.audit_log): document at offset"),
        "{message}"
    );
    assert!(matches!(error, FormatError::TruncatedDocument { .. }), "{error:?}");
}

/// Replays a genuine archive's events through our writer.
fn rewrite_archive(genuine: &Path, gzip: bool) -> Vec<u8> {
    let mut reader = ArchiveReader::open_file(genuine).unwrap();
    let header = reader.header().clone();
    let prelude = reader.prelude().to_vec();
    let mut replay = |writer: &mut dyn FnMut(ArchiveEvent)| {
        for event in reader.by_ref() {
            writer(event.unwrap());
        }
    };
    if gzip {
        let mut writer = ArchiveWriter::gzip(Vec::new(), Origin::default(), &header, &prelude).unwrap();
        replay(&mut |event| apply(&mut writer, event));
        writer.finish().unwrap().finish().unwrap()
    } else {
        let mut writer = ArchiveWriter::new(Vec::new(), Origin::default(), &header, &prelude).unwrap();
        replay(&mut |event| apply(&mut writer, event));
        writer.finish().unwrap()
    }
}

fn apply<W: std::io::Write>(writer: &mut ArchiveWriter<W>, event: ArchiveEvent) {
    match event {
        ArchiveEvent::Document {
            namespace, document, ..
        } => writer.write_document(&namespace, &document).unwrap(),
        ArchiveEvent::EndOfNamespace { namespace, summary } => {
            assert_eq!(writer.end_namespace(&namespace).unwrap(), summary);
        }
    }
}

#[test]
fn archive_writer_reproduces_the_genuine_archive_byte_for_byte() {
    let genuine = fs::read(fixture_dir().join("dump.archive")).unwrap();
    let ours = rewrite_archive(&fixture_dir().join("dump.archive"), false);
    assert_eq!(ours.len(), genuine.len());
    assert!(
        ours == genuine,
        "first difference at byte {:?}",
        ours.iter().zip(&genuine).position(|(a, b)| a != b)
    );

    // The gzip form (a separate mongodump run, so its own namespace order)
    // differs in compression bytes only: the same stream inside.
    let gunzip = |bytes: &[u8]| {
        let mut decompressed = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut decompressed)
            .unwrap();
        decompressed
    };
    let genuine = gunzip(&fs::read(fixture_dir().join("dump.archive.gz")).unwrap());
    let ours = gunzip(&rewrite_archive(&fixture_dir().join("dump.archive.gz"), true));
    assert!(
        ours == genuine,
        "first difference at byte {:?}",
        ours.iter().zip(&genuine).position(|(a, b)| a != b)
    );
}

#[test]
fn directory_and_archive_writers_read_back_identically() {
    let source = DumpDirectory::open(fixture_dir().join("dir")).unwrap();
    let original = read_directory(&source);
    let scratch = tempfile::tempdir().unwrap();

    for gzip in [false, true] {
        let root = scratch.path().join(if gzip { "dir-gzip" } else { "dir" });
        let writer = DirectoryWriter::create(&root, gzip).unwrap();
        writer.write_prelude(Some(DATABASE), &genuine_prelude()).unwrap();
        for collection in source.collections() {
            let mut output = writer.collection(&collection.namespace).unwrap();
            for document in &original[&collection.namespace.collection] {
                output.write_document(document).unwrap();
            }
            let written = output.finish(&collection.read_metadata().unwrap().unwrap()).unwrap();
            assert_eq!(
                written.bson_file.file_name(),
                collection
                    .bson_file
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .map(|name| if gzip {
                        format!("{}.gz", name.to_str().unwrap()).into()
                    } else {
                        name.to_owned()
                    })
                    .as_deref()
            );
            if !gzip {
                assert_eq!(
                    fs::read(&written.bson_file).unwrap(),
                    fs::read(collection.bson_file.as_ref().unwrap()).unwrap()
                );
                assert_eq!(
                    fs::read(&written.metadata_file).unwrap(),
                    fs::read(collection.metadata_file.as_ref().unwrap()).unwrap()
                );
            }
        }
        let reread = DumpDirectory::open(&root).unwrap();
        assert_eq!(reread.prelude, Some(genuine_prelude()));
        assert_eq!(read_directory(&reread), original, "gzip: {gzip}");
        assert_matches_expected(&read_directory(&reread), "rewritten directory");
    }

    // An archive written one namespace after another, from the directory.
    let prelude: Vec<PreludeEntry> = source
        .collections()
        .map(|collection| {
            PreludeEntry::collection(
                collection.namespace.clone(),
                collection.read_metadata().unwrap().unwrap(),
            )
        })
        .collect();
    let header = ArchiveHeader::new("7.0.42", "drdrill");
    let path = scratch.path().join("ours.archive.gz");
    let file = fs::File::create(&path).unwrap();
    let mut writer = ArchiveWriter::gzip(file, Origin::file(&path), &header, &prelude).unwrap();
    for collection in source.collections() {
        for document in &original[&collection.namespace.collection] {
            writer.write_document(&collection.namespace, document).unwrap();
        }
        writer.end_namespace(&collection.namespace).unwrap();
    }
    writer.finish().unwrap().finish().unwrap();
    let collector = collect_archive(&path);
    assert_eq!(collector.documents, original);
    assert_eq!(collector.header, Some(header));
}
