//! Finding scenario files: explicit files, and `*.toml` files under
//! folders, sorted, optionally filtered by tag.

use std::path::{Path, PathBuf};

use toml::de::DeTable;

/// Why scenario files could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// A path given does not exist.
    #[error("scenario path {path} does not exist")]
    Missing {
        /// The path as given.
        path: PathBuf,
    },
    /// A folder or file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The scenario files named by `paths`: a file is taken as given, a folder
/// contributes every `*.toml` file below it (recursively, hidden entries
/// skipped). The result is sorted and without duplicates.
///
/// With `tags`, only files whose `tags` hold at least one of them are kept.
/// A file whose tags cannot be read (it is not valid TOML) is kept, so that
/// validation reports its problems instead of the filter hiding it.
pub fn discover(paths: &[PathBuf], tags: &[String]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut files)?;
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(DiscoverError::Missing { path: path.clone() });
        }
    }
    files.sort();
    files.dedup();
    if tags.is_empty() {
        return Ok(files);
    }
    let mut kept = Vec::new();
    for file in files {
        let text = std::fs::read(&file).map_err(|source| DiscoverError::Read {
            path: file.clone(),
            source,
        })?;
        match file_tags(&String::from_utf8_lossy(&text)) {
            Some(file_tags) if !file_tags.iter().any(|tag| tags.contains(tag)) => {}
            _ => kept.push(file),
        }
    }
    Ok(kept)
}

fn collect(folder: &Path, files: &mut Vec<PathBuf>) -> Result<(), DiscoverError> {
    let read_error = |source| DiscoverError::Read {
        path: folder.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(folder).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "toml") {
            files.push(path);
        }
    }
    Ok(())
}

/// The `tags` of a scenario text, or `None` when the text is not valid TOML.
fn file_tags(text: &str) -> Option<Vec<String>> {
    let root = DeTable::parse(text).ok()?;
    let tags = root
        .get_ref()
        .iter()
        .find(|(key, _)| key.get_ref() == "tags")
        .and_then(|(_, value)| {
            value.get_ref().as_array().map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.get_ref().as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    Some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_toml_files_sorted_and_filters_by_tag() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("nested")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::write(root.join("b.toml"), "tags = [\"weekly\"]").unwrap();
        std::fs::write(root.join("a.toml"), "tags = [\"ci-gate\", \"weekly\"]").unwrap();
        std::fs::write(root.join("nested/c.toml"), "name = \"c\"").unwrap();
        std::fs::write(root.join("nested/broken.toml"), "tags = [").unwrap();
        std::fs::write(root.join("notes.md"), "tags").unwrap();
        std::fs::write(root.join(".hidden/d.toml"), "").unwrap();

        let all = discover(&[root.to_path_buf(), root.join("a.toml")], &[]).unwrap();
        let names: Vec<_> = all
            .iter()
            .map(|path| path.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("a.toml"),
                PathBuf::from("b.toml"),
                PathBuf::from("nested/broken.toml"),
                PathBuf::from("nested/c.toml"),
            ]
        );
        let gated = discover(&[root.to_path_buf()], &["ci-gate".to_owned()]).unwrap();
        let names: Vec<_> = gated
            .iter()
            .map(|path| path.strip_prefix(root).unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.toml"), PathBuf::from("nested/broken.toml")]
        );
    }

    #[test]
    fn a_missing_path_is_an_error() {
        let error = discover(&[PathBuf::from("/nonexistent/scenarios")], &[]).unwrap_err();
        assert!(matches!(error, DiscoverError::Missing { .. }));
    }
}
