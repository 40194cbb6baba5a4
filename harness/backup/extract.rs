//! Reading a `.tar.gz` (or plain `.tar`) of a dump folder in-process, with
//! the one rule every backup follows: a backup is regular files and folders
//! inside its root. The `tar` crate parses the headers; every member's type
//! and path is checked here, before anything is written, in raw mode so
//! that GNU long names and pax headers are read with our own size bounds
//! rather than whatever a header declares. Symlinks, hard links, devices,
//! FIFOs, sparse files, absolute paths and `..` are named errors.
//!
//! Extraction goes into a fresh folder that is removed when the returned
//! [`tempfile::TempDir`] is dropped, and on every error path (the folder is
//! dropped with the error). Totals are capped ([`MAX_EXTRACTED_BYTES`],
//! [`MAX_MEMBERS`]) so a tar bomb fills neither the disk nor the inode table.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::engine::BackupLocation;
use super::format::{FormatError, open_regular};
use super::locate::locate;

/// The most bytes of file data one extraction writes: 64 GiB, above any
/// dump a drill restores on one machine, below a disk filled by a bomb.
pub const MAX_EXTRACTED_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// The most members (headers, including long-name and pax headers) one
/// tar may hold: a dump has two files per collection, so a million is
/// far beyond any real one.
pub const MAX_MEMBERS: u64 = 1_000_000;

/// The longest member name accepted (a GNU long name or a pax `path`):
/// Linux's `PATH_MAX`.
pub const MAX_MEMBER_NAME_BYTES: u64 = 4096;

/// The largest pax extended header accepted (they hold a few names and
/// times; 64 KiB is generous).
pub const MAX_PAX_HEADER_BYTES: u64 = 64 * 1024;

/// Prefix of extraction folders, so `drdrill clean` and a person can tell
/// them apart.
pub const EXTRACT_PREFIX: &str = ".drdrill-extract-";

/// Why a tar could not be read or extracted. Every variant names the tar
/// and, where there is one, the member.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The tar itself could not be opened (missing, not a regular file).
    #[error("cannot open {archive}")]
    Open {
        /// The tar.
        archive: PathBuf,
        /// The cause (boxed: the format error is large).
        #[source]
        source: Box<FormatError>,
    },
    /// The extraction folder could not be created.
    #[error("cannot create an extraction folder in {folder} for {archive}")]
    Folder {
        /// The tar.
        archive: PathBuf,
        /// Where the folder was to be made.
        folder: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The gzip or tar stream is broken (bad checksum, cut short).
    #[error("{archive}: cannot read the tar stream (after {members} members)")]
    Read {
        /// The tar.
        archive: PathBuf,
        /// Members read before the failure.
        members: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A member is not a regular file or folder.
    #[error("{archive}: member `{member}` is a {kind}; a backup holds only regular files and folders")]
    NotRegular {
        /// The tar.
        archive: PathBuf,
        /// The member's name.
        member: String,
        /// What it is (with the link target for links).
        kind: String,
    },
    /// A member's path is absolute, climbs out with `..`, or is empty.
    #[error("{archive}: member `{member}` leaves the backup's root ({problem})")]
    OutsideRoot {
        /// The tar.
        archive: PathBuf,
        /// The member's name.
        member: String,
        /// Which rule it breaks.
        problem: &'static str,
    },
    /// A long-name or pax header declares more bytes than such a header may hold.
    #[error("{archive}: a {what} header declares {declared} bytes (at most {limit})")]
    HeaderTooLarge {
        /// The tar.
        archive: PathBuf,
        /// `long name`, `pax`.
        what: &'static str,
        /// The size the header declares.
        declared: u64,
        /// The bound.
        limit: u64,
    },
    /// A pax header changes the size of the member after it, which would
    /// make the rest of the stream be read at the wrong place.
    #[error("{archive}: a pax header overrides the size of the next member, which is not supported")]
    PaxSize {
        /// The tar.
        archive: PathBuf,
    },
    /// The tar holds more members than [`MAX_MEMBERS`].
    #[error("{archive}: holds more than {limit} members")]
    TooManyMembers {
        /// The tar.
        archive: PathBuf,
        /// The bound.
        limit: u64,
    },
    /// The files' data would pass [`MAX_EXTRACTED_BYTES`].
    #[error("{archive}: member `{member}` would take the extracted data past {limit} bytes")]
    TooManyBytes {
        /// The tar.
        archive: PathBuf,
        /// The member that would pass the cap.
        member: String,
        /// The bound.
        limit: u64,
    },
    /// The tar was extracted but holds no dump folder.
    #[error("{archive}: holds no dump folder (no .bson files within 3 folder levels)")]
    NoDump {
        /// The tar.
        archive: PathBuf,
    },
    /// A member could not be written (full disk, a member given twice).
    #[error("{archive}: cannot write member `{member}` to {path}")]
    Write {
        /// The tar.
        archive: PathBuf,
        /// The member's name.
        member: String,
        /// Where it was being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A member that passed the checks.
#[derive(Debug)]
pub struct Member {
    /// Its path relative to the root, only normal components (empty for
    /// the root folder itself, `./`).
    pub path: PathBuf,
    /// Its name as the tar spells it, for messages.
    pub name: String,
    /// Whether it is a folder (otherwise a regular file).
    pub is_folder: bool,
    /// Bytes of data (0 for folders).
    pub size: u64,
}

/// What a visitor wants after a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Go on with the next member.
    Continue,
    /// Stop reading here.
    Stop,
}

/// Opens a tar, gzip or not (by its first two bytes), as a reader of the
/// decompressed stream. The tar is the backup's root, so a symlink naming
/// it is followed once; the target must be a regular file.
pub fn open_tar(archive: &Path) -> Result<Box<dyn Read>, ExtractError> {
    let open_error = |source| ExtractError::Open {
        archive: archive.to_owned(),
        source: Box::new(source),
    };
    let target = std::fs::canonicalize(archive).map_err(|source| {
        open_error(FormatError::Filesystem {
            path: archive.to_owned(),
            action: "open".to_owned(),
            source,
        })
    })?;
    let mut reader = BufReader::new(open_regular(&target).map_err(open_error)?);
    let head = io::BufRead::fill_buf(&mut reader).map_err(|source| ExtractError::Read {
        archive: archive.to_owned(),
        members: 0,
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads every member of the tar stream `reader`, checks it, and hands
/// regular files' data to `visit`. Names and pax headers are read within
/// their bounds; nothing else is allocated from a header's sizes.
pub fn walk(
    reader: impl Read,
    archive: &Path,
    visit: &mut dyn FnMut(&Member, &mut dyn Read) -> Result<Walk, ExtractError>,
) -> Result<(), ExtractError> {
    let mut tar = tar::Archive::new(reader);
    let mut members: u64 = 0;
    let read_error = |members, source| ExtractError::Read {
        archive: archive.to_owned(),
        members,
        source,
    };
    let entries = tar.entries().map_err(|source| read_error(0, source))?.raw(true);
    let mut pending_name: Option<Vec<u8>> = None;
    for entry in entries {
        let mut entry = entry.map_err(|source| read_error(members, source))?;
        members += 1;
        if members > MAX_MEMBERS {
            return Err(ExtractError::TooManyMembers {
                archive: archive.to_owned(),
                limit: MAX_MEMBERS,
            });
        }
        let kind = entry.header().entry_type();
        let size = entry.size();
        if let Some(name) = read_extension(&mut entry, kind, size, archive, members)? {
            pending_name = name;
            continue;
        }
        let name_bytes = pending_name
            .take()
            .unwrap_or_else(|| entry.header().path_bytes().into_owned());
        let member = check_member(&entry, kind, size, &name_bytes, archive)?;
        if visit(&member, &mut entry)? == Walk::Stop {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads a GNU long name or pax header (returning the name it gives the next
/// member, `Some(None)` when it gives none), or `None` when `kind` is not an
/// extension header.
fn read_extension(
    entry: &mut impl Read,
    kind: EntryType,
    size: u64,
    archive: &Path,
    members: u64,
) -> Result<Option<Option<Vec<u8>>>, ExtractError> {
    let (what, limit) = match kind {
        EntryType::GNULongName => ("long name", MAX_MEMBER_NAME_BYTES),
        EntryType::XHeader | EntryType::XGlobalHeader => ("pax", MAX_PAX_HEADER_BYTES),
        _ => return Ok(None),
    };
    if size > limit {
        return Err(ExtractError::HeaderTooLarge {
            archive: archive.to_owned(),
            what,
            declared: size,
            limit,
        });
    }
    let mut bytes = Vec::new();
    entry
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|source| ExtractError::Read {
            archive: archive.to_owned(),
            members,
            source,
        })?;
    if kind == EntryType::GNULongName {
        let end = bytes.iter().position(|byte| *byte == 0).unwrap_or(bytes.len());
        bytes.truncate(end);
        return Ok(Some(Some(bytes)));
    }
    if kind == EntryType::XGlobalHeader {
        return Ok(Some(None));
    }
    let mut name = None;
    for extension in tar::PaxExtensions::new(&bytes).flatten() {
        match extension.key_bytes() {
            b"path" => name = Some(extension.value_bytes().to_vec()),
            b"size" => {
                return Err(ExtractError::PaxSize {
                    archive: archive.to_owned(),
                });
            }
            _ => {}
        }
    }
    Ok(Some(name))
}

/// Checks a member's type and path.
fn check_member(
    entry: &tar::Entry<'_, impl Read>,
    kind: EntryType,
    size: u64,
    name_bytes: &[u8],
    archive: &Path,
) -> Result<Member, ExtractError> {
    let name = String::from_utf8_lossy(name_bytes).escape_debug().to_string();
    let not_regular = |kind: String| ExtractError::NotRegular {
        archive: archive.to_owned(),
        member: name.clone(),
        kind,
    };
    let link_target = || {
        entry
            .header()
            .link_name_bytes()
            .map(|target| String::from_utf8_lossy(&target).escape_debug().to_string())
            .unwrap_or_default()
    };
    let is_folder = match kind {
        EntryType::Directory => true,
        EntryType::Regular | EntryType::Continuous => false,
        EntryType::Symlink => return Err(not_regular(format!("symlink to `{}`", link_target()))),
        EntryType::Link => return Err(not_regular(format!("hard link to `{}`", link_target()))),
        EntryType::GNULongLink => return Err(not_regular("link (a long link name)".to_owned())),
        EntryType::Char => return Err(not_regular("character device".to_owned())),
        EntryType::Block => return Err(not_regular("block device".to_owned())),
        EntryType::Fifo => return Err(not_regular("fifo".to_owned())),
        EntryType::GNUSparse => return Err(not_regular("sparse file".to_owned())),
        other => return Err(not_regular(format!("member of tar type {:?}", other.as_byte() as char))),
    };
    let outside = |problem| ExtractError::OutsideRoot {
        archive: archive.to_owned(),
        member: name.clone(),
        problem,
    };
    let mut path = PathBuf::new();
    for component in Path::new(OsStr::from_bytes(name_bytes)).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(outside("it holds `..`")),
            Component::RootDir | Component::Prefix(_) => return Err(outside("it is an absolute path")),
        }
    }
    if path.as_os_str().is_empty() && !is_folder {
        return Err(outside("it has no name"));
    }
    Ok(Member {
        path,
        name,
        is_folder,
        size: if is_folder { 0 } else { size },
    })
}

/// Extracts the tar (gzip or not) at `archive` into a new folder made in
/// `parent`, checking every member; the folder is removed when the result
/// is dropped, and at once on any error.
pub fn extract_tar(archive: &Path, parent: &Path) -> Result<tempfile::TempDir, ExtractError> {
    let reader = open_tar(archive)?;
    let folder = tempfile::Builder::new()
        .prefix(EXTRACT_PREFIX)
        .tempdir_in(parent)
        .map_err(|source| ExtractError::Folder {
            archive: archive.to_owned(),
            folder: parent.to_owned(),
            source,
        })?;
    let root = folder.path().to_owned();
    let mut written: u64 = 0;
    walk(reader, archive, &mut |member, data| {
        write_member(&root, member, data, &mut written, archive)?;
        Ok(Walk::Continue)
    })?;
    Ok(folder)
}

/// A tar extracted, and the dump found inside it.
#[derive(Debug)]
pub struct ExtractedDump {
    /// The extraction folder; removed when this is dropped, so it must
    /// live as long as the dump is read.
    pub folder: tempfile::TempDir,
    /// The dump folder inside it, as [`locate`] finds it.
    pub location: BackupLocation,
}

/// Extracts the `.tar.gz` at `archive` next to it (same file system, so no
/// surprise about space elsewhere; the system temp folder when the
/// backup's folder is read-only) and finds the dump inside: what restore,
/// `restore --dryRun`, verify-backup and the tools engine all use.
pub fn extract_dump(archive: &Path) -> Result<ExtractedDump, ExtractError> {
    let parent = archive
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let folder = match extract_tar(archive, parent) {
        Err(ExtractError::Folder { .. }) => extract_tar(archive, &std::env::temp_dir()),
        result => result,
    }?;
    let location = find_dump_folder(folder.path(), 3).ok_or_else(|| ExtractError::NoDump {
        archive: archive.to_owned(),
    })?;
    Ok(ExtractedDump { folder, location })
}

/// The dump folder inside an extracted tar: the first folder, in name
/// order, that [`locate`] takes for a dump, searching down to `depth`
/// levels as `tar -czf x.tar.gz -C dir name` nests them.
fn find_dump_folder(root: &Path, depth: usize) -> Option<BackupLocation> {
    if let Ok(location @ BackupLocation::Directory { .. }) = locate(root) {
        return Some(location);
    }
    if depth == 0 {
        return None;
    }
    // Only this process wrote into the folder, and never a link.
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .map(|entry| entry.path())
        .collect();
    folders.sort();
    folders
        .into_iter()
        .find_map(|folder| find_dump_folder(&folder, depth - 1))
}

/// Writes one checked member under `root`. The root is a fresh private
/// folder in which only this function creates anything, and it never
/// creates a link, so no component of the joined path can be a symlink;
/// `O_NOFOLLOW` and `create_new` say so again at the last component.
fn write_member(
    root: &Path,
    member: &Member,
    data: &mut dyn Read,
    written: &mut u64,
    archive: &Path,
) -> Result<(), ExtractError> {
    let path = root.join(&member.path);
    let write_error = |path: &Path, source| ExtractError::Write {
        archive: archive.to_owned(),
        member: member.name.clone(),
        path: path.to_owned(),
        source,
    };
    if member.is_folder {
        return std::fs::create_dir_all(&path).map_err(|source| write_error(&path, source));
    }
    *written = written
        .checked_add(member.size)
        .filter(|total| *total <= MAX_EXTRACTED_BYTES)
        .ok_or_else(|| ExtractError::TooManyBytes {
            archive: archive.to_owned(),
            member: member.name.clone(),
            limit: MAX_EXTRACTED_BYTES,
        })?;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|source| write_error(folder, source))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|source| write_error(&path, source))?;
    let copied = io::copy(&mut data.take(member.size), &mut file).map_err(|source| write_error(&path, source))?;
    if copied < member.size {
        let source = io::Error::new(io::ErrorKind::UnexpectedEof, "the tar ends inside this member");
        return Err(write_error(&path, source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar built with the `tar` crate's own builder (valid checksums).
    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        builder.into_inner().unwrap()
    }

    fn header(kind: EntryType, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header
    }

    fn extract_bytes(bytes: &[u8]) -> (tempfile::TempDir, Result<tempfile::TempDir, ExtractError>) {
        let folder = tempfile::tempdir().unwrap();
        let archive = folder.path().join("backup.tar");
        std::fs::write(&archive, bytes).unwrap();
        let work = folder.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let result = extract_tar(&archive, &work);
        (folder, result)
    }

    #[test]
    fn regular_files_and_folders_are_extracted() {
        let bytes = tar_with(|builder| {
            let mut folder = header(EntryType::Directory, 0);
            builder.append_data(&mut folder, "dump/app/", io::empty()).unwrap();
            let mut file = header(EntryType::Regular, 5);
            builder
                .append_data(&mut file, "dump/app/users.bson", &b"\x05\0\0\0\0"[..])
                .unwrap();
            let long = format!("dump/app/{}.metadata.json", "n".repeat(150));
            let mut file = header(EntryType::Regular, 2);
            builder.append_data(&mut file, &long, &b"{}"[..]).unwrap();
        });
        let (_folder, result) = extract_bytes(&bytes);
        let extracted = result.unwrap();
        assert_eq!(
            std::fs::read(extracted.path().join("dump/app/users.bson")).unwrap(),
            b"\x05\0\0\0\0"
        );
        let long = format!("dump/app/{}.metadata.json", "n".repeat(150));
        assert!(extracted.path().join(long).is_file());
    }

    #[test]
    fn links_and_paths_leaving_the_root_are_named_and_nothing_is_left() {
        let symlink = tar_with(|builder| {
            let mut link = header(EntryType::Symlink, 0);
            builder
                .append_link(&mut link, "dump/app/users.metadata.json", "/dev/zero")
                .unwrap();
        });
        let (folder, result) = extract_bytes(&symlink);
        let error = result.unwrap_err().to_string();
        assert!(
            error.ends_with(
                "member `dump/app/users.metadata.json` is a symlink to `/dev/zero`; a backup holds only regular files and folders"
            ),
            "{error}"
        );
        assert_eq!(std::fs::read_dir(folder.path().join("work")).unwrap().count(), 0);

        let mut climbing = tar_with(|builder| {
            let mut file = header(EntryType::Regular, 1);
            builder.append_data(&mut file, "dump/x.bson", &b"x"[..]).unwrap();
        });
        // The builder refuses `..`; write it into the header by hand.
        climbing[..11].copy_from_slice(b"../x.bson\0\0");
        let mut header = tar::Header::from_byte_slice(&climbing[..512]).clone();
        header.set_cksum();
        climbing[..512].copy_from_slice(header.as_bytes());
        let (folder, result) = extract_bytes(&climbing);
        let error = result.unwrap_err().to_string();
        assert!(
            error.ends_with("member `../x.bson` leaves the backup's root (it holds `..`)"),
            "{error}"
        );
        assert_eq!(std::fs::read_dir(folder.path().join("work")).unwrap().count(), 0);
    }

    #[test]
    fn hard_links_devices_fifos_and_absolute_paths_are_named() {
        let cases: [(EntryType, &str, &str); 4] = [
            (
                EntryType::Link,
                "dump/app/users.bson",
                "is a hard link to `/etc/shadow`",
            ),
            (EntryType::Fifo, "dump/app/users.bson", "is a fifo"),
            (EntryType::Char, "dump/app/users.bson", "is a character device"),
            (
                EntryType::Regular,
                "/etc/cron.d/x.bson",
                "leaves the backup's root (it is an absolute path)",
            ),
        ];
        for (kind, name, expected) in cases {
            let mut bytes = tar_with(|builder| {
                let mut entry = header(kind, 0);
                if kind == EntryType::Link {
                    entry.set_link_name("/etc/shadow").unwrap();
                }
                builder
                    .append_data(&mut entry, "dump/app/placeholder", io::empty())
                    .unwrap();
            });
            // The builder refuses absolute names; write the name field by hand.
            bytes[..100].fill(0);
            bytes[..name.len()].copy_from_slice(name.as_bytes());
            let mut fixed = tar::Header::from_byte_slice(&bytes[..512]).clone();
            fixed.set_cksum();
            bytes[..512].copy_from_slice(fixed.as_bytes());
            let (folder, result) = extract_bytes(&bytes);
            let error = result.unwrap_err().to_string();
            assert!(error.contains(expected), "{kind:?}: {error}");
            assert_eq!(std::fs::read_dir(folder.path().join("work")).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_long_name_declaring_2_pow_63_bytes_is_refused_before_any_allocation() {
        let mut long_name = header(EntryType::GNULongName, 0);
        long_name.as_gnu_mut().unwrap().size = [0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        long_name.set_path("././@LongLink").unwrap();
        long_name.set_cksum();
        let (_folder, result) = extract_bytes(long_name.as_bytes());
        let error = result.unwrap_err().to_string();
        assert!(
            error.ends_with("a long name header declares 9223372036854775807 bytes (at most 4096)"),
            "{error}"
        );
    }
}
