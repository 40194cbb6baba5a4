//! What a user reads when they make the usual mistakes (issue 15): each
//! mistake ends with one line that says what to write instead.

use crate::ctx::{self, text};

#[test]
fn an_archive_path_after_a_space_names_the_equals_form() {
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("x.archive.gz");
    let archive = archive.to_str().unwrap();
    // As a runbook writes it: the tools take `--archive=FILE`, so this would
    // read standard input.
    let output = ctx::run_drdrill(&["restore", "--gzip", "--archive", archive, "--uri", "mongodb://127.0.0.1:9/"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("write `--archive={archive}`")),
        "{stderr}"
    );
    let output = ctx::run_drdrill(&["dump", "--db", "shepherd_cms", "--archive", archive]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("write `--archive={archive}`")), "{stderr}");
    assert!(!folder.path().join("x.archive.gz").exists(), "nothing may be written");
}
