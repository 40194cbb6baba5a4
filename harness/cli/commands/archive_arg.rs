//! `--archive` as mongodump and mongorestore take it: `--archive=FILE`, or
//! `--archive` alone for standard input or output. Written with a space
//! (`--archive /x.gz`), the path is not the archive's: the command would
//! read or write the terminal and fail far from the mistake, so it is caught
//! here and the right spelling shown.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Which way the archive flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `restore`: the archive is read (standard input when alone).
    Read,
    /// `dump`: the archive is written (standard output when alone).
    Write,
}

/// Refuses `--archive PATH` (a space) and `--archive` alone on a terminal.
/// `stray` is the positional path that stands after `--archive`, if any.
pub fn check(archive: Option<&Path>, stray: Option<&Path>, direction: Direction) -> anyhow::Result<()> {
    let alone = archive.is_some_and(|path| path.as_os_str() == "-");
    if alone && let Some(path) = stray {
        anyhow::bail!(
            "--archive takes its file with `=`: write `--archive={}` (`--archive` alone {} standard {})",
            path.display(),
            direction.verb(),
            direction.stream()
        );
    }
    let terminal = match direction {
        Direction::Read => std::io::stdin().is_terminal(),
        Direction::Write => std::io::stdout().is_terminal(),
    };
    if alone && terminal {
        anyhow::bail!(
            "--archive alone {} standard {}, which is a terminal: give the file as --archive=FILE, or {}",
            direction.verb(),
            direction.stream(),
            match direction {
                Direction::Read => "pipe an archive in",
                Direction::Write => "redirect the output to a file",
            }
        );
    }
    Ok(())
}

/// The archive's path, `-` meaning the standard stream.
pub fn stream_path(path: &Path, direction: Direction) -> PathBuf {
    if path.as_os_str() != "-" {
        return path.to_path_buf();
    }
    PathBuf::from(match direction {
        Direction::Read => "/dev/stdin",
        Direction::Write => "/dev/stdout",
    })
}

impl Direction {
    fn verb(self) -> &'static str {
        match self {
            Self::Read => "reads",
            Self::Write => "writes",
        }
    }

    fn stream(self) -> &'static str {
        match self {
            Self::Read => "input",
            Self::Write => "output",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_after_a_lone_archive_flag_names_the_equals_form() {
        let error = check(
            Some(Path::new("-")),
            Some(Path::new("/backups/x.archive.gz")),
            Direction::Read,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "--archive takes its file with `=`: write `--archive=/backups/x.archive.gz` \
             (`--archive` alone reads standard input)"
        );
        assert!(check(Some(Path::new("/x.gz")), None, Direction::Read).is_ok());
        assert!(check(None, Some(Path::new("dump")), Direction::Read).is_ok());
        assert_eq!(
            stream_path(Path::new("-"), Direction::Write),
            PathBuf::from("/dev/stdout")
        );
        assert_eq!(stream_path(Path::new("a.gz"), Direction::Read), PathBuf::from("a.gz"));
    }
}
