//! Finding out what a path holds: a dump folder, a `--archive` file (gzip or
//! not) or a `.tar.gz` of a dump folder. Decided by content, never by name,
//! because a runbook names its files however it likes and a failed run can
//! leave a `.tar.gz` that holds nothing.
//!
//! This is the one place that decides what a path is, for restore,
//! verify-backup and the command engine alike: a folder must list as a
//! dump, a file must be an archive (plain or gzip) or a tar (gzip or not)
//! holding a `.bson` file; anything else is [`LocateError::NotABackup`]
//! saying what it holds instead. Opening and extracting what was found is
//! `builtin::OpenedBackup` and [`crate::backup::extract`].

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::engine::BackupLocation;
use super::extract::{self, ExtractError, Walk};
use super::format::{ARCHIVE_MAGIC, DumpDirectory};

/// Why a path is not a backup.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// The path does not exist or cannot be read.
    #[error("no backup at {path}: cannot read it")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path is a tar whose members break the backup rules (a link, a
    /// device, a path leaving the root, an oversized header).
    #[error("no backup at {path}: its tar cannot be read safely")]
    Tar {
        /// The path.
        path: PathBuf,
        /// The member and the rule it breaks.
        #[source]
        source: ExtractError,
    },
    /// The path exists but holds no backup in any known form.
    #[error("no backup at {path}: {problem}")]
    NotABackup {
        /// The path.
        path: PathBuf,
        /// What it holds instead.
        problem: String,
    },
}

/// The 2 bytes every gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Size of a tar header and of the blocks a tar file is made of.
const TAR_BLOCK: usize = 512;

/// Looks at `path` and says what backup it is: a folder with `<db>/*.bson[.gz]`
/// (or `*.bson[.gz]` directly), an archive (plain or gzip), or a `.tar.gz`
/// whose tar holds `.bson` files.
pub fn locate(path: &Path) -> Result<BackupLocation, LocateError> {
    let unreadable = |source| LocateError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if metadata.is_dir() {
        return locate_directory(path);
    }
    let not_a_backup = |problem: &str| LocateError::NotABackup {
        path: path.to_owned(),
        problem: problem.to_owned(),
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let head = read_up_to(&mut file, TAR_BLOCK).map_err(unreadable)?;
    if head.is_empty() {
        return Err(not_a_backup("the file is empty"));
    }
    if head.starts_with(&ARCHIVE_MAGIC) {
        return Ok(BackupLocation::Archive {
            path: path.to_owned(),
            gzip: false,
        });
    }
    if !head.starts_with(&GZIP_MAGIC) {
        return Err(not_a_backup(
            "neither a dump folder, a mongodump archive, nor a gzip file (by its first bytes)",
        ));
    }
    let file = File::open(path).map_err(unreadable)?;
    let mut decoder = MultiGzDecoder::new(BufReader::new(file));
    let inner = read_up_to(&mut decoder, TAR_BLOCK).map_err(|source| LocateError::NotABackup {
        path: path.to_owned(),
        problem: format!("a gzip file that cannot be decompressed ({source})"),
    })?;
    if inner.starts_with(&ARCHIVE_MAGIC) {
        return Ok(BackupLocation::Archive {
            path: path.to_owned(),
            gzip: true,
        });
    }
    if inner.iter().all(|byte| *byte == 0) {
        // What `tar -czf` leaves when the folder it was given does not exist.
        return Err(not_a_backup("a gzip file that holds nothing (an empty tar)"));
    }
    if !is_tar_header(&inner) {
        return Err(not_a_backup(
            "a gzip file that holds neither a mongodump archive nor a tar file",
        ));
    }
    let chained = io::Cursor::new(inner).chain(decoder);
    match tar_holds_bson(chained, path) {
        Ok(true) => Ok(BackupLocation::TarGz { path: path.to_owned() }),
        Ok(false) => Err(not_a_backup("a .tar.gz that holds no .bson file")),
        Err(ExtractError::Read { source, .. }) => Err(LocateError::NotABackup {
            path: path.to_owned(),
            problem: format!("a .tar.gz that cannot be read to its end ({source})"),
        }),
        Err(source) => Err(LocateError::Tar {
            path: path.to_owned(),
            source,
        }),
    }
}

fn locate_directory(path: &Path) -> Result<BackupLocation, LocateError> {
    let dump = DumpDirectory::open(path).map_err(|error| LocateError::NotABackup {
        path: path.to_owned(),
        problem: error.to_string(),
    })?;
    let gzip = dump.collections().any(|collection| collection.is_gzip());
    Ok(BackupLocation::Directory {
        path: path.to_owned(),
        gzip,
    })
}

/// Reads until `limit` bytes or the end, whichever comes first.
fn read_up_to(reader: &mut impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(limit);
    reader.take(limit as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A ustar/GNU header has `ustar` at offset 257 (POSIX `ustar\0`, GNU `ustar `).
fn is_tar_header(block: &[u8]) -> bool {
    block.len() == TAR_BLOCK && &block[257..262] == b"ustar"
}

/// Walks the tar's members with the extractor's checks (so a link or a
/// `..` is refused here already) and says whether one is a `.bson` or
/// `.bson.gz` file. Skips the data, so a large dump costs a decompression
/// pass but no memory.
fn tar_holds_bson(reader: impl Read, path: &Path) -> Result<bool, ExtractError> {
    let mut found = false;
    extract::walk(reader, path, &mut |member, _data| {
        let name = member.path.to_string_lossy();
        found = !member.is_folder && (name.ends_with(".bson") || name.ends_with(".bson.gz"));
        Ok(if found { Walk::Stop } else { Walk::Continue })
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A one-entry ustar header with its checksum (`0` file, `5` folder by
    /// the trailing `/`).
    fn tar_entry(name: &str, data: &[u8]) -> Vec<u8> {
        tar_entry_of_kind(name, data, if name.ends_with('/') { b'5' } else { b'0' })
    }

    fn tar_entry_of_kind(name: &str, data: &[u8], kind: u8) -> Vec<u8> {
        let mut header = vec![0u8; TAR_BLOCK];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{:011o}\0", data.len());
        header[124..136].copy_from_slice(size.as_bytes());
        header[156] = kind;
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].fill(b' ');
        let sum: u32 = header.iter().map(|byte| u32::from(*byte)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut entry = header;
        entry.extend_from_slice(data);
        entry.resize(entry.len().div_ceil(TAR_BLOCK) * TAR_BLOCK, 0);
        entry
    }

    fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut bytes: Vec<u8> = entries.iter().flat_map(|(name, data)| tar_entry(name, data)).collect();
        bytes.extend_from_slice(&[0u8; 2 * TAR_BLOCK]);
        bytes
    }

    #[test]
    fn directory_forms() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("app");
        std::fs::create_dir(&database).unwrap();
        std::fs::write(database.join("users.bson"), b"").unwrap();
        assert_eq!(
            locate(dir.path()).unwrap(),
            BackupLocation::Directory {
                path: dir.path().to_owned(),
                gzip: false
            }
        );
        // The database folder itself, as the runbook's restore passes it.
        assert!(matches!(
            locate(&database).unwrap(),
            BackupLocation::Directory { gzip: false, .. }
        ));
        std::fs::remove_file(database.join("users.bson")).unwrap();
        std::fs::write(database.join("users.bson.gz"), gzip(b"")).unwrap();
        assert!(matches!(
            locate(dir.path()).unwrap(),
            BackupLocation::Directory { gzip: true, .. }
        ));
    }

    #[test]
    fn empty_folder_is_not_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let error = locate(dir.path()).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("no backup at {}: ", dir.path().display())),
            "{error}"
        );
    }

    #[test]
    fn archives_by_content_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut archive = ARCHIVE_MAGIC.to_vec();
        archive.extend_from_slice(&[0u8; 64]);
        let plain = dir.path().join("backup.gz");
        std::fs::write(&plain, &archive).unwrap();
        assert_eq!(
            locate(&plain).unwrap(),
            BackupLocation::Archive {
                path: plain.clone(),
                gzip: false
            }
        );
        let compressed = dir.path().join("backup.archive");
        std::fs::write(&compressed, gzip(&archive)).unwrap();
        assert_eq!(
            locate(&compressed).unwrap(),
            BackupLocation::Archive {
                path: compressed.clone(),
                gzip: true
            }
        );
    }

    #[test]
    fn tar_gz_needs_a_bson_inside() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.tgz");
        let data = vec![7u8; 1300];
        std::fs::write(
            &good,
            gzip(&tar(&[
                ("backup/", b""),
                ("backup/app/users.metadata.json", &data),
                ("backup/app/users.bson", b"\x05\0\0\0\0"),
            ])),
        )
        .unwrap();
        assert_eq!(locate(&good).unwrap(), BackupLocation::TarGz { path: good.clone() });

        let empty = dir.path().join("shepherd_backup_1.tar.gz");
        std::fs::write(&empty, gzip(&tar(&[]))).unwrap();
        let error = locate(&empty).unwrap_err().to_string();
        assert!(error.ends_with("holds nothing (an empty tar)"), "{error}");
        let other = dir.path().join("other.gz");
        std::fs::write(&other, gzip(b"plain text, not a tar")).unwrap();
        let error = locate(&other).unwrap_err().to_string();
        assert!(error.contains("neither a mongodump archive nor a tar"), "{error}");

        let no_bson = dir.path().join("notes.tar.gz");
        std::fs::write(&no_bson, gzip(&tar(&[("notes.txt", b"hello")]))).unwrap();
        let error = locate(&no_bson).unwrap_err().to_string();
        assert!(error.ends_with("a .tar.gz that holds no .bson file"), "{error}");
    }

    #[test]
    fn long_names_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.tar.gz");
        let long = format!("backup/app/{}.bson", "n".repeat(150));
        let long_name = tar_entry_of_kind("././@LongLink", long.as_bytes(), b'L');
        let mut bytes = long_name;
        bytes.extend(tar(&[("backup/app/truncated", b"\x05\0\0\0\0")]));
        std::fs::write(&path, gzip(&bytes)).unwrap();
        assert!(matches!(locate(&path).unwrap(), BackupLocation::TarGz { .. }));
    }

    #[test]
    fn other_files_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("x.tar.gz");
        std::fs::write(&text, b"Backup completed").unwrap();
        assert!(locate(&text).unwrap_err().to_string().contains("by its first bytes"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(locate(&empty).unwrap_err().to_string().ends_with("the file is empty"));
        let missing = dir.path().join("missing");
        assert!(matches!(locate(&missing), Err(LocateError::Unreadable { .. })));
    }
}
