//! Connection strings: parsing with errors that say what is wrong, and
//! redaction, so that credentials never reach a log line, a report or an
//! error message.

use std::fmt;

/// A MongoDB connection string whose `Display` never shows credentials.
///
/// Keep the secret form only for connecting; everything printed or stored
/// goes through `Display` or [`MongoUri::redacted`].
#[derive(Clone, PartialEq, Eq)]
pub struct MongoUri {
    /// The string as given, credentials included. Never print it.
    secret: String,
}

/// Why a connection string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UriError {
    /// The scheme is not `mongodb://` or `mongodb+srv://`.
    #[error("malformed URI {shown}: it must start with mongodb:// or mongodb+srv://")]
    Scheme {
        /// The URI with credentials removed.
        shown: String,
    },
    /// There is no host after the scheme.
    #[error("malformed URI {shown}: no host after the scheme")]
    NoHost {
        /// The URI with credentials removed.
        shown: String,
    },
}

impl MongoUri {
    /// Checks the outer shape of `text` (scheme and host); the driver checks
    /// the rest when connecting.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let text = text.trim();
        let shown = redact(text);
        let rest = text
            .strip_prefix("mongodb://")
            .or_else(|| text.strip_prefix("mongodb+srv://"))
            .ok_or_else(|| UriError::Scheme { shown: shown.clone() })?;
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let hosts = authority.rsplit('@').next().unwrap_or("");
        if hosts.is_empty() {
            return Err(UriError::NoHost { shown });
        }
        Ok(Self {
            secret: text.to_string(),
        })
    }

    /// The string with credentials, for the driver only.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }

    /// The string with any password replaced by `****`.
    pub fn redacted(&self) -> String {
        redact(&self.secret)
    }
}

impl fmt::Display for MongoUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.redacted())
    }
}

impl fmt::Debug for MongoUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "MongoUri({})", self.redacted())
    }
}

/// Replaces the password of any `scheme://user:password@host` in `text`
/// with `****`, and a `password=` query parameter likewise. Works on any
/// text (an error message, a command line), not only on a bare URI.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', whitespace or quote.
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":****");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    redact_query_password(&out)
}

fn redact_query_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    const KEYS: [&str; 2] = ["password=", "Password="];
    loop {
        let found = KEYS
            .iter()
            .filter_map(|key| rest.find(key).map(|pos| (pos, key.len())))
            .min();
        match found {
            Some((pos, len)) => {
                out.push_str(&rest[..pos + len]);
                out.push_str("****");
                let tail = &rest[pos + len..];
                let end = tail.find(|c: char| c == '&' || c.is_whitespace()).unwrap_or(tail.len());
                rest = &tail[end..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_hidden_everywhere() {
        let uri = MongoUri::parse("mongodb://admin:s3cret@db1:27017,db2/app?authSource=admin").unwrap();
        assert_eq!(
            uri.to_string(),
            "mongodb://admin:****@db1:27017,db2/app?authSource=admin"
        );
        assert!(!format!("{uri:?}").contains("s3cret"));
        assert_eq!(
            uri.expose_secret(),
            "mongodb://admin:s3cret@db1:27017,db2/app?authSource=admin"
        );
    }

    #[test]
    fn redacts_inside_free_text() {
        let text = "failed: mongodb+srv://u:p%40ss@x.example.net/?password=abc&w=1 and postgres://pg:pw@h/db";
        let shown = redact(text);
        assert!(!shown.contains("p%40ss"));
        assert!(!shown.contains("abc"));
        assert!(!shown.contains(":pw@"));
        assert!(shown.contains("mongodb+srv://u:****@x.example.net"));
    }

    #[test]
    fn user_without_password_is_kept() {
        assert_eq!(redact("mongodb://reader@h:1/"), "mongodb://reader@h:1/");
    }

    #[test]
    fn malformed_uris_say_why() {
        assert!(matches!(MongoUri::parse("http://x"), Err(UriError::Scheme { .. })));
        assert!(matches!(MongoUri::parse("mongodb://"), Err(UriError::NoHost { .. })));
        assert!(matches!(
            MongoUri::parse("mongodb://u:p@/db"),
            Err(UriError::NoHost { .. })
        ));
        let err = MongoUri::parse("localhost:27017").unwrap_err().to_string();
        assert!(err.contains("mongodb://"), "{err}");
    }
}
