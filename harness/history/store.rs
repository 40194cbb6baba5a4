//! Where the history lives: an SQLite file by default
//! (`$DRDRILL_STATE_DIR/history.db`) or a team's PostgreSQL database, both
//! through `sqlx`, both migrated from `harness/history/migrations/` when
//! opened.
//!
//! Several drills may record at once (parallel CI jobs, several `drdrill
//! run`s on one machine): SQLite runs in WAL mode with a busy timeout, so a
//! writer waits for another instead of failing, and PostgreSQL takes
//! `sqlx`'s advisory lock around migrations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, SqlSafeStr};

use super::record::DrillRecord;

/// The migrations, in order: (version, description, SQL). A new schema is a
/// new file here; a shipped one never changes (sqlx checks its checksum).
const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "drills", include_str!("migrations/0001_drills.sql"))];

/// How long a writer waits for another one's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a PostgreSQL history may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the history could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The URL is neither `postgres(ql)://`, `sqlite://` nor a file path.
    #[error("history location {shown} is not a postgresql:// or sqlite:// URL or a file path")]
    Location {
        /// The location, credentials redacted.
        shown: String,
    },
    /// The SQLite file's folder could not be made.
    #[error("cannot create the folder of {path}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The lock file beside a SQLite history could not be taken.
    #[error("cannot lock {path} to open the history")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot open the history at {shown}")]
    Open {
        /// The location, credentials redacted.
        shown: String,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// Migrating the schema failed.
    #[error("cannot migrate the history at {shown}")]
    Migrate {
        /// The location, credentials redacted.
        shown: String,
        /// What the migrator said.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("cannot {action} the history at {shown}")]
    Query {
        /// `record a drill in`, `read` ...
        action: &'static str,
        /// The location, credentials redacted.
        shown: String,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// A stored record is not one this version reads.
    #[error("the history at {shown} holds an unreadable record")]
    Decode {
        /// The location, credentials redacted.
        shown: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

/// Where the history is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (may hold a password: shown only redacted).
    Postgres(String),
}

impl HistoryLocation {
    /// `--history` / `$DRDRILL_HISTORY` if given, else
    /// `<state dir>/history.db`.
    pub fn resolve(given: Option<&str>) -> Result<Self, HistoryError> {
        match given.map(str::trim).filter(|text| !text.is_empty()) {
            None => Ok(Self::Sqlite(default_path())),
            Some(text) if text.starts_with("postgres://") || text.starts_with("postgresql://") => {
                Ok(Self::Postgres(text.to_owned()))
            }
            Some(text) if text.starts_with("sqlite://") => Ok(Self::Sqlite(PathBuf::from(&text["sqlite://".len()..]))),
            Some(text) if text.contains("://") => Err(HistoryError::Location {
                shown: crate::uri::redact(text),
            }),
            Some(text) => Ok(Self::Sqlite(PathBuf::from(text))),
        }
    }

    /// The location as shown: a path, or the URL with its password masked.
    pub fn shown(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => crate::uri::redact(url),
        }
    }
}

/// `<state dir>/history.db`.
pub fn default_path() -> PathBuf {
    crate::provider::record::state_dir().join("history.db")
}

/// The two databases behind one store.
#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool the store has: the
/// same query text serves both, typed for each.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// An open, migrated history.
#[derive(Debug, Clone)]
pub struct HistoryStore {
    /// The connections.
    pool: Pool,
    /// Where it is, as shown in messages (credentials redacted).
    shown: String,
}

const INSERT: &str = "INSERT INTO drills (run_id, scenario, started_at, finished_at, verdict, \
     rto_service_ms, rto_verified_ms, rpo_ms, objective_rto_ms, objective_rpo_ms, duration_ms, \
     backup_bytes, backup_ms, lost_writes, engine, server_version, scenario_commit, report_dir, record) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
     ON CONFLICT (run_id) DO NOTHING";

const SELECT_ALL: &str = "SELECT record FROM drills ORDER BY started_at, run_id";

impl HistoryStore {
    /// Opens (creating it if needed) and migrates the history at `location`.
    pub async fn open(location: &HistoryLocation) -> Result<Self, HistoryError> {
        let shown = location.shown();
        let open_error = |source| HistoryError::Open {
            shown: shown.clone(),
            source,
        };
        // One opener at a time per SQLite file: switching a new file to WAL
        // and its first migration take locks the busy timeout does not
        // wait for, so concurrent first opens would fail "database is locked".
        let _opening = match location {
            HistoryLocation::Sqlite(path) => {
                create_parent(path)?;
                Some(opening_lock(path).await?)
            }
            HistoryLocation::Postgres(_) => None,
        };
        let pool = match location {
            HistoryLocation::Sqlite(path) => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(BUSY_TIMEOUT);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(2)
                        .connect_with(options)
                        .await
                        .map_err(open_error)?,
                )
            }
            HistoryLocation::Postgres(url) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect(url)
                    .await
                    .map_err(open_error)?,
            ),
        };
        let store = Self { pool, shown };
        store.migrate().await?;
        Ok(store)
    }

    /// Where the store is, credentials redacted.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Applies the migrations not applied yet. Two processes opening a new
    /// SQLite file at once may both try the first migration; the loser
    /// fails on the winner's table, and its retry finds it applied.
    async fn migrate(&self) -> Result<(), HistoryError> {
        let migrator = migrator();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = on_pool!(self, pool => migrator.run(pool).await);
            match result {
                Ok(()) => return Ok(()),
                Err(_) if attempt < 3 && matches!(self.pool, Pool::Sqlite(_)) => continue,
                Err(source) => {
                    return Err(HistoryError::Migrate {
                        shown: self.shown.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// Stores one drill (a run id already stored is left as it is).
    pub async fn record(&self, record: &DrillRecord) -> Result<(), HistoryError> {
        let json = serde_json::to_string(record).map_err(|source| HistoryError::Decode {
            shown: self.shown.clone(),
            source,
        })?;
        let signed = |value: Option<u64>| value.map(|value| i64::try_from(value).unwrap_or(i64::MAX));
        let result = on_pool!(self, pool => sqlx::query(INSERT)
            .bind(&record.run_id)
            .bind(&record.scenario)
            .bind(timestamp(&record.started))
            .bind(timestamp(&record.finished))
            .bind(record.verdict.name())
            .bind(signed(record.rto_service_ms))
            .bind(signed(record.rto_verified_ms))
            .bind(signed(record.rpo_ms))
            .bind(signed(record.objective_rto_ms))
            .bind(signed(record.objective_rpo_ms))
            .bind(signed(Some(record.duration_ms)))
            .bind(signed(record.backup_bytes))
            .bind(signed(record.backup_ms))
            .bind(signed(Some(record.lost_writes)))
            .bind(&record.engine)
            .bind(&record.server_version)
            .bind(&record.scenario_commit)
            .bind(&record.report_dir)
            .bind(&json)
            .execute(pool)
            .await
            .map(|_| ()));
        result.map_err(|source| self.query_error("record a drill in", source))
    }

    /// Every drill, oldest first.
    pub async fn drills(&self) -> Result<Vec<DrillRecord>, HistoryError> {
        let rows: Vec<String> = on_pool!(self, pool => sqlx::query(SELECT_ALL)
            .fetch_all(pool)
            .await
            .and_then(|rows| rows.iter().map(|row| row.try_get::<String, _>(0)).collect()))
        .map_err(|source| self.query_error("read", source))?;
        rows.iter()
            .map(|text| {
                serde_json::from_str(text).map_err(|source| HistoryError::Decode {
                    shown: self.shown.clone(),
                    source,
                })
            })
            .collect()
    }

    /// Closes the connections (waits for them to finish).
    pub async fn close(self) {
        on_pool!(self, pool => pool.close().await);
    }

    fn query_error(&self, action: &'static str, source: sqlx::Error) -> HistoryError {
        HistoryError::Query {
            action,
            shown: self.shown.clone(),
            source,
        }
    }
}

/// RFC 3339 with milliseconds and `Z`: fixed width, so text order is time
/// order in both databases.
fn timestamp(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// An exclusive `flock` on `<file>.open-lock` beside the SQLite file, held
/// while one process opens and migrates it (released when dropped).
async fn opening_lock(path: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, HistoryError> {
    let lock = path.with_file_name(format!(
        "{}.open-lock",
        path.file_name().map(|name| name.to_string_lossy()).unwrap_or_default()
    ));
    let folder_error = |source| HistoryError::Lock {
        path: lock.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(folder_error)?;
    tokio::task::spawn_blocking(move || nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive))
        .await
        .map_err(|error| folder_error(std::io::Error::other(error)))?
        .map_err(|(_, errno)| folder_error(std::io::Error::from(errno)))
}

fn create_parent(path: &Path) -> Result<(), HistoryError> {
    match path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|source| HistoryError::Folder {
            path: parent.to_path_buf(),
            source,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_postgresql_url_an_sqlite_url_or_a_path() {
        assert_eq!(
            HistoryLocation::resolve(Some("postgresql://u:secret@db/h")).unwrap(),
            HistoryLocation::Postgres("postgresql://u:secret@db/h".into())
        );
        assert_eq!(
            HistoryLocation::resolve(Some("sqlite:///tmp/h.db")).unwrap(),
            HistoryLocation::Sqlite("/tmp/h.db".into())
        );
        assert_eq!(
            HistoryLocation::resolve(Some("h.db")).unwrap(),
            HistoryLocation::Sqlite("h.db".into())
        );
        let refused = HistoryLocation::resolve(Some("mysql://u:secret@db/h")).unwrap_err();
        assert!(!refused.to_string().contains("secret"), "{refused}");
        assert_eq!(
            HistoryLocation::resolve(None).unwrap(),
            HistoryLocation::Sqlite(default_path())
        );
    }

    #[test]
    fn a_postgresql_password_is_never_shown() {
        let location = HistoryLocation::resolve(Some("postgres://drills:hunter2@db:5432/history")).unwrap();
        assert_eq!(location.shown(), "postgres://drills:****@db:5432/history");
    }

    #[tokio::test]
    async fn an_sqlite_history_keeps_what_it_records() {
        let folder = tempfile::tempdir().unwrap();
        let location = HistoryLocation::Sqlite(folder.path().join("nested/history.db"));
        let store = HistoryStore::open(&location).await.unwrap();
        let report = crate::report::sample::sample_report(crate::report::sample::SampleKind::Passed);
        let record = DrillRecord::from_report(&report, Path::new("reports/a"), None);
        store.record(&record).await.unwrap();
        store.record(&record).await.unwrap();
        store.close().await;
        // Reopened: migrations already applied, the record still there once.
        let store = HistoryStore::open(&location).await.unwrap();
        assert_eq!(store.drills().await.unwrap(), vec![record]);
    }
}
