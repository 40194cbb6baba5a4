//! What the end-to-end bench measures, read from the environment so a quick
//! run and a full run are the same program.

use drdrill::provider::Backend;

/// Knobs of one bench run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Documents seeded for the ratio benches (`DRDRILL_BENCH_DOCS`); 0
    /// leaves those benches out.
    pub documents: u64,
    /// Documents behind the peak-memory benches (`DRDRILL_BENCH_RSS_DOCS`);
    /// 0 leaves those benches out.
    pub rss_documents: u64,
    /// FerretDB backend holding the peak-memory data set
    /// (`DRDRILL_BENCH_RSS_BACKEND`: `sqlite` or `postgresql`).
    pub rss_backend: Backend,
    /// Interleaved rounds per comparison; medians are taken over them
    /// (`DRDRILL_BENCH_ROUNDS`).
    pub rounds: usize,
    /// Documents per `insert_many` and per restore batch.
    pub insert_batch: usize,
    /// Documents per cursor batch, for the checksum and the plain drain alike.
    pub cursor_batch: u32,
}

impl Settings {
    /// Reads the environment; unparsable values are errors, not defaults.
    pub fn from_environment() -> anyhow::Result<Self> {
        let rss_backend = match std::env::var("DRDRILL_BENCH_RSS_BACKEND").as_deref() {
            Err(_) | Ok("sqlite") => Backend::Sqlite,
            Ok("postgresql") => Backend::Postgresql,
            Ok(other) => anyhow::bail!("DRDRILL_BENCH_RSS_BACKEND={other}: expected sqlite or postgresql"),
        };
        Ok(Self {
            documents: number("DRDRILL_BENCH_DOCS", 100_000)?,
            rss_documents: number("DRDRILL_BENCH_RSS_DOCS", 1_000_000)?,
            rss_backend,
            rounds: number("DRDRILL_BENCH_ROUNDS", 3)?.max(1) as usize,
            insert_batch: 1000,
            cursor_batch: 2000,
        })
    }
}

fn number(variable: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(variable) {
        Err(_) => Ok(default),
        Ok(text) => text
            .replace('_', "")
            .parse()
            .map_err(|error| anyhow::anyhow!("{variable}={text}: {error}")),
    }
}
