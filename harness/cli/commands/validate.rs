//! `drdrill validate`: checks scenario files without starting anything and
//! reports every problem at once, located.

use std::path::PathBuf;

use crate::cli::Outcome;

/// Validates every file; exit 0 when all are valid, 2 otherwise.
pub async fn run(files: Vec<PathBuf>, json: bool) -> anyhow::Result<Outcome> {
    let mut problems = Vec::new();
    let mut valid = Vec::new();
    let paths = drdrill::scenario::discover(&files, &[])?;
    for path in paths {
        match drdrill::scenario::validate_file(&path) {
            Ok(scenario) => valid.push(scenario.name),
            Err(errors) => problems.push(errors.to_string()),
        }
    }
    if json {
        crate::cli::output::print_json(&serde_json::json!({ "valid": valid, "problems": problems }))?;
    } else {
        for name in &valid {
            println!("ok: {name}");
        }
        for problem in &problems {
            eprint!("{problem}");
            if !problem.ends_with('\n') {
                eprintln!();
            }
        }
    }
    Ok(if problems.is_empty() {
        Outcome::Success
    } else {
        Outcome::Inconclusive
    })
}
