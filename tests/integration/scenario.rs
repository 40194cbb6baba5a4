//! Scenario files from disk: the malformed corpus in `tests/scenarios/malformed/`
//! must each yield located errors (and the messages each file lists in its
//! `# expect:` lines), and no input, down to every prefix of a valid file,
//! may make validation panic. Pure file work: no server.

use std::path::{Path, PathBuf};

use drdrill::scenario::{discover, validate_bytes, validate_file, validate_str};

use crate::ctx::project_root;

const VALID: &str = r#"name = "prefix-loop"
description = "a valid scenario whose every prefix is validated"
tags = ["weekly", "ci-gate"]
expect = { fail = "rpo" }

[topology]
provider = "local"
engine = "ferretdb"
backend = "sqlite"
nodes = 1

[dataset]
profile = "shepherd-cms"
documents = 20000
seed = 42
database = "shepherd_cms"

[workload]
tick_interval = "100ms"
write_concern = "majority"
probe_interval = "250ms"

[objectives]
rto = "60m"
rpo = "15m"
rto_applies_to = "service"

[[steps]]
kind = "seed"

[[steps]]
kind = "backup"
engine = "command"
command = "runbook/backup-mongo.sh"
timeout = "10m"

[[steps]]
kind = "disaster"
action = "drop-collection"
collection = "configurations"

[[steps]]
kind = "restore"
target = "same-node"
drop = true
collections = ["configurations"]

[[steps]]
kind = "verify"

[[steps]]
kind = "wait"
duration = "5s"

[[steps]]
kind = "exec"
command = "runbook/notify.sh"
"#;

fn corpus() -> PathBuf {
    project_root().join("tests/scenarios/malformed")
}

/// The `# expect: ...` lines of a corpus file: messages its errors must contain.
fn expectations(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| line.strip_prefix("# expect: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_valid_scenario_is_valid() {
    let scenario = validate_str(VALID, Path::new("valid.toml")).unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(scenario.steps.len(), 7);
    assert_eq!(scenario.tags, vec!["weekly", "ci-gate"]);
}

#[test]
fn every_malformed_file_yields_located_errors() {
    let files = discover(&[corpus()], &[]).unwrap();
    assert!(files.len() >= 12, "the corpus shrank: {files:?}");
    for file in files {
        let errors = match validate_file(&file) {
            Ok(_) => panic!("{} validated", file.display()),
            Err(errors) => errors,
        };
        assert!(!errors.is_empty(), "{}", file.display());
        for diagnostic in &errors.diagnostics {
            assert!(diagnostic.line >= 1 && diagnostic.column >= 1, "{diagnostic:?}");
            assert_eq!(diagnostic.file, file);
        }
        let rendered = errors.to_string();
        assert_eq!(rendered.lines().count(), errors.len(), "{rendered}");
        assert!(!rendered.contains("secret"), "credentials leaked: {rendered}");
        for expected in expectations(&file) {
            assert!(
                rendered.contains(&expected),
                "{}: expected {expected:?} in:\n{rendered}",
                file.display()
            );
        }
    }
}

#[test]
fn binary_garbage_and_empty_files_are_refused_with_a_reason() {
    let garbage = validate_file(&corpus().join("binary-garbage.toml")).unwrap_err();
    assert!(garbage.to_string().contains("not UTF-8"), "{garbage}");
    let empty = validate_file(&corpus().join("empty.toml")).unwrap_err();
    let rendered = empty.to_string();
    assert!(rendered.contains("missing field `name`"), "{rendered}");
    assert!(rendered.contains("missing table `[dataset]`"), "{rendered}");
}

#[test]
fn no_prefix_of_a_valid_file_panics() {
    let mut refused = 0;
    for end in (0..=VALID.len()).filter(|end| VALID.is_char_boundary(*end)) {
        let prefix = &VALID[..end];
        match validate_str(prefix, Path::new("prefix.toml")) {
            Ok(_) => {}
            Err(errors) => {
                assert!(!errors.is_empty());
                refused += 1;
            }
        }
        // Byte prefixes too, through the path that checks UTF-8 first.
        let _ = validate_bytes(&VALID.as_bytes()[..end], Path::new("prefix.toml"));
    }
    // Most prefixes lack required keys; the full text is valid.
    assert!(refused > VALID.len() / 2, "only {refused} prefixes refused");
    assert!(validate_str(VALID, Path::new("full.toml")).is_ok());
}

#[test]
fn single_line_deletions_never_panic() {
    let lines: Vec<&str> = VALID.lines().collect();
    for skip in 0..lines.len() {
        let text: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != skip)
            .map(|(_, line)| *line)
            .collect();
        let _ = validate_str(&text.join("\n"), Path::new("deleted.toml"));
    }
}
