//! The `tools` engine: the real `mongodump` / `mongorestore` (MongoDB
//! Database Tools 100.x), found on `PATH` or through `$DRDRILL_MONGODUMP` /
//! `$DRDRILL_MONGORESTORE`. Builds their exact command lines (pure
//! functions, tested per option), runs them with a timeout, and reads their
//! log into per-collection results.
//!
//! The connection string, credentials included, never appears in the
//! tool's argument vector (visible in `ps`): [`config::ConfigFile`] hands it
//! over in a private `--config` file. Every command line or output line kept
//! for a log, an error or an outcome is redacted or scrubbed.
//!
//! By concern: `find` (where the tools are, their version),
//! `command_line` (the flags), `config` (the `--config` file), `run` (one
//! runner for dump and restore) and `parse` (their logs). This file holds
//! the tool names and the engine's error.

mod command_line;
pub mod config;
mod find;
mod parse;
mod run;

use std::path::PathBuf;
use std::time::Duration;

pub use self::command_line::{dump_command, restore_command, shown_command};
pub use self::find::{ToolSet, find, locate, version};
pub use self::parse::{RestoreTotals, ToolReport, parse_output};
pub use self::run::{dump, restore};
use super::locate::LocateError;
use crate::process::CommandExit;
#[cfg(test)]
use {
    self::find::find_in,
    super::engine::{BackupLocation, DumpRequest, Layout, RestoreRequest},
    std::ffi::OsString,
    std::path::Path,
    std::time::Instant,
};

/// One of the two tools this engine drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `mongodump`.
    Mongodump,
    /// `mongorestore`.
    Mongorestore,
}

impl Tool {
    /// The program name looked up on `PATH`.
    pub fn program_name(self) -> &'static str {
        match self {
            Tool::Mongodump => "mongodump",
            Tool::Mongorestore => "mongorestore",
        }
    }

    /// The environment variable that names the program explicitly.
    pub fn variable(self) -> &'static str {
        match self {
            Tool::Mongodump => "DRDRILL_MONGODUMP",
            Tool::Mongorestore => "DRDRILL_MONGORESTORE",
        }
    }
}

/// Why the tools engine failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolsError {
    /// The tool is neither named by its variable nor on `PATH`.
    #[error("{tool} not found on PATH (set {variable} or install MongoDB Database Tools)")]
    Missing {
        /// `mongodump` or `mongorestore`.
        tool: &'static str,
        /// `DRDRILL_MONGODUMP` or `DRDRILL_MONGORESTORE`.
        variable: &'static str,
    },
    /// The variable names something that is not an executable file.
    #[error("{variable}={path} is not an executable file")]
    NotExecutable {
        /// The variable.
        variable: &'static str,
        /// What it names.
        path: PathBuf,
    },
    /// The `--config` file holding the connection string could not be written.
    #[error("cannot write the --config file for {tool} in {folder}")]
    Config {
        /// The tool.
        tool: &'static str,
        /// The folder it was to be written in.
        folder: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("cannot start {program}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `--version` did not answer as the tools do.
    #[error("{program} --version failed ({exit:?}): {output}")]
    Version {
        /// The program.
        program: PathBuf,
        /// How it ended.
        exit: CommandExit,
        /// Its output, redacted.
        output: String,
    },
    /// The request asks for something the tool cannot express.
    #[error("{tool} cannot do this: {problem}")]
    Unsupported {
        /// The tool.
        tool: &'static str,
        /// What and why.
        problem: String,
    },
    /// Listing the database's collections (to select several for mongodump) failed.
    #[error("cannot list the collections of database {database} on {uri}")]
    ListCollections {
        /// The database.
        database: String,
        /// The deployment, redacted.
        uri: String,
        /// The cause.
        #[source]
        source: Box<mongodb::error::Error>,
    },
    /// The tool ran past its timeout and was killed.
    #[error("{tool} ran past its timeout of {timeout:?} and was killed; its output ended with: {tail}")]
    TimedOut {
        /// The tool.
        tool: &'static str,
        /// The timeout.
        timeout: Duration,
        /// Last lines of its output, redacted.
        tail: String,
        /// Its whole output, redacted.
        output: String,
    },
    /// The tool exited with a failure status for reasons not tied to one collection.
    #[error("{tool} failed ({exit:?}): {message}")]
    Failed {
        /// The tool.
        tool: &'static str,
        /// How it ended.
        exit: CommandExit,
        /// Its `Failed: ...` message, or its last output line.
        message: String,
        /// What its output says it did before failing.
        report: Box<ToolReport>,
        /// Its whole output, redacted.
        output: String,
    },
    /// The tool succeeded but its output is not where it was told to write it.
    #[error("mongodump exited 0 but left no backup")]
    NoBackup {
        /// What is there instead.
        #[source]
        source: LocateError,
    },
    /// Extracting a `.tar.gz` backup before restoring it failed.
    #[error("cannot extract {path} for mongorestore: {problem}")]
    Extract {
        /// The `.tar.gz`.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::progress::NoProgress;
    use crate::uri::MongoUri;

    const SECRET_URI: &str = "mongodb://backup:pa55word@db1:27017/?authSource=admin";

    fn uri() -> MongoUri {
        MongoUri::parse(SECRET_URI).unwrap()
    }

    fn strings(command: &[OsString]) -> Vec<String> {
        command
            .iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect()
    }

    fn dump_request(layout: Layout, out: &str) -> DumpRequest {
        DumpRequest {
            uri: uri(),
            database: "shepherd_cms".to_owned(),
            collections: None,
            exclude: Vec::new(),
            layout,
            out: PathBuf::from(out),
            parallel_collections: 0,
        }
    }

    fn restore_request(source: BackupLocation) -> RestoreRequest {
        RestoreRequest {
            uri: uri(),
            source,
            from_database: "shepherd_cms".to_owned(),
            to_database: "shepherd_cms".to_owned(),
            collections: None,
            drop: false,
            dry_run: false,
            workers_per_collection: 0,
            parallel_collections: 0,
        }
    }

    const URI_FLAG: &str = "--uri=mongodb://backup:pa55word@db1:27017/?authSource=admin";

    #[test]
    fn dump_whole_database_to_a_folder() {
        let request = dump_request(Layout::Directory { gzip: false }, "/backups/out");
        let command = dump_command(&request, Path::new("/usr/bin/mongodump")).unwrap();
        assert_eq!(
            strings(&command),
            [
                "/usr/bin/mongodump",
                URI_FLAG,
                "--db=shepherd_cms",
                "--out=/backups/out"
            ]
        );
        let shown = shown_command(&command);
        assert!(!shown.contains("pa55word"), "{shown}");
        assert!(shown.contains("--uri=mongodb://backup:****@db1:27017/"), "{shown}");
    }

    #[test]
    fn dump_gzip_folder_with_exclusions_and_parallelism() {
        let mut request = dump_request(Layout::Directory { gzip: true }, "/b/out");
        request.exclude = vec!["audit_log".to_owned(), "sessions".to_owned()];
        request.parallel_collections = 2;
        let command = dump_command(&request, Path::new("mongodump")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            [
                "--db=shepherd_cms",
                "--excludeCollection=audit_log",
                "--excludeCollection=sessions",
                "--out=/b/out",
                "--gzip",
                "--numParallelCollections=2"
            ]
        );
    }

    #[test]
    fn dump_archives() {
        let plain = dump_command(
            &dump_request(Layout::Archive { gzip: false }, "/b/x.archive"),
            Path::new("mongodump"),
        )
        .unwrap();
        assert_eq!(strings(&plain)[3..], ["--archive=/b/x.archive"]);
        let gzip = dump_command(
            &dump_request(Layout::Archive { gzip: true }, "/b/x.archive.gz"),
            Path::new("mongodump"),
        )
        .unwrap();
        assert_eq!(strings(&gzip)[3..], ["--archive=/b/x.archive.gz", "--gzip"]);
    }

    #[test]
    fn dump_collection_selection() {
        let mut request = dump_request(Layout::Directory { gzip: false }, "/b/out");
        request.collections = Some(vec!["configurations".to_owned()]);
        // An exclusion of another collection is moot and mongodump refuses the pair.
        request.exclude = vec!["audit_log".to_owned()];
        let command = dump_command(&request, Path::new("mongodump")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            ["--db=shepherd_cms", "--collection=configurations", "--out=/b/out"]
        );

        request.exclude = vec!["configurations".to_owned()];
        let error = dump_command(&request, Path::new("mongodump")).unwrap_err().to_string();
        assert!(error.contains("both selected and excluded"), "{error}");

        request.exclude.clear();
        request.collections = Some(vec!["a".to_owned(), "b".to_owned()]);
        let error = dump_command(&request, Path::new("mongodump")).unwrap_err().to_string();
        assert!(
            error.starts_with("mongodump cannot do this: select 2 collections"),
            "{error}"
        );

        request.collections = Some(Vec::new());
        assert!(dump_command(&request, Path::new("mongodump")).is_err());
    }

    #[test]
    fn restore_archives_with_options() {
        let mut request = restore_request(BackupLocation::Archive {
            path: PathBuf::from("/b/x.archive.gz"),
            gzip: true,
        });
        request.drop = true;
        request.workers_per_collection = 4;
        request.parallel_collections = 2;
        let command = restore_command(&request, Path::new("/usr/bin/mongorestore")).unwrap();
        assert_eq!(
            strings(&command),
            [
                "/usr/bin/mongorestore",
                URI_FLAG,
                "--archive=/b/x.archive.gz",
                "--gzip",
                "--nsInclude=shepherd_cms.*",
                "--drop",
                "--numInsertionWorkersPerCollection=4",
                "--numParallelCollections=2"
            ]
        );
    }

    #[test]
    fn restore_renames_selects_and_dry_runs() {
        let mut request = restore_request(BackupLocation::Archive {
            path: PathBuf::from("/b/x.archive"),
            gzip: false,
        });
        request.to_database = "restored".to_owned();
        request.collections = Some(vec!["odd*name".to_owned(), "users".to_owned()]);
        request.dry_run = true;
        let command = restore_command(&request, Path::new("mongorestore")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            [
                "--archive=/b/x.archive",
                "--nsInclude=shepherd_cms.odd\\*name",
                "--nsInclude=shepherd_cms.users",
                "--nsFrom=shepherd_cms.*",
                "--nsTo=restored.*",
                "--dryRun"
            ]
        );
        request.collections = Some(Vec::new());
        assert!(restore_command(&request, Path::new("mongorestore")).is_err());
    }

    /// A dump root `<root>/shepherd_cms/{users,with%2Fslash}.bson[.gz]`.
    fn dump_root(gzip: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let database = root.path().join("shepherd_cms");
        std::fs::create_dir(&database).unwrap();
        let suffix = if gzip { ".gz" } else { "" };
        for stem in ["users", "with%2Fslash"] {
            std::fs::write(database.join(format!("{stem}.bson{suffix}")), b"").unwrap();
        }
        root
    }

    #[test]
    fn restore_a_dump_root_folder() {
        let root = dump_root(false);
        let request = restore_request(BackupLocation::Directory {
            path: root.path().to_owned(),
            gzip: false,
        });
        let command = restore_command(&request, Path::new("mongorestore")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            [
                "--nsInclude=shepherd_cms.*".to_owned(),
                root.path().display().to_string()
            ]
        );
    }

    #[test]
    fn restore_a_database_folder_as_the_runbook_does() {
        let root = dump_root(false);
        let folder = root.path().join("shepherd_cms");
        let mut request = restore_request(BackupLocation::Directory {
            path: folder.clone(),
            gzip: false,
        });
        request.drop = true;
        let command = restore_command(&request, Path::new("mongorestore")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            [
                "--db=shepherd_cms".to_owned(),
                "--drop".to_owned(),
                folder.display().to_string()
            ]
        );
    }

    #[test]
    fn restore_one_collection_file_from_a_gzip_database_folder() {
        let root = dump_root(true);
        let folder = root.path().join("shepherd_cms");
        let mut request = restore_request(BackupLocation::Directory {
            path: folder.clone(),
            gzip: true,
        });
        request.collections = Some(vec!["with/slash".to_owned()]);
        request.to_database = "copy".to_owned();
        let command = restore_command(&request, Path::new("mongorestore")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            [
                "--gzip".to_owned(),
                "--db=copy".to_owned(),
                "--collection=with/slash".to_owned(),
                folder.join("with%2Fslash.bson.gz").display().to_string()
            ]
        );
    }

    #[test]
    fn restore_several_collections_from_a_database_folder_uses_its_parent() {
        let root = dump_root(false);
        let folder = root.path().join("shepherd_cms");
        let mut request = restore_request(BackupLocation::Directory {
            path: folder.clone(),
            gzip: false,
        });
        request.collections = Some(vec!["users".to_owned(), "with/slash".to_owned()]);
        let command = restore_command(&request, Path::new("mongorestore")).unwrap();
        assert_eq!(
            strings(&command)[2..],
            [
                "--nsInclude=shepherd_cms.users".to_owned(),
                "--nsInclude=shepherd_cms.with/slash".to_owned(),
                root.path().display().to_string()
            ]
        );
        request.from_database = "other".to_owned();
        let error = restore_command(&request, Path::new("mongorestore"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("whose name is not other"), "{error}");
    }

    #[test]
    fn restore_refuses_tar_gz_and_non_dumps() {
        let request = restore_request(BackupLocation::TarGz {
            path: PathBuf::from("/b/x.tar.gz"),
        });
        let error = restore_command(&request, Path::new("mongorestore"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("must be extracted first"), "{error}");
        let empty = tempfile::tempdir().unwrap();
        let request = restore_request(BackupLocation::Directory {
            path: empty.path().to_owned(),
            gzip: false,
        });
        assert!(restore_command(&request, Path::new("mongorestore")).is_err());
    }

    // The samples below are written from mongo-tools' public source (the
    // `log.Logvf` formats in mongodump/mongodump.go, mongorestore/restore.go
    // and mongorestore/main/mongorestore.go, tools 100.x), not captured from
    // a run: the tools cannot run on the machines this was written on.

    /// mongodump 100.13: namespaces printed bare.
    const DUMP_100_13: &str = "\
2025-03-10T14:02:11.532+0000\twriting shepherd_fixture.configurations to dump/shepherd_fixture/configurations.bson
2025-03-10T14:02:11.540+0000\twriting shepherd_fixture.weird name%x to dump/shepherd_fixture/weird+name%25x.bson
2025-03-10T14:02:11.551+0000\t[########################]  shepherd_fixture.configurations  120/120  (100.0%)
2025-03-10T14:02:11.561+0000\tdone dumping shepherd_fixture.configurations (120 documents)
2025-03-10T14:02:11.563+0000\tdone dumping shepherd_fixture.weird name%x (1 document)
2025-03-10T14:02:11.570+0000\tdone dumping shepherd_fixture.config.history (3 documents)
2025-03-10T14:02:11.571+0000\tdone dumping shepherd_fixture.empty (0 documents)
";

    /// mongodump 100.16 and later: namespaces quoted with Go's %#q.
    const DUMP_100_16: &str = "\
2026-05-02T09:00:00.001+0200\twriting `shepherd_fixture.with/slash` to `dump/shepherd_fixture/with%2Fslash.bson`
2026-05-02T09:00:00.010+0200\tdone dumping `shepherd_fixture.with/slash` (2 documents)
2026-05-02T09:00:00.011+0200\tdone dumping `shepherd_fixture.a (b)` (4 documents)
2026-05-02T09:00:00.012+0200\tdone dumping \"shepherd_fixture.back`tick\" (5 documents)
";

    /// mongorestore 100.13 against FerretDB 1.24: documents in, indexes refused.
    const RESTORE_INDEX_FAILURE: &str = "\
2025-03-10T14:05:00.101+0000\tpreparing collections to restore from
2025-03-10T14:05:00.120+0000\treading metadata for shepherd_fixture.configurations from dump/shepherd_fixture/configurations.metadata.json
2025-03-10T14:05:00.130+0000\trestoring shepherd_fixture.configurations from dump/shepherd_fixture/configurations.bson
2025-03-10T14:05:00.290+0000\tcontinuing through error: E11000 duplicate key error collection: shepherd_fixture.users index: _id_ dup key: { _id: 7 }
2025-03-10T14:05:00.301+0000\tfinished restoring shepherd_fixture.configurations (120 documents, 0 failures)
2025-03-10T14:05:00.302+0000\tfinished restoring shepherd_fixture.users (40 documents, 2 failures)
2025-03-10T14:05:00.303+0000\tfinished restoring shepherd_fixture.empty (0 documents, 0 failures)
2025-03-10T14:05:00.305+0000\trestoring indexes for collection shepherd_fixture.users from metadata
2025-03-10T14:05:00.306+0000\tindex: &idx.IndexDocument{Options:primitive.M{\"name\":\"email_1\", \"unique\":true, \"v\":2}, Key:primitive.D{primitive.E{Key:\"email\", Value:1}}, PartialFilterExpression:primitive.D(nil)}
2025-03-10T14:05:00.310+0000\trestoring indexes for collection shepherd_fixture.configurations from metadata
2025-03-10T14:05:00.311+0000\tindex: &idx.IndexDocument{Options:primitive.M{\"name\":\"key_1_environment_1\", \"ns\":\"shepherd_fixture.configurations\", \"unique\":true, \"v\":2}, Key:primitive.D{primitive.E{Key:\"key\", Value:1}, primitive.E{Key:\"environment\", Value:1}}, PartialFilterExpression:primitive.D(nil)}
2025-03-10T14:05:00.340+0000\tFailed: shepherd_fixture.configurations: error creating indexes for shepherd_fixture.configurations: createIndex error: Index option \"ns\" is unknown
2025-03-10T14:05:00.340+0000\t160 document(s) restored successfully. 2 document(s) failed to restore.
";

    #[test]
    fn parses_mongodump_bare_names() {
        let report = parse_output(DUMP_100_13);
        let counts: Vec<(&str, u64)> = report
            .collections
            .iter()
            .map(|result| (result.name.as_str(), result.documents))
            .collect();
        assert_eq!(
            counts,
            [
                ("configurations", 120),
                ("weird name%x", 1),
                ("config.history", 3),
                ("empty", 0)
            ]
        );
        assert!(report.failures.is_empty());
        assert_eq!(report.totals, None);
    }

    #[test]
    fn parses_mongodump_quoted_names() {
        let report = parse_output(DUMP_100_16);
        let counts: Vec<(&str, u64)> = report
            .collections
            .iter()
            .map(|result| (result.name.as_str(), result.documents))
            .collect();
        assert_eq!(counts, [("with/slash", 2), ("a (b)", 4), ("back`tick", 5)]);
    }

    #[test]
    fn parses_mongorestore_with_index_failure() {
        let report = parse_output(RESTORE_INDEX_FAILURE);
        assert_eq!(
            report.totals,
            Some(RestoreTotals {
                restored: 160,
                failed: 2
            })
        );
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        let by_name = |name: &str| report.collections.iter().find(|result| result.name == name).unwrap();
        let configurations = by_name("configurations");
        assert_eq!((configurations.documents, configurations.failures), (120, 0));
        assert_eq!(
            configurations.index_errors,
            ["createIndex error: Index option \"ns\" is unknown"]
        );
        assert!(configurations.indexes.is_empty());
        let users = by_name("users");
        assert_eq!((users.documents, users.failures), (40, 2));
        assert_eq!(users.indexes, ["email_1"]);
        assert_eq!(by_name("empty").documents, 0);
        assert_eq!(report.collections.len(), 3);
    }

    #[test]
    fn parses_mongorestore_quoted_and_old_forms() {
        let text = "\
2026-05-02T09:10:00.000+0000\tfinished restoring `app.with/slash` (1 document, 1 failure)
2026-05-02T09:10:00.001+0000\tfinished restoring app.legacy (7 documents)
2026-05-02T09:10:00.002+0000\tFailed: `app.x`: error creating indexes for `app.x`: createIndex error: bad
Failed: error connecting to db server: server selection error: context deadline exceeded
2026-05-02T09:10:00.003+0000\t8 document(s) restored successfully. 1 document(s) failed to restore.
";
        let report = parse_output(text);
        assert_eq!(report.collections[0].name, "with/slash");
        assert_eq!(
            (report.collections[0].documents, report.collections[0].failures),
            (1, 1)
        );
        assert_eq!(
            (report.collections[1].documents, report.collections[1].failures),
            (7, 0)
        );
        assert_eq!(report.collections[2].name, "x");
        assert_eq!(report.collections[2].index_errors, ["createIndex error: bad"]);
        assert_eq!(
            report.failures,
            ["error connecting to db server: server selection error: context deadline exceeded"]
        );
        assert_eq!(report.totals, Some(RestoreTotals { restored: 8, failed: 1 }));
    }

    #[test]
    fn missing_tools_say_how_to_fix() {
        let empty = tempfile::tempdir().unwrap();
        let error = find_in(Tool::Mongodump, None, Some(empty.path().into())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "mongodump not found on PATH (set DRDRILL_MONGODUMP or install MongoDB Database Tools)"
        );
        let error = find_in(Tool::Mongorestore, None, None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("mongorestore not found on PATH (set DRDRILL_MONGORESTORE")
        );
        let error = find_in(Tool::Mongodump, Some("/nonexistent/mongodump".into()), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "DRDRILL_MONGODUMP=/nonexistent/mongodump is not an executable file"
        );
        let fake = write_script(empty.path(), "mongodump", "exit 0");
        assert_eq!(find_in(Tool::Mongodump, None, Some(empty.path().into())).unwrap(), fake);
    }

    fn write_script(folder: &Path, name: &str, body: &str) -> PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    // Fakes stand in for the tools below only because the real ones cannot
    // run here; they check the plumbing (arguments in, files and log out),
    // not the tools.

    #[tokio::test]
    async fn dump_runs_locates_and_reports() {
        let folder = tempfile::tempdir().unwrap();
        let out = folder.path().join("out");
        let fake = write_script(
            folder.path(),
            "mongodump",
            r#"if [ "$1" = --version ]; then echo "mongodump version: 100.13.0"; echo "git version: x"; exit 0; fi
for argument in "$@"; do case "$argument" in --out=*) out="${argument#--out=}";; --db=*) db="${argument#--db=}";; esac; done
echo "$@" > "$out.args"
mkdir -p "$out/$db" && printf '\005\0\0\0\0' > "$out/$db/users.bson"
printf '2025-03-10T14:02:11.561+0000\tdone dumping %s.users (1 document)\n' "$db" >&2"#,
        );
        let request = dump_request(Layout::Directory { gzip: false }, out.to_str().unwrap());
        let outcome = dump(&request, &fake, Duration::from_secs(30), folder.path(), &NoProgress)
            .await
            .unwrap();
        assert_eq!(outcome.engine.version, "mongodump version: 100.13.0");
        assert_eq!(
            outcome.location,
            BackupLocation::Directory {
                path: out.clone(),
                gzip: false
            }
        );
        assert_eq!(outcome.bytes, 5);
        assert_eq!(outcome.collections[0].name, "users");
        assert_eq!(outcome.collections[0].documents, 1);
        assert!(!outcome.output.contains("pa55word"), "{}", outcome.output);
        let arguments = std::fs::read_to_string(folder.path().join("out.args")).unwrap();
        // Changed by issue 10: the URI travels in the --config file, never in argv.
        assert!(
            !arguments.contains("pa55word") && arguments.contains("--config="),
            "the real command line carries no secret: {arguments}"
        );
    }

    #[tokio::test]
    async fn dump_failure_is_an_error_with_the_message() {
        let folder = tempfile::tempdir().unwrap();
        let fake = write_script(
            folder.path(),
            "mongodump",
            r#"if [ "$1" = --version ]; then echo "mongodump version: 100.13.0"; exit 0; fi
printf '2025-03-10T14:02:11.561+0000\tFailed: can'"'"'t create session: could not connect to server: mongodb://backup:pa55word@db1:27017/\n' >&2
exit 1"#,
        );
        let request = dump_request(Layout::Directory { gzip: false }, "/nonexistent/out");
        let error = dump(&request, &fake, Duration::from_secs(30), folder.path(), &NoProgress)
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("mongodump failed (Code { code: 1 }): can't create session"),
            "{text}"
        );
        assert!(!text.contains("pa55word"), "{text}");
    }

    #[tokio::test]
    async fn restore_with_only_index_errors_is_an_outcome_with_findings() {
        let folder = tempfile::tempdir().unwrap();
        let log = folder.path().join("restore.log");
        std::fs::write(&log, RESTORE_INDEX_FAILURE).unwrap();
        let fake = write_script(
            folder.path(),
            "mongorestore",
            &format!(
                "if [ \"$1\" = --version ]; then echo 'mongorestore version: 100.13.0'; exit 0; fi\ncat {} >&2\nexit 1",
                log.display()
            ),
        );
        let request = restore_request(BackupLocation::Archive {
            path: PathBuf::from("/b/x.archive"),
            gzip: false,
        });
        let outcome = restore(&request, &fake, Duration::from_secs(30), folder.path(), &NoProgress)
            .await
            .unwrap();
        assert_eq!(outcome.engine.version, "mongorestore version: 100.13.0");
        let configurations = outcome
            .collections
            .iter()
            .find(|result| result.name == "configurations")
            .unwrap();
        assert_eq!(configurations.index_errors.len(), 1);

        // Any other failure is an error.
        std::fs::write(
            &log,
            "2025-03-10T14:05:00.340+0000\tFailed: error connecting to db server\n",
        )
        .unwrap();
        let error = restore(&request, &fake, Duration::from_secs(30), folder.path(), &NoProgress)
            .await
            .unwrap_err();
        assert!(error.to_string().ends_with("error connecting to db server"), "{error}");
    }

    #[tokio::test]
    async fn restore_extracts_a_runbook_tar_gz_first() {
        let folder = tempfile::tempdir().unwrap();
        let root = dump_root(false);
        let backup = root.path().join("shepherd_backup_1");
        std::fs::create_dir(&backup).unwrap();
        std::fs::rename(root.path().join("shepherd_cms"), backup.join("shepherd_cms")).unwrap();
        let tar_gz = folder.path().join("shepherd_backup_1.tar.gz");
        let tarred = std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tar_gz)
            .arg("-C")
            .arg(root.path())
            .arg("shepherd_backup_1")
            .status()
            .unwrap();
        assert!(tarred.success());
        // The fake lists the folder it is given, proving it exists during the run.
        let fake = write_script(
            folder.path(),
            "mongorestore",
            "if [ \"$1\" = --version ]; then echo 'mongorestore version: 100.13.0'; exit 0; fi\n\
             for last in \"$@\"; do :; done\necho \"$@\"\nls \"$last/shepherd_cms\"",
        );
        let request = restore_request(BackupLocation::TarGz { path: tar_gz });
        let outcome = restore(&request, &fake, Duration::from_secs(30), folder.path(), &NoProgress)
            .await
            .unwrap();
        assert!(
            outcome.output.contains("--nsInclude=shepherd_cms.* /"),
            "{}",
            outcome.output
        );
        assert!(outcome.output.contains("/shepherd_backup_1\n"), "{}", outcome.output);
        assert!(outcome.output.contains("users.bson\n"), "{}", outcome.output);
    }

    #[tokio::test]
    async fn timeout_ends_the_tool() {
        let folder = tempfile::tempdir().unwrap();
        let fake = write_script(
            folder.path(),
            "mongodump",
            "if [ \"$1\" = --version ]; then echo 'mongodump version: 100.13.0'; exit 0; fi\necho started >&2\nsleep 300",
        );
        let request = dump_request(Layout::Directory { gzip: false }, "/nonexistent/out");
        let started = Instant::now();
        let error = dump(&request, &fake, Duration::from_millis(300), folder.path(), &NoProgress)
            .await
            .unwrap_err();
        assert!(matches!(error, ToolsError::TimedOut { .. }), "{error}");
        assert!(error.to_string().contains("started"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
