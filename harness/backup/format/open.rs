//! Opening the files of a backup by one rule: a backup is regular files and
//! folders inside its root. A member is opened without following a symlink
//! (`O_NOFOLLOW`) and without blocking on a FIFO (`O_NONBLOCK`), and the
//! *opened* file's metadata decides (never a `stat` of the path before the
//! open, which another process could swap in between). Small files (metadata,
//! preludes, manifests) are read through a cap enforced while reading or
//! inflating, so a `/dev/zero` or a gzip bomb costs at most the cap.

use std::fs::{File, FileType, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::error::{FormatError, Origin};

/// The most bytes a small file (a `.metadata.json[.gz]`, a `prelude.json`,
/// an archive prelude, a manifest) may hold once decompressed: 16 MiB, far
/// above what mongodump writes (a metadata file is a few KiB) and far below
/// what hurts.
pub const MAX_SMALL_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What a non-regular file is, for messages.
pub fn describe_file_type(kind: FileType) -> &'static str {
    if kind.is_symlink() {
        "symlink"
    } else if kind.is_dir() {
        "folder"
    } else if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_file() {
        "regular file"
    } else {
        "file of unknown type"
    }
}

/// Opens a member of a backup for reading: it must be a regular file, and a
/// symlink is refused rather than followed.
pub fn open_regular(path: &Path) -> Result<File, FormatError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| {
            // ELOOP is how O_NOFOLLOW says "this is a symlink".
            if source.raw_os_error() == Some(libc::ELOOP) {
                FormatError::NotRegular {
                    path: path.to_owned(),
                    kind: "symlink",
                }
            } else {
                FormatError::Filesystem {
                    path: path.to_owned(),
                    action: "open".to_owned(),
                    source,
                }
            }
        })?;
    let metadata = file.metadata().map_err(|source| FormatError::Filesystem {
        path: path.to_owned(),
        action: "inspect".to_owned(),
        source,
    })?;
    if !metadata.file_type().is_file() {
        return Err(FormatError::NotRegular {
            path: path.to_owned(),
            kind: describe_file_type(metadata.file_type()),
        });
    }
    Ok(file)
}

/// Reads all of `reader` into memory, refusing more than `cap` bytes (the
/// cap is enforced while reading: at most `cap + 1` bytes are ever read).
/// `compressed` says whether `reader` inflates, so that its failures are
/// reported as bad gzip rather than as disk errors.
pub fn read_capped(reader: impl Read, cap: u64, path: &Path, compressed: bool) -> Result<Vec<u8>, FormatError> {
    let mut bytes = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| {
            let origin = Origin::file(path);
            let offset = bytes.len() as u64;
            if compressed {
                FormatError::Gzip { origin, offset, source }
            } else {
                FormatError::Io { origin, offset, source }
            }
        })?;
    if bytes.len() as u64 > cap {
        return Err(FormatError::TooLarge {
            path: path.to_owned(),
            limit: cap,
        });
    }
    Ok(bytes)
}

/// Reads a small member of a backup whole (inflating it when its name ends
/// in `.gz`), with the rules of [`open_regular`] and the cap
/// [`MAX_SMALL_FILE_BYTES`].
pub fn read_small_file(path: &Path) -> Result<Vec<u8>, FormatError> {
    let file = BufReader::new(open_regular(path)?);
    if path.extension().is_some_and(|extension| extension == "gz") {
        read_capped(MultiGzDecoder::new(file), MAX_SMALL_FILE_BYTES, path, true)
    } else {
        read_capped(file, MAX_SMALL_FILE_BYTES, path, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_devices_and_fifos_are_named_not_followed() {
        let folder = tempfile::tempdir().unwrap();
        let link = folder.path().join("users.metadata.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let error = read_small_file(&link).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: is a symlink; a backup holds only regular files and folders",
                link.display()
            )
        );
        let error = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("is a character device; a backup holds only regular files and folders")
        );
        let fifo = folder.path().join("pipe.bson");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Opening a FIFO with O_NONBLOCK returns at once: no writer is waited for.
        assert!(open_regular(&fifo).unwrap_err().to_string().contains("is a fifo"));
    }

    #[test]
    fn the_cap_is_enforced_while_reading() {
        let path = Path::new("x.metadata.json");
        assert_eq!(read_capped(&b"abc"[..], 3, path, false).unwrap(), b"abc");
        let error = read_capped(std::io::repeat(0), 10, path, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "x.metadata.json: holds more than 10 bytes, the most this file may hold"
        );
    }
}
