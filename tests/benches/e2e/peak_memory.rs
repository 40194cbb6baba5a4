//! Peak memory of one operation, measured in a child process that does
//! only that operation: the bench re-runs its own executable with
//! `DRDRILL_BENCH_CHILD` set, and the child reports its own `VmHWM` (peak
//! resident set of its address space) from `/proc/self/status` as it ends.
//!
//! Not `ru_maxrss` from `wait4`/`RUSAGE_CHILDREN`: std spawns with a
//! vfork-style clone that shares the parent's address space until `exec`,
//! and Linux folds that space's high-water mark into the child's
//! `ru_maxrss` at `exec`, so every child reported the parent's peak (45 MB
//! for an idle child in the first run). `VmHWM` belongs to the new address
//! space only. `wait4`'s figure is still read, and printed beside it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use drdrill::backup::builtin;
use drdrill::progress::NoProgress;
use drdrill::uri::MongoUri;
use mongodb::Client;

use crate::operations;

/// Selects the child mode; its value is the operation.
pub const CHILD_VARIABLE: &str = "DRDRILL_BENCH_CHILD";
const URI_VARIABLE: &str = "DRDRILL_BENCH_URI";
const DATABASE_VARIABLE: &str = "DRDRILL_BENCH_DATABASE";
const OUT_VARIABLE: &str = "DRDRILL_BENCH_OUT";

/// What a child does before it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildOperation {
    /// Start the runtime, connect, ping, exit: the floor every figure includes.
    Idle,
    /// The plain sorted drain of every collection.
    Drain,
    /// `digest_collection` over every collection.
    Checksum,
    /// The builtin dump of the database into a directory.
    Dump,
}

impl ChildOperation {
    fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Drain => "drain",
            Self::Checksum => "checksum",
            Self::Dump => "dump",
        }
    }

    fn parse(text: &str) -> anyhow::Result<Self> {
        [Self::Idle, Self::Drain, Self::Checksum, Self::Dump]
            .into_iter()
            .find(|operation| operation.name() == text)
            .ok_or_else(|| anyhow::anyhow!("{CHILD_VARIABLE}={text}: unknown operation"))
    }
}

/// What the parent learns from one child.
#[derive(Debug, Clone, Copy)]
pub struct ChildPeak {
    /// Peak resident set of the child's own address space (`VmHWM`), kilobytes.
    pub peak_kilobytes: u64,
    /// `ru_maxrss` from `wait4`, kilobytes: includes the parent's peak (see
    /// the module documentation), shown only for comparison.
    pub wait4_max_rss_kilobytes: u64,
    /// Documents the child reported handling.
    pub documents: u64,
}

/// Runs `operation` in a child process and returns its peak memory.
pub async fn measure(
    operation: ChildOperation,
    uri: &MongoUri,
    database: &str,
    out: &Path,
    cursor_batch: u32,
) -> anyhow::Result<ChildPeak> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env(CHILD_VARIABLE, operation.name())
        .env(URI_VARIABLE, uri.expose_secret())
        .env(DATABASE_VARIABLE, database)
        .env(OUT_VARIABLE, out)
        .env("DRDRILL_BENCH_CURSOR_BATCH", cursor_batch.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    tokio::task::spawn_blocking(move || run_child(command)).await?
}

fn run_child(mut command: Command) -> anyhow::Result<ChildPeak> {
    let mut child = command.spawn()?;
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_string(&mut stdout)?;
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child (std has not waited on it), and
    // both out-pointers point at live locals. `Child` is only dropped after,
    // which never waits, so nothing reaps it twice.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        anyhow::bail!("wait4 on child {pid}: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        anyhow::bail!("child {pid} failed (wait status {status}); its output: {stdout}");
    }
    let reported = |key: &str| reported(&stdout, key).map_err(|error| anyhow::anyhow!("child {pid}: {error}"));
    Ok(ChildPeak {
        peak_kilobytes: reported("peak_kilobytes ")?,
        // Linux reports ru_maxrss in kilobytes.
        wait4_max_rss_kilobytes: u64::try_from(usage.ru_maxrss)?,
        documents: reported("documents ")?,
    })
}

/// The number a child printed after `key` (`documents `, `peak_kilobytes `).
pub fn reported(stdout: &str, key: &str) -> anyhow::Result<u64> {
    Ok(stdout
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .ok_or_else(|| anyhow::anyhow!("did not report {key}: {stdout}"))?
        .trim()
        .parse()?)
}

/// The child's whole life: one operation, its document count on stdout.
pub fn child_main(operation: &str) -> anyhow::Result<()> {
    let operation = ChildOperation::parse(operation)?;
    let uri = MongoUri::parse(&std::env::var(URI_VARIABLE)?)?;
    let database_name = std::env::var(DATABASE_VARIABLE)?;
    let out = std::path::PathBuf::from(std::env::var(OUT_VARIABLE)?);
    let batch: u32 = std::env::var("DRDRILL_BENCH_CURSOR_BATCH")?.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let documents = runtime.block_on(async {
        let client = Client::with_uri_str(uri.expose_secret()).await?;
        let database = client.database(&database_name);
        let mut collections: Vec<String> = database
            .list_collection_names()
            .await?
            .into_iter()
            .filter(|name| !name.starts_with("system."))
            .collect();
        collections.sort();
        let documents = match operation {
            ChildOperation::Idle => {
                database.run_command(bson::doc! { "ping": 1 }).await?;
                0
            }
            ChildOperation::Drain => operations::drain(&database, &collections, batch).await?.documents,
            ChildOperation::Checksum => operations::checksum(&database, &collections, batch).await?.documents,
            ChildOperation::Dump => {
                let request = operations::dump_request(&uri, &database_name, &out);
                let outcome = builtin::dump(&request, &NoProgress).await?;
                operations::outcome_documents(&outcome.collections)
            }
        };
        anyhow::Ok(documents)
    })?;
    drop(runtime);
    println!("documents {documents}");
    println!("peak_kilobytes {}", own_peak_kilobytes()?);
    Ok(())
}

/// `VmHWM` of this process, kilobytes.
pub fn own_peak_kilobytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .ok_or_else(|| anyhow::anyhow!("/proc/self/status has no VmHWM line"))?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}
