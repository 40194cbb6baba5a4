//! What the linter reports: a rule, its severity, a location, a message
//! that names what will fail or lie, and a hint.

use std::path::PathBuf;

use serde::Serialize;

/// How much a finding matters; errors and warnings fail `drdrill lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The step will fail, or will report a success that did not happen.
    Error,
    /// The step hides a failure, loses backups, or leaks a secret.
    Warning,
    /// Worth knowing; does not fail the lint.
    Info,
}

impl Severity {
    /// Whether a finding of this severity makes `drdrill lint` exit 1.
    pub fn fails(self) -> bool {
        matches!(self, Self::Error | Self::Warning)
    }
}

/// The rules, a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A mongodump/mongorestore/mongosh/mongo flag the tool does not have.
    UnknownFlag,
    /// `--archive PATH` with a space: the tool never sees PATH as the archive.
    ArchiveValue,
    /// A dump whose failure is not checked, followed by a success message.
    UncheckedDump,
    /// Retention that deletes by age, whether or not newer backups exist.
    RetentionByAge,
    /// A password on a command line, visible in `ps`.
    CredentialsInArgv,
    /// A backup written to a container's own filesystem.
    ContainerFilesystem,
    /// A verification step that verifies nothing.
    HollowVerification,
    /// A dump without `--oplog`: not a point-in-time copy under writes.
    NotPointInTime,
}

impl Rule {
    /// Every rule, in the README's order.
    pub const ALL: [Rule; 8] = [
        Rule::UnknownFlag,
        Rule::ArchiveValue,
        Rule::UncheckedDump,
        Rule::RetentionByAge,
        Rule::CredentialsInArgv,
        Rule::ContainerFilesystem,
        Rule::HollowVerification,
        Rule::NotPointInTime,
    ];

    /// The rule's id, as printed and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Self::UnknownFlag => "unknown-flag",
            Self::ArchiveValue => "archive-value",
            Self::UncheckedDump => "unchecked-dump",
            Self::RetentionByAge => "retention-by-age",
            Self::CredentialsInArgv => "credentials-in-argv",
            Self::ContainerFilesystem => "container-filesystem",
            Self::HollowVerification => "hollow-verification",
            Self::NotPointInTime => "not-point-in-time",
        }
    }

    /// The rule's severity.
    pub fn severity(self) -> Severity {
        match self {
            Self::UnknownFlag | Self::ArchiveValue | Self::UncheckedDump => Severity::Error,
            Self::NotPointInTime => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

/// One finding, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule that found it.
    pub rule: Rule,
    /// The rule's severity.
    pub severity: Severity,
    /// The file (a Markdown runbook for its fenced blocks).
    pub file: PathBuf,
    /// 1-based line in `file`.
    pub line: usize,
    /// 1-based column in `file`.
    pub column: usize,
    /// What will fail or lie.
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

/// A finding before it knows its file: what the rules return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spot {
    /// The rule.
    pub rule: Rule,
    /// File line and column.
    pub position: (usize, usize),
    /// What will fail or lie.
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

impl Spot {
    /// A finding of `rule` at `position`.
    pub fn new(rule: Rule, position: (usize, usize), message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            rule,
            position,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The finding, placed in `file`.
    pub fn in_file(self, file: &std::path::Path) -> Finding {
        Finding {
            rule: self.rule,
            severity: self.rule.severity(),
            file: file.to_path_buf(),
            line: self.position.0,
            column: self.position.1,
            message: self.message,
            hint: self.hint,
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}:{}:{}: {}: {} (hint: {})",
            self.file.display(),
            self.line,
            self.column,
            self.rule.id(),
            self.message,
            self.hint
        )
    }
}
