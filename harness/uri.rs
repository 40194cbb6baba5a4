//! Connection strings: parsing by the driver's rules (scheme, userinfo up to
//! the last `@` before the host list, percent-encoding), redaction from the
//! parsed parts where a URI is displayed, and one [`Scrubber`] for foreign
//! text (a child's output, a driver's error message) that may hold a
//! password, so that credentials never reach a log line, a report or an
//! error message.

use std::fmt;

/// What stands in for a password wherever one would be shown.
const MASK: &str = "****";

/// A password shorter than this is not searched for in free text: scrubbing
/// every `a` of an output would destroy it, and such a password protects
/// nothing anyway.
const SHORTEST_SCRUBBED: usize = 3;

/// A MongoDB connection string whose `Display` never shows credentials.
///
/// Keep the secret form only for connecting; everything printed or stored
/// goes through `Display` or [`MongoUri::redacted`], both built from the
/// parsed parts, so a password holding a space, a quote, `/`, `?`, `@`, `:`
/// or percent-encoded characters is hidden whole.
#[derive(Clone, PartialEq, Eq)]
pub struct MongoUri {
    /// The string as given, credentials included. Never print it.
    secret: String,
    /// The string with the password (userinfo and `password=` option)
    /// replaced by [`MASK`], made once at parse time.
    shown: String,
    /// The password as written in the string (percent-encoded or not).
    password: Option<String>,
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

/// The schemes the driver accepts.
const SCHEMES: [&str; 2] = ["mongodb://", "mongodb+srv://"];

impl MongoUri {
    /// Checks the outer shape of `text` (scheme and host) and splits off its
    /// credentials; the driver checks the rest when connecting.
    ///
    /// The userinfo runs up to the last `@` of the string (a password may
    /// hold `/`, `?` or `@` written raw), so a `@` inside the options makes
    /// more of the string hidden, never less.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let text = text.trim();
        let Some(scheme) = SCHEMES.iter().find(|scheme| text.starts_with(*scheme)) else {
            return Err(UriError::Scheme {
                shown: mask_after_scheme(text),
            });
        };
        let rest = &text[scheme.len()..];
        let (userinfo, hosts_and_options) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let mut shown = String::with_capacity(text.len());
        shown.push_str(scheme);
        let mut password = None;
        if let Some(userinfo) = userinfo {
            match userinfo.split_once(':') {
                Some((user, secret)) => {
                    shown.push_str(user);
                    shown.push(':');
                    shown.push_str(MASK);
                    password = Some(secret.to_owned());
                }
                None => shown.push_str(userinfo),
            }
            shown.push('@');
        }
        shown.push_str(&redact_query_password(hosts_and_options));
        let hosts = hosts_and_options.split(['/', '?']).next().unwrap_or("");
        if hosts.is_empty() {
            return Err(UriError::NoHost { shown });
        }
        Ok(Self {
            secret: text.to_string(),
            shown,
            password,
        })
    }

    /// The string with credentials, for the driver only.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }

    /// Whether the string holds a password (in its userinfo or as a
    /// `password=` option).
    pub fn has_password(&self) -> bool {
        self.password.is_some() || self.shown != self.secret
    }

    /// The same URI with connection option `key` set to `value` (an option
    /// of that name already there, in any letter case, is replaced).
    pub fn with_option(&self, key: &str, value: &str) -> Result<Self, UriError> {
        let scheme = SCHEMES
            .iter()
            .find(|scheme| self.secret.starts_with(*scheme))
            .map_or(0, |scheme| scheme.len());
        let after_userinfo = self.secret[scheme..].rfind('@').map_or(scheme, |at| scheme + at + 1);
        let (head, tail) = self.secret.split_at(after_userinfo);
        let (path, options) = tail.split_once('?').unwrap_or((tail, ""));
        let mut kept: Vec<&str> = options
            .split('&')
            .filter(|option| {
                !option.is_empty()
                    && !option
                        .split('=')
                        .next()
                        .is_some_and(|name| name.eq_ignore_ascii_case(key))
            })
            .collect();
        let setting = format!("{key}={value}");
        kept.push(&setting);
        let slash = if path.contains('/') { "" } else { "/" };
        Self::parse(&format!("{head}{path}{slash}?{}", kept.join("&")))
    }

    /// The string with any password replaced by `****`.
    pub fn redacted(&self) -> String {
        self.shown.clone()
    }

    /// A scrubber for text that may quote this URI or its password.
    pub fn scrubber(&self) -> Scrubber {
        Scrubber::default().with_uri(self)
    }
}

impl fmt::Display for MongoUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.shown)
    }
}

impl fmt::Debug for MongoUri {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "MongoUri({})", self.shown)
    }
}

/// Hides everything between the scheme and the last `@` of a string that
/// is not a URI we accept, for the error that says so.
fn mask_after_scheme(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}{MASK}{}", &text[..scheme + 3], &text[at..]),
        (None, Some(at)) => format!("{MASK}{}", &text[at..]),
        _ => redact(text),
    }
}

/// Removes secrets from foreign text: a child's output, a driver's error
/// message. It knows each URI whole (replaced by its redacted form) and
/// each password both as written and percent-decoded (replaced by `****`);
/// whatever else looks like `scheme://user:password@host` is redacted too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scrubber {
    /// `(secret, replacement)`, longest secret first so that a URI is
    /// replaced whole before its password is searched for.
    replacements: Vec<(String, String)>,
}

impl Scrubber {
    /// Also scrubs `uri` and its password.
    pub fn with_uri(mut self, uri: &MongoUri) -> Self {
        self.add(uri.secret.clone(), uri.shown.clone());
        if let Some(password) = &uri.password {
            self = self.with_secret(password);
            self = self.with_secret(&percent_decode(password));
            // A raw `/`, `?`, `@`, `:` or `#` makes the driver split the
            // string there, and its error then quotes a piece ("invalid
            // server address admin:S3cret"): each piece is a secret too.
            for piece in password.split(['/', '?', '@', ':', '#']) {
                self = self.with_secret(piece);
            }
        }
        self
    }

    /// Also scrubs `secret` verbatim (ignored when shorter than 3 characters).
    pub fn with_secret(mut self, secret: &str) -> Self {
        if secret.chars().count() >= SHORTEST_SCRUBBED {
            self.add(secret.to_owned(), MASK.to_owned());
        }
        self
    }

    fn add(&mut self, secret: String, replacement: String) {
        if secret.is_empty() || self.replacements.iter().any(|(known, _)| *known == secret) {
            return;
        }
        self.replacements.push((secret, replacement));
        self.replacements
            .sort_by_key(|(secret, _)| std::cmp::Reverse(secret.len()));
    }

    /// `text` with every known secret replaced, then free-text redaction.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (secret, replacement) in &self.replacements {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), replacement);
            }
        }
        redact(&out)
    }
}

/// Decodes `%XX` escapes; anything else (a lone `%`, invalid UTF-8 after
/// decoding) is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
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

    #[test]
    fn awkward_passwords_are_hidden_whole() {
        for password in ["S3cret PW", "pa\"ss'wd", "a/b?c", "p@ss:w@rd", "p%40ss%20word"] {
            let text = format!("mongodb://admin:{password}@127.0.0.1:1/app?authSource=admin");
            let uri = MongoUri::parse(&text).unwrap();
            assert_eq!(uri.to_string(), "mongodb://admin:****@127.0.0.1:1/app?authSource=admin");
            assert!(!format!("{uri:?}").contains(password), "{uri:?}");
            assert_eq!(uri.expose_secret(), text);
        }
    }

    #[test]
    fn the_option_password_is_hidden_and_a_bare_host_kept() {
        let uri = MongoUri::parse("mongodb+srv://cluster.example.net/?authMechanism=PLAIN&password=hunter22").unwrap();
        assert_eq!(
            uri.to_string(),
            "mongodb+srv://cluster.example.net/?authMechanism=PLAIN&password=****"
        );
        let plain = MongoUri::parse("mongodb://127.0.0.1:27017/?directConnection=true").unwrap();
        assert_eq!(plain.to_string(), "mongodb://127.0.0.1:27017/?directConnection=true");
    }

    #[test]
    fn the_scrubber_knows_the_password_raw_decoded_and_the_whole_uri() {
        let uri = MongoUri::parse("mongodb://admin:S3cret%20PW%21@h:1/").unwrap();
        let scrubber = uri.scrubber();
        let text = "uri mongodb://admin:S3cret%20PW%21@h:1/ raw S3cret%20PW%21 decoded S3cret PW! end";
        let shown = scrubber.scrub(text);
        assert_eq!(shown, "uri mongodb://admin:****@h:1/ raw **** decoded **** end");
        assert_eq!(Scrubber::default().with_secret("ab").scrub("ab cd"), "ab cd");
        let split = MongoUri::parse("mongodb://admin:S3cret/PW?x@h:1/").unwrap().scrubber();
        assert_eq!(
            split.scrub("invalid server address admin:S3cret"),
            "invalid server address admin:****"
        );
    }
    #[test]
    fn an_option_is_added_or_replaced_and_the_password_stays_hidden() {
        let uri = MongoUri::parse("mongodb://u:p@ss?w@db.example:27017").unwrap();
        let with = uri.with_option("readPreference", "secondaryPreferred").unwrap();
        assert_eq!(
            with.expose_secret(),
            "mongodb://u:p@ss?w@db.example:27017/?readPreference=secondaryPreferred"
        );
        assert_eq!(
            with.redacted(),
            "mongodb://u:****@db.example:27017/?readPreference=secondaryPreferred"
        );
        let uri = MongoUri::parse("mongodb://h1,h2/app?replicaSet=rs0&readpreference=primary").unwrap();
        let with = uri.with_option("readPreference", "secondary").unwrap();
        assert_eq!(
            with.expose_secret(),
            "mongodb://h1,h2/app?replicaSet=rs0&readPreference=secondary"
        );
    }
}
