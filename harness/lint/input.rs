//! Inputs: walking the paths given, telling shell scripts, manifests,
//! compose files and Markdown runbooks apart, and running the rules over
//! each with its findings placed in its file.

use std::path::{Path, PathBuf};

use super::finding::Finding;
use super::markdown::{self, BlockKind};
use super::rules::{self, KnownVolumes, Place};
use super::shell::{self, Origin};
use super::{compose, kubernetes, yaml};

/// Why the linter could not read its input.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// A path given, or found in a folder, could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not UTF-8 text.
    #[error("{} is not UTF-8 text", path.display())]
    NotText {
        /// The path.
        path: PathBuf,
    },
}

/// What a file is, for the linter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A shell script (shebang or `.sh`).
    Shell,
    /// A Kubernetes manifest (CronJob, Job, Pod, Deployment).
    Kubernetes,
    /// A compose file.
    Compose,
    /// A Markdown runbook.
    Markdown,
}

/// The findings of one lint run and the files it read.
#[derive(Debug, Default)]
pub struct LintReport {
    /// Every file linted, with its kind.
    pub files: Vec<(PathBuf, InputKind)>,
    /// Files in the folders given that are none of the kinds (not read).
    pub skipped: Vec<PathBuf>,
    /// Every finding, by file, line and column.
    pub findings: Vec<Finding>,
}

/// The file's text; `None` for a binary file found in a folder under a name
/// none of the kinds has (a `.bson` beside the scripts is not an error).
fn read(path: &Path, given: bool) -> Result<Option<String>, LintError> {
    let bytes = std::fs::read(path).map_err(|source| LintError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let candidate = given
        || path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| matches!(extension, "sh" | "bash" | "md" | "markdown" | "yaml" | "yml"));
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(_) if candidate => Err(LintError::NotText {
            path: path.to_path_buf(),
        }),
        Err(_) => Ok(None),
    }
}

/// What `path` (with text `text`) is, or `None` when it is none of the kinds.
pub fn classify(path: &Path, text: &str) -> Option<InputKind> {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or_default();
    if compose::is_compose_name(name) {
        return Some(InputKind::Compose);
    }
    match extension {
        "md" | "markdown" => return Some(InputKind::Markdown),
        "sh" | "bash" => return Some(InputKind::Shell),
        "yaml" | "yml" => {
            let manifest = yaml::parse_documents(text, 1).iter().any(kubernetes::is_manifest);
            return manifest.then_some(InputKind::Kubernetes);
        }
        _ => {}
    }
    let shebang = text.lines().next().filter(|line| line.starts_with("#!"))?;
    let interpreter = shebang
        .split_whitespace()
        .find(|word| !word.ends_with("env") && !word.starts_with('-'))?;
    matches!(
        interpreter.rsplit('/').next(),
        Some("sh" | "bash" | "dash" | "ash" | "zsh" | "ksh")
    )
    .then_some(InputKind::Shell)
}

fn walk(path: &Path, found: &mut Vec<PathBuf>) -> Result<(), LintError> {
    let metadata = std::fs::metadata(path).map_err(|source| LintError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !metadata.is_dir() {
        found.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|source| LintError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut children: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    children.sort();
    for child in children {
        let hidden = child
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with('.'));
        if !hidden {
            walk(&child, found)?;
        }
    }
    Ok(())
}

/// YAML text: compose or Kubernetes documents, findings as spots in file positions.
fn yaml_findings(text: &str, first_line: usize, volumes: &KnownVolumes) -> Vec<super::finding::Spot> {
    yaml::parse_documents(text, first_line)
        .iter()
        .flat_map(|document| {
            if document.get("services").is_some() {
                compose::check(document, volumes)
            } else if kubernetes::is_manifest(document) {
                kubernetes::check(document, volumes)
            } else {
                Vec::new()
            }
        })
        .collect()
}

fn lint_text(kind: InputKind, text: &str, volumes: &KnownVolumes) -> Vec<super::finding::Spot> {
    match kind {
        InputKind::Shell => rules::check(&shell::parse(text, Origin::FILE), &Place::Host, volumes),
        InputKind::Kubernetes | InputKind::Compose => yaml_findings(text, 1, volumes),
        InputKind::Markdown => markdown::blocks(text)
            .into_iter()
            .flat_map(|block| match block.kind {
                BlockKind::Shell => rules::check(&shell::parse(&block.text, block.origin), &Place::Host, volumes),
                BlockKind::Yaml => yaml_findings(&block.text, block.origin.line, volumes),
            })
            .collect(),
    }
}

/// Lints every file of `paths` (files or folders, walked in name order).
/// Compose files are read first, so that `docker exec SERVICE` in a script
/// is judged by the volumes the compose file gives that service.
pub fn lint_paths(paths: &[PathBuf]) -> Result<LintReport, LintError> {
    let mut found = Vec::new();
    for path in paths {
        walk(path, &mut found)?;
    }
    let mut report = LintReport::default();
    let mut inputs = Vec::new();
    for path in found {
        let given = paths.contains(&path);
        match read(&path, given)?.and_then(|text| classify(&path, &text).map(|kind| (kind, text))) {
            Some((kind, text)) => inputs.push((path, kind, text)),
            None => report.skipped.push(path),
        }
    }
    let mut volumes = KnownVolumes::new();
    for (_, kind, text) in &inputs {
        if *kind == InputKind::Compose {
            yaml::parse_documents(text, 1)
                .iter()
                .for_each(|document| compose::collect_volumes(document, &mut volumes));
        }
    }
    for (path, kind, text) in inputs {
        let mut spots = lint_text(kind, &text, &volumes);
        spots.sort_by_key(|spot| spot.position);
        report
            .findings
            .extend(spots.into_iter().map(|spot| spot.in_file(&path)));
        report.files.push((path, kind));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_file_in_a_folder_is_skipped_but_a_binary_script_given_is_an_error() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("data.bson"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::write(
            folder.path().join("backup.sh"),
            "#!/bin/sh\nset -e\nmongodump --oplog --out /b\n",
        )
        .unwrap();
        let report = lint_paths(&[folder.path().to_path_buf()]).unwrap();
        assert_eq!(report.files.len(), 1);
        assert_eq!(report.skipped, [folder.path().join("data.bson")]);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        std::fs::write(folder.path().join("bad.sh"), [0xff, 0xfe]).unwrap();
        let error = lint_paths(&[folder.path().join("bad.sh")]).unwrap_err();
        assert!(matches!(error, LintError::NotText { .. }), "{error}");
    }
}
