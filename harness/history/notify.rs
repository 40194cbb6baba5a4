//! Webhook notifications: a drill that did not pass, a regression or an
//! overdue scenario becomes one Slack-compatible JSON message (`{"text":
//! ...}`), posted with retries. A notification that cannot be delivered is
//! an error for the caller to warn about; it never changes a verdict.
//!
//! One POST over HTTP/1.1 (plain or TLS with the Mozilla roots), written by
//! hand: the harness needs nothing more of an HTTP client.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How many times a message is tried before giving up.
pub const ATTEMPTS: u32 = 3;

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The URL is not `http://` or `https://HOST[:PORT][/PATH]`.
    #[error("webhook {shown} is not an http:// or https:// URL")]
    Url {
        /// The URL, credentials redacted.
        shown: String,
    },
    /// Every attempt failed; the last failure is the source.
    #[error("webhook {shown} refused the message {attempts} times")]
    Delivery {
        /// The URL, credentials redacted.
        shown: String,
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong the last time.
        #[source]
        source: std::io::Error,
    },
}

/// A webhook's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    tls: bool,
    host: String,
    port: u16,
    path: String,
    shown: String,
}

impl Webhook {
    /// Parses `http(s)://HOST[:PORT][/PATH]`.
    pub fn parse(url: &str) -> Result<Self, NotifyError> {
        let shown = crate::uri::redact(url);
        let refused = || NotifyError::Url { shown: shown.clone() };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(refused());
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| refused())?),
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() || host.contains('@') {
            return Err(refused());
        }
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            shown,
        })
    }

    /// Posts `text` as `{"text": ...}`, trying up to [`ATTEMPTS`] times,
    /// one, then two seconds apart.
    pub async fn post(&self, text: &str) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "text": text }).to_string();
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            let sent = tokio::time::timeout(ATTEMPT_TIMEOUT, self.post_once(&body)).await;
            match sent.unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"))) {
                Ok(()) => return Ok(()),
                Err(error) => last = Some(error),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
        }
        Err(NotifyError::Delivery {
            shown: self.shown.clone(),
            attempts: ATTEMPTS,
            source: last.unwrap_or_else(|| std::io::Error::other("not sent")),
        })
    }

    async fn post_once(&self, body: &str) -> std::io::Result<()> {
        let stream = TcpStream::connect((self.host.as_str(), self.port)).await?;
        if !self.tls {
            return self.exchange(stream, body).await;
        }
        let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(self.host.clone()).map_err(std::io::Error::other)?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, stream)
            .await?;
        self.exchange(stream, body).await
    }

    async fn exchange(&self, mut stream: impl AsyncRead + AsyncWrite + Unpin, body: &str) -> std::io::Result<()> {
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             User-Agent: drdrill\r\nConnection: close\r\n\r\n{body}",
            self.path,
            self.host,
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        // The status line is all that is needed: read up to its end (a
        // server may send it in pieces), at most 64 bytes.
        let mut head = [0; 64];
        let mut read = 0;
        while read < head.len() && !head[..read].contains(&b'\n') {
            match stream.read(&mut head[read..]).await? {
                0 => break,
                count => read += count,
            }
        }
        let line = String::from_utf8_lossy(&head[..read]);
        let status = line.split_whitespace().nth(1).unwrap_or("");
        if status.starts_with('2') {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "answered {}",
                line.lines().next().unwrap_or("nothing")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_an_http_or_https_url() {
        let hook = Webhook::parse("https://hooks.example.com/services/T0/B0/x").unwrap();
        assert_eq!(
            (hook.tls, hook.port, hook.path.as_str()),
            (true, 443, "/services/T0/B0/x")
        );
        let hook = Webhook::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((hook.tls, hook.port, hook.path.as_str()), (false, 8080, "/"));
        assert!(Webhook::parse("ftp://example.com").is_err());
        let refused = Webhook::parse("http://user:secret@example.com/").unwrap_err();
        assert!(!refused.to_string().contains("secret"), "{refused}");
    }
}
