//! Keeping the password out of the tools' command lines: `mongodump` and
//! `mongorestore` read `--config=FILE`, a YAML file that may hold the
//! connection string (`uri:`), as MongoDB recommends, because every local
//! user sees a process's arguments in `ps`. The file is written mode 0600
//! in the run's work folder and removed when its guard drops: after the
//! run, on an error, and when the future running the tool is cancelled.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::uri::MongoUri;

/// The prefix every command line this engine builds starts its URI with.
const URI_FLAG: &str = "--uri=";

/// A `--config` file holding one connection string; removed on drop.
#[derive(Debug)]
pub struct ConfigFile {
    /// The file, deleted when this is dropped.
    file: tempfile::NamedTempFile,
}

impl ConfigFile {
    /// Writes `uri: '<uri>'` to a new mode-0600 file in `folder`.
    pub fn write(folder: &Path, uri: &MongoUri) -> io::Result<Self> {
        let mut file = tempfile::Builder::new()
            .prefix(".drdrill-tools-")
            .suffix(".yaml")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(folder)?;
        // A single-quoted YAML scalar takes any character but a newline
        // (which a URI cannot hold); a quote is written twice.
        writeln!(file, "uri: '{}'", uri.expose_secret().replace('\'', "''"))?;
        file.as_file().sync_all()?;
        Ok(Self { file })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// `command` with its `--uri=...` argument replaced by `--config=FILE`.
    pub fn apply(&self, command: &[OsString]) -> Vec<OsString> {
        command
            .iter()
            .map(|argument| {
                if argument.to_str().is_some_and(|text| text.starts_with(URI_FLAG)) {
                    let mut flag = OsString::from("--config=");
                    flag.push(self.path());
                    flag
                } else {
                    argument.clone()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_moves_to_a_private_file_that_goes_away() {
        let folder = tempfile::tempdir().unwrap();
        let uri = MongoUri::parse("mongodb://backup:it's secret@db1:27017/").unwrap();
        let config = ConfigFile::write(folder.path(), &uri).unwrap();
        let path = config.path().to_owned();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "uri: 'mongodb://backup:it''s secret@db1:27017/'\n");
        let command = config.apply(&[
            "mongodump".into(),
            format!("--uri={}", uri.expose_secret()).into(),
            "--db=x".into(),
        ]);
        assert_eq!(command[1], OsString::from(format!("--config={}", path.display())));
        assert_eq!(command[2], OsString::from("--db=x"));
        drop(config);
        assert!(!path.exists());
    }
}
