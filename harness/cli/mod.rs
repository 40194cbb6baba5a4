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
    /// Everything as expected.
    Success,
    /// It ran, and what it checked did not hold (a difference, a failed drill).
    Failed,
    /// It could not reach a verdict (a drill that was interrupted or skipped).
    Inconclusive,
}

/// Exit codes, as `shared/spec/drill-semantics.md` and the README list them:
/// 0 success, 1 ran and found a failure, 2 could not run (bad input, no
/// server, interrupted) or inconclusive.
fn exit_code(result: &anyhow::Result<Outcome>) -> u8 {
    match result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Ok(Outcome::Inconclusive) | Err(_) => 2,
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
        eprintln!("error: {}", drdrill::uri::redact(&render_error(error)));
    }
    ExitCode::from(exit_code(&result))
}

/// The error and its causes on one line, each cause once.
fn render_error(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
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
