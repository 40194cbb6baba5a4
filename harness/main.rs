//! The `drdrill` binary: tracing, the CLI, and the exit status.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
