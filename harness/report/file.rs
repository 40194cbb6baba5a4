//! Writing a report file in one piece: a reader (a CI job, a person with
//! `tail`) never sees half a `report.json`, even when the harness is killed
//! while writing it.

use std::io::Write;
use std::path::Path;

use super::error::ReportError;

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`. Creates the parent folder when it is missing.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|source| ReportError::CreateFolder {
        path: parent.to_path_buf(),
        source,
    })?;
    let write_error = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut temporary = tempfile::NamedTempFile::new_in(parent).map_err(write_error)?;
    temporary.write_all(bytes).map_err(write_error)?;
    temporary.as_file().sync_all().map_err(write_error)?;
    temporary.persist(path).map_err(|error| write_error(error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested").join("report.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "only report.json should remain");
    }

    #[test]
    fn a_path_under_a_file_is_an_error_naming_the_folder() {
        let folder = tempfile::tempdir().unwrap();
        let blocker = folder.path().join("blocker");
        std::fs::write(&blocker, b"x").unwrap();
        let error = write_atomically(&blocker.join("report.json"), b"{}").unwrap_err();
        assert!(matches!(error, ReportError::CreateFolder { .. }), "{error:?}");
        assert!(error.to_string().contains("blocker"), "{error}");
    }
}
