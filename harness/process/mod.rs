//! Child processes: the one runner ([`run_process`]: its own process
//! group, a timeout, bounded output scrubbed of secrets, the group killed
//! on timeout, cancellation and exit), the one environment builder
//! ([`EnvBuilder`]) for every command a drill or a backup engine starts,
//! and the one program finder ([`ProgramSearch`]: a variable, else
//! candidates) for the programs they start.
//!
//! It never decides what a command's result means: the command engine,
//! the tools engine and the `exec` and `disaster` steps do.

mod env;
mod find;
mod run;

pub use env::EnvBuilder;
pub use find::{Found, Misnamed, ProgramSearch, find_on_path, is_executable, path_candidates};
pub use run::{CommandExit, OUTPUT_LIMIT, ProcessRun, run_process};
