//! Connecting to the deployment a builtin dump reads or a restore writes,
//! with timeouts short enough that a dead server gives an error, not a hang.

use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::Client;

use super::error::BuiltinError;
use crate::uri::MongoUri;

/// A client for `uri`; the first command proves the server answers.
pub async fn connect(uri: &MongoUri) -> Result<Client, BuiltinError> {
    let connect_error = |source| BuiltinError::Connect {
        uri: uri.redacted(),
        source: Box::new(source),
    };
    crate::connect::client(uri.expose_secret(), crate::connect::ConnectProfile::Builtin)
        .await
        .map_err(connect_error)
}

/// Runs a command that answers with a cursor and drains it.
pub async fn drain_command(
    client: &Client,
    database: &str,
    namespace: &str,
    command: Document,
) -> Result<Vec<Document>, BuiltinError> {
    let action = command.keys().next().cloned().unwrap_or_default();
    let server_error = |source| BuiltinError::Server {
        namespace: namespace.to_owned(),
        action: action.clone(),
        source: Box::new(source),
    };
    let cursor = client
        .database(database)
        .run_cursor_command(command.clone())
        .await
        .map_err(server_error)?;
    cursor.try_collect().await.map_err(server_error)
}

/// The server's version (`buildInfo.version`), or `unknown`.
pub async fn server_version(client: &Client) -> String {
    client
        .database("admin")
        .run_command(doc! { "buildInfo": 1 })
        .await
        .ok()
        .and_then(|reply| reply.get_str("version").ok().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
