//! The one way the harness builds a MongoDB client: [`ConnectProfile`]
//! names what the connection is for, and each profile's timeouts are named
//! constants, so that a dead server gives an error after a known time, never
//! a hang, and the timeouts are read in one place.
//!
//! It only builds clients; whether the server answers is the caller's
//! question (`provider::ready::hello`).

use std::time::Duration;

use mongodb::Client;
use mongodb::options::ClientOptions;

/// Server selection for a drill's own connections (seed, checksums, writer).
pub const DRILL_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP connect for a drill's own connections.
pub const DRILL_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Server selection for a command line's connection (`checksum`, `seed`...).
pub const COMMAND_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Server selection for the builtin engine's dumps and restores.
pub const BUILTIN_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP connect for the builtin engine's dumps and restores.
pub const BUILTIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Server selection for a readiness probe: short, so a loop notices a node
/// coming up (or going away) within a fraction of a second.
pub const PROBE_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_millis(500);
/// TCP connect for a readiness probe.
pub const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// What a connection is for; it decides timeouts and the application name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProfile {
    /// The runner and the steps of a drill.
    Drill,
    /// A `drdrill` command given a `--uri`.
    Command,
    /// The builtin backup engine.
    Builtin,
    /// A readiness probe; its short timeouts override the URI's own.
    Probe,
    /// A helper query of the tools engine (listing collections): the
    /// driver's defaults, as before.
    Tools,
}

impl ConnectProfile {
    /// Server selection and connect timeouts (either may be left to the driver).
    fn timeouts(self) -> (Option<Duration>, Option<Duration>) {
        match self {
            ConnectProfile::Drill => (Some(DRILL_SERVER_SELECTION_TIMEOUT), Some(DRILL_CONNECT_TIMEOUT)),
            ConnectProfile::Command => (Some(COMMAND_SERVER_SELECTION_TIMEOUT), None),
            ConnectProfile::Builtin => (Some(BUILTIN_SERVER_SELECTION_TIMEOUT), Some(BUILTIN_CONNECT_TIMEOUT)),
            ConnectProfile::Probe => (Some(PROBE_SERVER_SELECTION_TIMEOUT), Some(PROBE_CONNECT_TIMEOUT)),
            ConnectProfile::Tools => (None, None),
        }
    }

    fn app_name(self) -> Option<&'static str> {
        match self {
            ConnectProfile::Drill | ConnectProfile::Command => Some("drdrill"),
            ConnectProfile::Builtin => Some("drdrill-builtin"),
            ConnectProfile::Probe | ConnectProfile::Tools => None,
        }
    }
}

/// A client for the connection string `uri` (credentials included; the
/// caller keeps them out of any message). A timeout the URI sets itself
/// wins, except for [`ConnectProfile::Probe`], whose timeouts always apply.
pub async fn client(uri: &str, profile: ConnectProfile) -> Result<Client, mongodb::error::Error> {
    client_within(uri, profile, None).await
}

/// [`client`], with the server-selection timeout set by the user (a command
/// line's `--connect-timeout`): it wins over the profile's and the URI's.
pub async fn client_within(
    uri: &str,
    profile: ConnectProfile,
    server_selection_timeout: Option<Duration>,
) -> Result<Client, mongodb::error::Error> {
    let mut options = ClientOptions::parse(uri).await?;
    let (server_selection, connect) = profile.timeouts();
    if let Some(timeout) = server_selection_timeout {
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
    }
    if profile == ConnectProfile::Probe {
        options.server_selection_timeout = server_selection;
        options.connect_timeout = connect;
    } else {
        if let Some(timeout) = server_selection {
            options.server_selection_timeout.get_or_insert(timeout);
        }
        if let Some(timeout) = connect {
            options.connect_timeout.get_or_insert(timeout);
        }
    }
    if let Some(name) = profile.app_name() {
        options.app_name.get_or_insert_with(|| name.to_owned());
    }
    Client::with_options(options)
}

/// One line for a failed connection: each address the driver tried and what
/// happened there (`127.0.0.1:27017: connection refused`), instead of the
/// driver's topology dump. Other errors are returned as the driver says them.
pub fn explain(error: &mongodb::error::Error) -> String {
    let message = match error.kind.as_ref() {
        mongodb::error::ErrorKind::ServerSelection { message, .. } => message.clone(),
        _ => return error.to_string(),
    };
    let servers = tried_servers(&message);
    if servers.is_empty() {
        return message;
    }
    servers
        .iter()
        .map(|(address, cause)| format!("{address}: {}", plain_cause(cause)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `(address, error)` of each server in a server-selection message
/// (`... Servers: [ { Address: localhost:27017, Type: Unknown, Error: Kind: I/O error: ..., labels: ...`).
fn tried_servers(message: &str) -> Vec<(String, String)> {
    let mut servers = Vec::new();
    for part in message.split("Address: ").skip(1) {
        let address = part.split([',', ' ']).next().unwrap_or_default().to_owned();
        let cause = part
            .split_once("Error: ")
            .map(|(_, rest)| rest.split(", labels:").next().unwrap_or(rest))
            .unwrap_or("no answer")
            .to_owned();
        servers.push((address, cause));
    }
    servers
}

/// What a person calls the driver's cause.
fn plain_cause(cause: &str) -> String {
    let lower = cause.to_ascii_lowercase();
    let plain = if lower.contains("connection refused") {
        "connection refused"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "no answer before the timeout"
    } else if lower.contains("lookup") || lower.contains("name or service not known") || lower.contains("dns") {
        "host name not found"
    } else if lower.contains("connection reset") {
        "connection reset"
    } else {
        return cause.trim_start_matches("Kind: ").chars().take(200).collect();
    };
    plain.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_selection_dump_becomes_address_and_cause() {
        let message = "Server selection timeout: No available servers. Topology: { Type: Single, Servers: [ { \
                       Address: localhost:27017, Type: Unknown, Error: Kind: I/O error: Connection refused (os error \
                       111), labels: {\"RetryableError\", \"SystemOverloadedError\"}, source: None, server response: \
                       None } ] }, labels: {}";
        let servers = tried_servers(message);
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].0, "localhost:27017");
        assert_eq!(plain_cause(&servers[0].1), "connection refused");
        assert_eq!(
            plain_cause("Kind: I/O error: timed out"),
            "no answer before the timeout"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_explained_in_one_line() {
        let port = crate::provider::ready::free_port().unwrap();
        let client = client(&format!("mongodb://127.0.0.1:{port}/"), ConnectProfile::Probe)
            .await
            .unwrap();
        let error = crate::provider::ready::hello(&client).await.unwrap_err();
        assert_eq!(explain(&error), format!("127.0.0.1:{port}: connection refused"));
    }

    #[tokio::test]
    async fn a_closed_port_fails_within_the_probe_timeout() {
        let port = crate::provider::ready::free_port().unwrap();
        let client = client(
            &format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=60000"),
            ConnectProfile::Probe,
        )
        .await
        .unwrap();
        let started = std::time::Instant::now();
        assert!(crate::provider::ready::hello(&client).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
