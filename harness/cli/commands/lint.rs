//! `drdrill lint`: the runbook linter on the command line. Findings go to
//! stdout, one `file:line:column: rule-id: message (hint: ...)` line each,
//! or as JSON; exit 1 when any is an error or a warning.

use std::path::PathBuf;

use clap::Args;
use drdrill::lint::{self, LintReport};

use crate::cli::Outcome;

/// `drdrill lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Print JSON for machines instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Scripts, manifests, compose files, Markdown runbooks or folders of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Lints the paths; exit 0 when nothing fails, 1 on an error or warning, 2 when a path cannot be read.
pub async fn run(args: LintArgs) -> anyhow::Result<Outcome> {
    let report = lint::lint_paths(&args.paths)?;
    if args.json {
        crate::cli::output::print_json(&json(&report))?;
    } else {
        for finding in &report.findings {
            println!("{finding}");
        }
        eprintln!(
            "{} files linted, {} findings",
            report.files.len(),
            report.findings.len()
        );
    }
    let fails = report.findings.iter().any(|finding| finding.severity.fails());
    Ok(if fails { Outcome::Failed } else { Outcome::Success })
}

fn json(report: &LintReport) -> serde_json::Value {
    let files: Vec<String> = report
        .files
        .iter()
        .map(|(path, _)| path.display().to_string())
        .collect();
    serde_json::json!({
        "schema_version": 1,
        "files": files,
        "findings": report.findings.iter().map(|finding| serde_json::json!({
            "rule": finding.rule.id(),
            "severity": finding.severity,
            "file": finding.file.display().to_string(),
            "line": finding.line,
            "column": finding.column,
            "message": finding.message,
            "hint": finding.hint,
        })).collect::<Vec<_>>(),
    })
}
