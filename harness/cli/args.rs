//! The command line as clap sees it. These raw types are resolved into
//! settings by each command; nothing here talks to a server.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use drdrill::provider::{Backend, Engine};

/// Disaster-recovery drills for MongoDB: start deployments, seed them, back
/// them up, break them, restore them, and measure RTO and RPO against
/// objectives.
#[derive(Debug, Parser)]
#[command(name = "drdrill", version, about, long_about = None, propagate_version = true, after_help = super::environment::HELP)]
pub struct Cli {
    /// Never draw progress bars, even on a terminal.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command, one sentence each in `--help`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a local deployment, print its URI, and stop it cleanly on Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Fill a database with the deterministic configuration-management dataset.
    Seed(SeedArgs),
    /// Print per-collection count, MD5 (dbHash algorithm) and indexes of a database.
    Checksum(ChecksumArgs),
    /// Compare a database on two deployments and name missing, extra and changed documents (exit 1 on a difference).
    Compare(CompareArgs),
    /// Remove processes, folders and containers left behind by killed runs.
    Clean(CleanArgs),
    /// List the containers provider's images, build the FerretDB one offline and pull missing ones (exit 2 when one stays missing).
    Images(super::commands::images::ImagesArgs),
    /// Dump a database as mongodump does (same flags for this subset), with a manifest beside it.
    Dump(super::commands::dump::DumpArgs),
    /// Restore a backup as mongorestore does (same flags for this subset; exit 1 on failed documents or indexes).
    Restore(super::commands::restore::RestoreArgs),
    /// Check a backup on disk without a server: files, documents, metadata, counts and MD5s (exit 1 on a problem).
    VerifyBackup(super::commands::verify_backup::VerifyBackupArgs),
    /// Show which engines, backends and tools are usable here and the command that fixes each one that is not.
    Doctor(DoctorArgs),
    /// Run scenario files, folders or tagged scenarios and write JSON, JUnit, summary and timeline reports.
    Run(RunArgs),
    /// Check scenario files and report every problem with file, line and column (exit 2 when any).
    Validate(ValidateArgs),
    /// Lint backup scripts, manifests, compose files and runbooks for steps that will fail or lie (exit 1 on a finding).
    Lint(super::commands::lint::LintArgs),
    /// Audit a backup store against a retention policy (30d,12w,12m): keepers, violations, prune plan; deletes only with --apply (exit 1 on a violation).
    Retention(super::commands::retention::RetentionArgs),
    /// Show the recorded drills per scenario as a table, JSON or an HTML page of trend charts.
    History(super::commands::history::HistoryArgs),
    /// List each scenario's last pass, last run and cadence (exit 1 when one is overdue or its last run failed).
    Status(super::commands::status::StatusArgs),
    /// The release gate: latest runs passed, none overdue, no regression against the median (exit 1 otherwise).
    Gate(super::commands::gate::GateArgs),
    /// Write the history as Prometheus metrics to a textfile or serve them on /metrics.
    Metrics(super::commands::metrics::MetricsArgs),
}

/// Where failures, regressions and overdue scenarios are announced (`--notify`).
#[derive(Debug, Clone, Args)]
pub struct NotifyArg {
    /// Post a Slack-compatible message here on a failure, regression or overdue scenario (retried; never changes the exit status).
    #[arg(long = "notify", env = "DRDRILL_WEBHOOK", hide_env_values = true, value_name = "URL")]
    pub notify: Option<String>,
}

/// What `status` and `gate` share: the history they read and the webhook
/// they announce problems to.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The history.
    #[command(flatten)]
    pub history: HistoryArg,
    /// Where problems are announced.
    #[command(flatten)]
    pub notify: NotifyArg,
}

/// Where the drill history is (`--history`).
#[derive(Debug, Clone, Args)]
pub struct HistoryArg {
    /// The drill history: a postgresql:// URL or an SQLite file (default: $DRDRILL_STATE_DIR/history.db).
    #[arg(
        long = "history",
        env = "DRDRILL_HISTORY",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub history: Option<String>,
}

/// `drdrill run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders (default: `scenarios/`).
    #[arg(default_value = "scenarios")]
    pub scenarios: Vec<PathBuf>,
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Folder for the per-drill report folders.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Combined JUnit file (default: `<out>/junit.xml`).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Combined JSON report (default: `<out>/report.json`).
    #[arg(long = "json", value_name = "PATH")]
    pub json_report: Option<PathBuf>,
    /// Run on this provider instead of each scenario's own.
    #[arg(long, value_enum)]
    pub provider: Option<drdrill::provider::ProviderKind>,
    /// Run on this engine instead of each scenario's own (FerretDB runs SQLite).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Folder for deployments' data (default: $DRDRILL_WORK_DIR or the temp folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Leave deployments running after each drill, for debugging.
    #[arg(long, env = "DRDRILL_KEEP")]
    pub keep: bool,
    /// Allow destructive steps against external deployments (the scenario must allow them too).
    #[arg(long)]
    pub allow_destructive: bool,
    /// Where every finished drill is recorded.
    #[command(flatten)]
    pub history: HistoryArg,
    /// Where a drill that did not pass is announced.
    #[command(flatten)]
    pub notify: NotifyArg,
}

/// `drdrill doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `drdrill validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Scenario files or folders.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `drdrill serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Server implementation.
    #[arg(long, value_enum, default_value_t = Engine::Ferretdb)]
    pub engine: Engine,
    /// FerretDB storage backend.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    pub backend: Backend,
    /// Number of nodes.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=7))]
    pub nodes: u16,
    /// Folder for the run's data (default: $DRDRILL_WORK_DIR or the temp folder).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Leave processes and data in place on exit, for debugging.
    #[arg(long, env = "DRDRILL_KEEP")]
    pub keep: bool,
    /// Seconds a node may take to answer `hello`.
    #[arg(long, default_value_t = 30)]
    pub ready_timeout: u64,
}

/// A connection to a deployment and a database.
#[derive(Debug, Args)]
pub struct Target {
    /// Connection string (credentials are never printed).
    #[arg(long, env = "DRDRILL_URI")]
    pub uri: String,
    /// Database name.
    #[arg(long, default_value = "shepherd_cms")]
    pub db: String,
}

/// `drdrill seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where to seed.
    #[command(flatten)]
    pub target: Target,
    /// Dataset profile: a built-in name or a TOML file.
    #[arg(long, default_value = "shepherd-cms")]
    pub profile: String,
    /// Total number of documents, split across collections.
    #[arg(long, default_value_t = 10_000, value_parser = parse_documents)]
    pub docs: u64,
    /// Random seed: the same seed and size give byte-identical documents.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Drop the profile's collections first if they exist.
    #[arg(long)]
    pub drop: bool,
}

/// `drdrill checksum`.
#[derive(Debug, Args)]
pub struct ChecksumArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// What to checksum.
    #[command(flatten)]
    pub target: Target,
}

/// `drdrill compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The reference deployment.
    #[arg(long)]
    pub source: String,
    /// The deployment compared with it.
    #[arg(long)]
    pub target: String,
    /// Database name on both.
    #[arg(long, default_value = "shepherd_cms")]
    pub db: String,
    /// How many `_id`s to list per kind of difference.
    #[arg(long, default_value_t = 20)]
    pub max_ids: usize,
}

/// `drdrill clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Print JSON for machines instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only this run.
    #[arg(long)]
    pub run: Option<String>,
    /// Also runs whose harness process is still alive (e.g. kept runs).
    #[arg(long)]
    pub all: bool,
    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,
}

/// Why `--documents` was refused.
#[derive(Debug, thiserror::Error)]
enum DocumentsError {
    /// Not a whole number.
    #[error("`{0}` is not a number of documents")]
    NotANumber(String),
    /// Zero.
    #[error("must be at least 1")]
    Zero,
    /// More than the harness seeds.
    #[error("at most 100,000,000 documents")]
    TooMany,
}

fn parse_documents(text: &str) -> Result<u64, DocumentsError> {
    let value: u64 = text
        .replace('_', "")
        .parse()
        .map_err(|_| DocumentsError::NotANumber(text.to_string()))?;
    if value == 0 {
        return Err(DocumentsError::Zero);
    }
    if value > 100_000_000 {
        return Err(DocumentsError::TooMany);
    }
    Ok(value)
}
