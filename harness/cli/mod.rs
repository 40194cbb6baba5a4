//! The command line: clap types ([`args`]), one file per command
//! ([`commands`]), terminal output ([`output`]), and the one place where
//! outcomes and errors become exit codes ([`exit_code`]).

mod args;
mod commands;
mod environment;
mod live;
mod output;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;

/// What a command that ran to the end found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything as expected (every drill passed, a comparison agreed).
    Success,
    /// It ran, and what it checked did not hold (a difference, a failed drill).
    Failed,
    /// It could not reach a verdict (a drill whose result cannot be
    /// trusted, a bad scenario file).
    Inconclusive,
    /// The engine cannot run the drill at all.
    Skipped,
    /// The operator stopped it (Ctrl-C, SIGTERM).
    Interrupted,
}

impl Outcome {
    /// A drill's outcome as the exit status weighs it: an interrupted drill
    /// is interrupted whatever its verdict says.
    pub fn of_drill(drill: &drdrill::outcome::DrillOutcome) -> Self {
        use drdrill::outcome::VerdictKind;
        if drill.interrupted {
            return Outcome::Interrupted;
        }
        match drill.verdict.kind {
            VerdictKind::Passed => Outcome::Success,
            VerdictKind::Failed => Outcome::Failed,
            VerdictKind::Inconclusive => Outcome::Inconclusive,
            VerdictKind::Skipped => Outcome::Skipped,
        }
    }

    /// The outcome of several drills: the one with the highest exit status
    /// (2 over 1 over 0); no drill at all proves nothing, so inconclusive.
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes
            .into_iter()
            .max_by_key(|outcome| exit_code(&Ok(*outcome)))
            .unwrap_or(Outcome::Inconclusive)
    }
}

/// Exit codes, as `shared/spec/drill-semantics.md` and the README list them:
/// 0 success, 1 ran and found a failure, 2 could not run (bad input, no
/// server, interrupted, skipped) or inconclusive. This is the one place
/// where outcomes and errors become exit statuses; reports show the same
/// numbers because the run command asks here.
pub fn exit_code(result: &anyhow::Result<Outcome>) -> u8 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Ok(Outcome::Inconclusive | Outcome::Skipped | Outcome::Interrupted) | Err(_) => 2,
    }
}

/// Parses the command line, runs the command, prints an error as one line
/// (with its causes), and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(commands::run(cli));
    // Do not wait for blocking tasks still draining a cursor after an error.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if let Err(error) = &result {
        eprintln!(
            "error: {}",
            drdrill::uri::redact(&drdrill::error::chain(error.as_ref()))
        );
    }
    ExitCode::from(exit_code(&result))
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_semantics_page() {
        assert_eq!(exit_code(&Ok(Outcome::Success)), 0);
        assert_eq!(exit_code(&Ok(Outcome::Failed)), 1);
        assert_eq!(exit_code(&Ok(Outcome::Inconclusive)), 2);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("no server"))), 2);
    }

    #[test]
    fn every_verdict_has_its_exit_status() {
        let code = |outcome| exit_code(&Ok(outcome));
        assert_eq!(code(Outcome::Success), 0, "passed");
        assert_eq!(code(Outcome::Failed), 1, "failed");
        assert_eq!(code(Outcome::Inconclusive), 2, "inconclusive");
        assert_eq!(code(Outcome::Skipped), 2, "skipped");
        assert_eq!(code(Outcome::Interrupted), 2, "interrupted");
        assert_eq!(exit_code(&Err(anyhow::anyhow!("cannot write the reports"))), 2, "error");
    }

    #[test]
    fn exit_code_precedence_is_two_over_one_over_zero() {
        // Moved from measure::verdict with the exit code itself.
        let exit_code = |outcomes: &[Outcome]| exit_code(&Ok(Outcome::worst(outcomes.iter().copied())));
        let failed = Outcome::Failed;
        let skipped = Outcome::Skipped;
        let inconclusive = Outcome::Interrupted;
        assert_eq!(exit_code(&[Outcome::Success, Outcome::Success]), 0);
        assert_eq!(exit_code(&[Outcome::Success, failed]), 1);
        assert_eq!(exit_code(&[failed, skipped]), 2);
        assert_eq!(exit_code(&[Outcome::Success, inconclusive, failed]), 2);
        assert_eq!(exit_code(&[]), 2);
    }

    #[test]
    fn a_drill_outcome_maps_by_its_verdict_unless_interrupted() {
        use drdrill::outcome::VerdictKind;
        use drdrill::report::sample::{SampleKind, sample_report};
        // A report carries every field of an outcome, so a sample report
        // reads back as one.
        let sample = serde_json::to_value(sample_report(SampleKind::Passed)).unwrap();
        let mut drill: drdrill::outcome::DrillOutcome = serde_json::from_value(sample).unwrap();
        for (kind, expected) in [
            (VerdictKind::Passed, Outcome::Success),
            (VerdictKind::Failed, Outcome::Failed),
            (VerdictKind::Inconclusive, Outcome::Inconclusive),
            (VerdictKind::Skipped, Outcome::Skipped),
        ] {
            drill.verdict.kind = kind;
            assert_eq!(Outcome::of_drill(&drill), expected);
        }
        drill.interrupted = true;
        assert_eq!(Outcome::of_drill(&drill), Outcome::Interrupted);
    }

    #[test]
    fn help_has_one_sentence_per_command() {
        use clap::CommandFactory;
        let command = Cli::command();
        for sub in command.get_subcommands() {
            let about = sub.get_about().map(|text| text.to_string()).unwrap_or_default();
            // One sentence each: clap drops the final period of a one-line help.
            assert!(
                !about.contains(". "),
                "{}: more than one sentence: {about:?}",
                sub.get_name()
            );
            assert!(!about.is_empty(), "{} has no help sentence", sub.get_name());
        }
        command.debug_assert();
    }
}
