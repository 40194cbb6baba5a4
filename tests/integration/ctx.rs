//! Shared context for integration tests: real FerretDB deployments started
//! through the harness's own local provider, the `drdrill` binary, and
//! isolated state and work folders.
//!
//! Tests require the engine `scripts/setup` installs; when it is missing
//! they fail with a message that names that command, never skip silently.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use drdrill::provider::{Backend, LocalDeployment, LocalSpec};
use mongodb::Client;

/// The project root (where Cargo.toml is).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `shared/` beside the repository (specs and genuine mongodump fixtures).
pub fn shared_dir() -> PathBuf {
    let candidates = [project_root().join("../shared"), project_root().join("shared")];
    candidates
        .iter()
        .find(|path| path.join("fixtures").exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "shared/ not found beside {}: it holds the genuine mongodump fixtures",
                project_root().display()
            )
        })
}

/// Folders private to this test binary: the provider's run records and the
/// runs' data go here, so tests never touch a user's state or each other's.
pub fn test_dirs() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        remove_empty_dirs_of_earlier_runs();
        let base = std::env::temp_dir().join(format!("drdrill-tests-{}", std::process::id()));
        let state = base.join("state");
        let work = base.join("work");
        std::fs::create_dir_all(&state).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        // SAFETY: set once, before any test thread reads these variables
        // through the provider (OnceLock runs this exactly once, and every
        // test calls it before starting anything).
        unsafe {
            std::env::set_var("DRDRILL_STATE_DIR", &state);
            std::env::set_var("DRDRILL_WORK_DIR", &work);
        }
        (state, work)
    })
}

/// Every test tears down what it started, but the per-binary folders stay
/// (there is no hook after the last test): earlier runs' folders that hold
/// no file at all go. One that holds anything (the run records of a killed
/// test binary, for `drdrill clean`) is kept.
fn remove_empty_dirs_of_earlier_runs() {
    fn holds_no_file(dir: &Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .all(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()) && holds_no_file(&entry.path()))
        })
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("drdrill-tests-"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if pid != std::process::id() && !alive && holds_no_file(&entry.path()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The FerretDB binary `scripts/setup` builds.
pub fn ferretdb_binary() -> PathBuf {
    drdrill::provider::tools::ferretdb().unwrap_or_else(|error| panic!("{error}"))
}

/// A unique run id for a test.
pub fn run_id(name: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("test-{}-{name}-{count}", std::process::id())
}

/// A running FerretDB deployment owned by one test.
pub struct TestServer {
    /// `mongodb://127.0.0.1:PORT/?directConnection=true`.
    pub uri: String,
    /// A connected client.
    pub client: Client,
    /// The deployment; `None` after `teardown`.
    pub deployment: Option<LocalDeployment>,
}

impl TestServer {
    /// Starts one FerretDB node on `backend` and waits until it answers.
    pub async fn start(backend: Backend) -> Self {
        Self::start_nodes(backend, 1).await
    }

    /// Starts `nodes` FerretDB nodes on `backend`.
    pub async fn start_nodes(backend: Backend, nodes: usize) -> Self {
        let (_, work) = test_dirs();
        ferretdb_binary();
        let mut spec = LocalSpec::new(run_id(&backend.to_string()));
        spec.backend = backend;
        spec.nodes = nodes;
        spec.work_dir = work.clone();
        let deployment = LocalDeployment::start(spec)
            .await
            .unwrap_or_else(|error| panic!("cannot start FerretDB ({backend}): {error}"));
        let uri = deployment.uri().expose_secret().to_string();
        let client = Client::with_uri_str(&uri).await.unwrap();
        Self {
            uri,
            client,
            deployment: Some(deployment),
        }
    }

    /// The deployment, for faults.
    pub fn deployment(&mut self) -> &mut LocalDeployment {
        self.deployment.as_mut().expect("not torn down")
    }

    /// Node 0's data folder.
    pub fn data_dir(&mut self) -> PathBuf {
        self.deployment().describe()[0].data_dir.clone()
    }

    /// Explicit teardown.
    pub async fn teardown(mut self) {
        if let Some(deployment) = self.deployment.take() {
            deployment.teardown().await;
        }
    }
}

/// The `drdrill` binary built for these tests, with the isolated folders.
pub fn drdrill() -> Command {
    let (state, work) = test_dirs();
    let mut command = Command::new(env!("CARGO_BIN_EXE_drdrill"));
    command
        .env("DRDRILL_STATE_DIR", state)
        .env("DRDRILL_WORK_DIR", work)
        .env("CI", "true")
        .env_remove("RUST_LOG");
    command
}

/// Starts `drdrill run FILE --out OUT` and reads its progress (stderr)
/// until a line contains `needle`; returns the running child and what it
/// printed so far. Panics when it ends first.
// The child is returned running, for the caller to kill and wait for; the
// lint does not follow it out of the loop.
#[allow(clippy::zombie_processes)]
pub fn run_until_line(file: &Path, out: &Path, needle: &str) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = drdrill()
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("drdrill ended early:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(needle) {
            return (child, seen);
        }
    }
}

/// Runs `drdrill ARGS` to completion.
pub fn run_drdrill(args: &[&str]) -> Output {
    drdrill().args(args).output().expect("run drdrill")
}

/// Stdout and stderr as text, for assertion messages.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Polls `condition` every 20 ms until true or `timeout`; panics with
/// `what` on timeout.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn process_alive(pid: i32) -> bool {
    !matches!(drdrill::provider::record::process_state(pid), None | Some('Z'))
}

/// Whether a folder exists and has entries.
pub fn non_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false)
}

/// The one drill's report.json under a `drdrill run --out` folder.
pub fn drill_report(out: &Path) -> serde_json::Value {
    let folder = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.join("report.json").is_file())
        .expect("a drill folder with report.json");
    serde_json::from_str(&std::fs::read_to_string(folder.join("report.json")).unwrap()).unwrap()
}

/// A finished `drdrill run --out OUT`: its exit code (-1 when killed), its
/// stdout and stderr together, and the one drill's report.json.
pub fn drill_outcome(output: &Output, out: &Path) -> (i32, String, serde_json::Value) {
    let (stdout, stderr) = text(output);
    let folder = std::fs::read_dir(out)
        .unwrap_or_else(|error| panic!("no {}: {error}\n{stdout}\n{stderr}", out.display()))
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.is_dir())
        .unwrap_or_else(|| panic!("no drill folder:\n{stdout}\n{stderr}"));
    let report = serde_json::from_slice(&std::fs::read(folder.join("report.json")).unwrap()).unwrap();
    (
        output.status.code().unwrap_or(-1),
        format!("{stdout}\n{stderr}"),
        report,
    )
}

/// The first step of `kind` in a drill report.
pub fn step_of<'a>(report: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["kind"] == kind)
        .unwrap()
}

/// The check named `name` of a report.
pub fn check_named<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}:\n{report:#}"))
}
