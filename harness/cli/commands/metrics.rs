//! `drdrill metrics`: the history as Prometheus metrics, written once to a
//! node-exporter textfile or served on `/metrics` by a tiny HTTP responder
//! that reads the history afresh on every scrape. `/metrics` answers
//! OpenMetrics to a scraper that asks for it (Prometheus does) and the
//! 0.0.4 text format otherwise (curl, `promtool check metrics`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use drdrill::history::metrics::{
    OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, openmetrics, prometheus_text, registry,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::cli::Outcome;
use crate::cli::args::HistoryArg;

/// `drdrill metrics`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("output").required(true).multiple(false))]
pub struct MetricsArgs {
    /// Write the Prometheus text format here (atomically), for node-exporter's textfile collector.
    #[arg(long, value_name = "PATH", group = "output")]
    pub textfile: Option<PathBuf>,
    /// Serve OpenMetrics on http://ADDR/metrics until Ctrl-C or SIGTERM (port 0: any free port).
    #[arg(long, value_name = "ADDR", group = "output")]
    pub listen: Option<SocketAddr>,
    /// The history.
    #[command(flatten)]
    pub history: HistoryArg,
}

/// Writes or serves the metrics.
pub async fn run(args: MetricsArgs) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.textfile {
        let drills = super::history::load(&args.history).await?;
        let text = prometheus_text(&registry(&drills, chrono::Utc::now()));
        write_atomically(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("metrics: {}", path.display());
        return Ok(Outcome::Success);
    }
    let Some(address) = args.listen else {
        anyhow::bail!("give --textfile PATH or --listen ADDR");
    };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    eprintln!("serving http://{}/metrics", listener.local_addr()?);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted.context("cannot accept a connection")?;
                let history = args.history.clone();
                tokio::spawn(async move {
                    if let Err(error) = respond(stream, &history).await {
                        eprintln!("warning: a /metrics request failed: {}", drdrill::uri::redact(&format!("{error:#}")));
                    }
                });
            }
        }
    }
    Ok(Outcome::Success)
}

/// Answers one HTTP/1.x request: `GET /metrics` gets the metrics, anything
/// else 404; the connection closes after the answer.
async fn respond(stream: TcpStream, history: &HistoryArg) -> anyhow::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    // Read the headers up to the blank line; only `Accept` matters.
    let mut openmetrics_wanted = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            openmetrics_wanted |=
                name.trim().eq_ignore_ascii_case("accept") && value.contains("application/openmetrics-text");
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = if method == "GET" && path == "/metrics" {
        match super::history::load(history).await {
            Ok(drills) => {
                let registry = registry(&drills, chrono::Utc::now());
                if openmetrics_wanted {
                    ("200 OK", OPENMETRICS_CONTENT_TYPE, openmetrics(&registry))
                } else {
                    ("200 OK", PROMETHEUS_TEXT_CONTENT_TYPE, prometheus_text(&registry))
                }
            }
            Err(error) => (
                "500 Internal Server Error",
                "text/plain; charset=utf-8",
                format!("{}\n", drdrill::uri::redact(&format!("{error:#}"))),
            ),
        }
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "only GET /metrics is served\n".to_owned(),
        )
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = reader.into_inner();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// Writes beside `path` and renames, so the collector never reads half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let folder = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    // The collector often runs as another user: readable by all, as a
    // plainly written file would be.
    temporary
        .as_file()
        .set_permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(
            0o644,
        ))?;
    std::io::Write::write_all(&mut temporary, text.as_bytes())?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}
