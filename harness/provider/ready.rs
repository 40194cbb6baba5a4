//! Waiting for a server to answer `hello`: readiness is a conversation with
//! the server, never a log line or a sleep.

use std::time::{Duration, Instant};

use bson::doc;
use mongodb::Client;

/// Connects to `uri` with short server-selection timeouts, so that a probe
/// loop notices a node coming up (or going away) within a fraction of a
/// second.
pub async fn probe_client(uri: &str) -> Result<Client, mongodb::error::Error> {
    crate::connect::client(uri, crate::connect::ConnectProfile::Probe).await
}

/// One `hello`; `Ok` when the server answered.
pub async fn hello(client: &Client) -> Result<bson::Document, mongodb::error::Error> {
    client.database("admin").run_command(doc! { "hello": 1 }).await
}

/// The pid the server at `uri` reports in `serverStatus` (mongod and
/// FerretDB both do), when it answers within two seconds.
pub async fn server_pid(uri: &str) -> Option<i64> {
    let client = probe_client(uri).await.ok()?;
    let reply = tokio::time::timeout(
        Duration::from_secs(2),
        client.database("admin").run_command(doc! { "serverStatus": 1 }),
    )
    .await
    .ok()?
    .ok()?;
    match reply.get("pid")? {
        bson::Bson::Int32(pid) => Some(i64::from(*pid)),
        bson::Bson::Int64(pid) => Some(*pid),
        bson::Bson::Double(pid) => Some(*pid as i64),
        _ => None,
    }
}

/// One quick `hello` on one node (a direct connection): `Some(isWritablePrimary)`
/// when it answered within a second, `None` when it did not.
pub async fn is_writable_primary(uri: &str) -> Option<bool> {
    let client = probe_client(uri).await.ok()?;
    let reply = tokio::time::timeout(Duration::from_secs(1), hello(&client))
        .await
        .ok()?
        .ok()?;
    Some(reply.get_bool("isWritablePrimary").unwrap_or(false))
}

/// Why a server did not answer `hello` in time.
#[derive(Debug, thiserror::Error)]
pub enum ReadyError {
    /// The connection string could not make a client.
    #[error("cannot make a client")]
    Client(#[source] mongodb::error::Error),
    /// The last `hello` failed.
    #[error("no answer to hello")]
    Hello(#[source] mongodb::error::Error),
    /// The last `hello` got no answer within its own two seconds.
    #[error("hello timed out")]
    HelloTimedOut,
    /// The server's process exited.
    #[error("the process exited ({0})")]
    Exited(std::process::ExitStatus),
    /// The server's process could not be watched.
    #[error("cannot watch the process")]
    Unwatchable(#[source] std::io::Error),
    /// There is no process to wait for.
    #[error("the process is not running")]
    NotRunning,
}

/// Polls `hello` every 50 ms until it answers, `alive` says the process
/// died (its error returns), or `timeout` passes (the last failure
/// returns).
pub async fn wait_for_hello(
    uri: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), ReadyError>,
) -> Result<Duration, ReadyError> {
    let started = Instant::now();
    let client = probe_client(uri).await.map_err(ReadyError::Client)?;
    let mut last_error;
    loop {
        alive()?;
        match tokio::time::timeout(Duration::from_secs(2), hello(&client)).await {
            Ok(Ok(_)) => return Ok(started.elapsed()),
            Ok(Err(error)) => last_error = ReadyError::Hello(error),
            Err(_) => last_error = ReadyError::HelloTimedOut,
        }
        if started.elapsed() >= timeout {
            return Err(last_error);
        }
        // Polling interval, not synchronization: the condition is `hello`.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A port on 127.0.0.1 that was free a moment ago. Another process may take
/// it before the server binds it; the caller retries start-up when the
/// server reports the address in use.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
