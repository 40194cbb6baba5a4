//! Shared context for integration tests: real FerretDB servers on free
//! ports, each in its own temporary folder, removed on drop.
//!
//! Tests require the engine `scripts/setup` installs; when it is missing
//! they fail with a message that names that command, never skip silently.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drdrill::provider::Backend;
use mongodb::Client;
use mongodb::bson::doc;

/// The project root (where Cargo.toml is).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The FerretDB binary `scripts/setup` builds.
pub fn ferretdb_binary() -> PathBuf {
    let path = project_root().join(".tools/bin/ferretdb");
    assert!(
        path.exists(),
        "FerretDB is not installed at {}: run `scripts/setup` first",
        path.display()
    );
    path
}

/// A running FerretDB server owned by one test.
pub struct TestServer {
    /// `mongodb://127.0.0.1:PORT/` of the server.
    pub uri: String,
    /// A connected client.
    pub client: Client,
    child: Child,
    dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts FerretDB with the SQLite backend and waits until it answers
    /// `hello`.
    pub async fn start(backend: Backend) -> Self {
        assert_eq!(
            backend,
            Backend::Sqlite,
            "ctx starts SQLite servers only until the provider lands"
        );
        let dir = tempfile::tempdir().expect("temporary folder");
        let port = free_port();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(ferretdb_binary())
            .arg("--handler=sqlite")
            .arg(format!("--sqlite-url=file:{}/", data.display()))
            .arg(format!("--listen-addr=127.0.0.1:{port}"))
            .arg(format!("--state-dir={}", dir.path().display()))
            .arg("--debug-addr=-")
            .arg("--telemetry=disable")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start ferretdb");
        let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true&serverSelectionTimeoutMS=2000");
        let client = Client::with_uri_str(&uri).await.unwrap();
        let server = Self {
            uri,
            client,
            child,
            dir,
        };
        server.wait_ready(Duration::from_secs(30)).await;
        server
    }

    async fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.database("admin").run_command(doc! {"hello": 1}).await {
                Ok(_) => return,
                Err(error) if Instant::now() > deadline => {
                    let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
                    panic!("ferretdb did not answer hello within {timeout:?}: {error}\n{log}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The server's data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
