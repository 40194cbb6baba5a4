//! The runbook linter behind `drdrill lint`: it reads a team's backup
//! scripts, Kubernetes manifests, compose files and Markdown runbooks and
//! reports, located at file, line and column, what in them will fail or lie
//! (unknown tool flags, unchecked dumps that report success, retention by
//! age, passwords on command lines, backups inside containers, verifications
//! that verify nothing).
//!
//! It owns input discovery ([`input`]), a small shell tokenizer
//! ([`shell`]), a line-keeping YAML reader ([`yaml`]), one reader per input
//! kind ([`kubernetes`], [`compose`], [`markdown`]), the rules ([`rules`])
//! and the tools' option tables ([`options`], data in `tool_options.txt`).
//! It never runs a script, never talks to a server and never prints: it
//! returns a [`LintReport`], and the CLI renders it.

pub mod compose;
pub mod finding;
pub mod input;
pub mod kubernetes;
pub mod markdown;
pub mod options;
pub mod rules;
pub mod shell;
pub mod yaml;

pub use finding::{Finding, Rule, Severity};
pub use input::{InputKind, LintError, LintReport, lint_paths};
