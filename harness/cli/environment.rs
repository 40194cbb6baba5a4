//! Every environment variable the binary reads, in one list: shown under
//! `drdrill --help` and in the README, and checked against the sources by a
//! test, so a setting cannot be read without being documented.

/// The text after `drdrill --help`.
pub const HELP: &str = "\
Environment:
  DRDRILL_URI           default --uri of the commands that talk to a server
  DRDRILL_KEEP          =1: leave deployments running after run/serve
  DRDRILL_FERRETDB      the ferretdb executable (default: .tools/bin of the project, then PATH)
  DRDRILL_MONGOD        the mongod executable (default: PATH)
  DRDRILL_PG_BIN        PostgreSQL's initdb/pg_ctl folder (default: /usr/lib/postgresql/*/bin)
  DRDRILL_MONGODUMP     the mongodump of the tools engine (default: PATH)
  DRDRILL_MONGORESTORE  the mongorestore of the tools engine (default: PATH)
  DRDRILL_WORK_DIR      where local nodes keep their data (default: <temp>/drdrill)
  DRDRILL_STATE_DIR     run records for drdrill clean (default: ~/.local/state/drdrill)
  XDG_STATE_HOME        see DRDRILL_STATE_DIR
  DRDRILL_HISTORY       the drill history: postgresql:// URL or SQLite file (default: <state dir>/history.db)
  DRDRILL_WEBHOOK       default --notify: where failures, regressions and overdue drills are posted
  AWS_ENDPOINT_URL      an s3:// store's endpoint when its [stores] table names none
  AWS_REGION            an s3:// store's region when its table names none (default: us-east-1)
  AWS_ACCESS_KEY_ID     an s3:// store's access key (with AWS_SECRET_ACCESS_KEY)
  AWS_SECRET_ACCESS_KEY an s3:// store's secret key
  DRDRILL_S3_CREDENTIALS_FILE  else a credentials file (AWS's format) for s3:// stores
  DRDRILL_VERSITYGW     the versitygw of gateway stores (default: .tools/bin of the project, then PATH)
  DOCKER_HOST           the container engine's socket (default: Docker's, then Podman's)
  XDG_RUNTIME_DIR       where a rootless Podman's socket is looked for
  CI                    set: no progress bars, even on a terminal
drdrill doctor shows which variable or path chose each component.";

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::HELP;

    /// Variables read only by tests, not by the binary.
    const TEST_ONLY: &[&str] = &["DRDRILL_BLESS"];

    /// Variables the harness gives to the commands it runs (documented in the
    /// README's "Writing a scenario"), not read by it.
    const GIVEN_TO_COMMANDS: &[&str] = &[
        "DRDRILL_SCENARIO_DIR",
        "DRDRILL_RUN_ID",
        "DRDRILL_BACKUP_DIR",
        "DRDRILL_PROJECT_DIR",
        // A managed failover's runbook command: the standby it promotes.
        "DRDRILL_STANDBY_PGDATA",
        "DRDRILL_STANDBY_PGPORT",
    ];

    fn sources(folder: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }

    /// The names in `var_os("X")`, `var("X")` and clap's `env = "X"`, and
    /// every `"DRDRILL_..."` literal (a variable's name passed to a reader).
    fn variables_read(text: &str) -> Vec<String> {
        let mut names = Vec::new();
        for opener in ["var_os(\"", "env::var(\"", "env = \"", "\"DRDRILL_"] {
            for (at, _) in text.match_indices(opener) {
                let start = at + opener.len() - if opener == "\"DRDRILL_" { "DRDRILL_".len() } else { 0 };
                let rest = &text[start..];
                let end = rest
                    .find(|character: char| !(character.is_ascii_uppercase() || character == '_'))
                    .unwrap_or(rest.len());
                if end > 0 && rest[end..].starts_with('"') {
                    names.push(rest[..end].to_owned());
                }
            }
        }
        names
    }

    #[test]
    fn every_variable_the_binary_reads_is_in_help_and_readme() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        sources(&root.join("harness"), &mut texts);
        // This file names the variables as the list's own data.
        texts.retain(|text| !text.contains("GIVEN_TO_COMMANDS"));
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let mut read: Vec<String> = texts.iter().flat_map(|text| variables_read(text)).collect();
        read.sort();
        read.dedup();
        read.retain(|name| {
            !TEST_ONLY.contains(&name.as_str())
                && !GIVEN_TO_COMMANDS.contains(&name.as_str())
                && name != "PATH"
                && name != "HOME"
        });
        for expected in ["DRDRILL_FERRETDB", "DRDRILL_MONGODUMP", "DOCKER_HOST", "DRDRILL_KEEP"] {
            assert!(read.contains(&expected.to_owned()), "{expected} not found: {read:?}");
        }
        for name in &read {
            assert!(HELP.contains(&format!("  {name} ")), "{name} is read but not in --help");
            assert!(
                readme.contains(&format!("`{name}`")),
                "{name} is read but not in the README"
            );
        }
    }
}
