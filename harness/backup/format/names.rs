//! Namespaces and the escaping of collection names into file names, exactly
//! as mongodump does it: Go's `url.QueryEscape` (letters, digits and
//! `-_.~` kept, a space becomes `+`, every other byte `%XX` in upper-case
//! hex), and for names whose escaped form is longer than 238 bytes, the first
//! 208 escaped bytes, `%24` and the unpadded URL-safe base64 of the SHA-1 of
//! the name, so that `<name>.metadata.json.gz` stays within 255 bytes.
//! mongorestore then takes the real name from the metadata file.

use std::fmt;

use sha1::{Digest, Sha1};

use super::base64;
use super::error::{FormatError, Origin};

/// Longest escaped name mongodump writes before it truncates and hashes.
pub const MAX_ESCAPED_NAME_BYTES: usize = 238;

/// How many escaped bytes a truncated name keeps before `%24` and the hash.
const TRUNCATED_PREFIX_BYTES: usize = 208;

/// A database and collection, displayed as `db.collection`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Namespace {
    /// The database name.
    pub database: String,
    /// The collection name (may itself contain dots).
    pub collection: String,
}

impl Namespace {
    /// A namespace from its two parts.
    pub fn new(database: impl Into<String>, collection: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            collection: collection.into(),
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}", self.database, self.collection)
    }
}

/// Escapes a collection name as Go's `url.QueryEscape` does, without the
/// truncation of long names (see [`collection_file_stem`]).
pub fn escape_collection_name(name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut escaped = String::with_capacity(name.len());
    for &byte in name.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => escaped.push(byte as char),
            b' ' => escaped.push('+'),
            _ => {
                escaped.push('%');
                escaped.push(HEX[usize::from(byte >> 4)] as char);
                escaped.push(HEX[usize::from(byte & 0x0f)] as char);
            }
        }
    }
    escaped
}

/// The file name stem (before `.bson` / `.metadata.json`) mongodump uses for
/// a collection: the escaped name, or for long names the truncated and
/// hashed form.
pub fn collection_file_stem(name: &str) -> String {
    let escaped = escape_collection_name(name);
    if escaped.len() <= MAX_ESCAPED_NAME_BYTES {
        return escaped;
    }
    // The escaped name is ASCII, so cutting at a byte index is safe (it may
    // split a `%XX`, as mongodump's does; the name then comes from the
    // metadata file, never from the stem).
    let hash = Sha1::digest(name.as_bytes());
    format!(
        "{}%24{}",
        &escaped[..TRUNCATED_PREFIX_BYTES],
        base64::url_unpadded(hash.as_slice())
    )
}

/// Whether a stem is the truncated form of a long name, whose real name
/// must be read from the collection's metadata file.
pub fn is_truncated_stem(stem: &str) -> bool {
    stem.len() == MAX_ESCAPED_NAME_BYTES && stem.contains("%24")
}

/// Reverses [`escape_collection_name`] as Go's `url.QueryUnescape` does: `+`
/// is a space, `%XX` a byte; the result must be UTF-8.
pub fn unescape_collection_name(stem: &str) -> Result<String, FormatError> {
    let invalid = |problem: String| FormatError::InvalidEscape {
        name: stem.to_owned(),
        problem,
    };
    let bytes = stem.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            b'%' => {
                let high = bytes.get(index + 1).and_then(|byte| hex_value(*byte));
                let low = bytes.get(index + 2).and_then(|byte| hex_value(*byte));
                match (high, low) {
                    (Some(high), Some(low)) => decoded.push(high << 4 | low),
                    _ => {
                        let end = (index + 3).min(bytes.len());
                        let sequence = String::from_utf8_lossy(&bytes[index..end]);
                        return Err(invalid(format!("bad escape `{sequence}` at byte {index}")));
                    }
                }
                index += 3;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|error| invalid(format!("not utf-8 once unescaped ({error})")))
}

/// The longest database name MongoDB accepts, in bytes.
pub const MAX_DATABASE_NAME_BYTES: usize = 63;

/// The longest namespace (`database.collection`) MongoDB accepts, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 255;

/// Bytes MongoDB refuses in a database name (on Unix and Windows alike, so
/// a dump moves between them): a path separator, `.`, and shell or
/// namespace specials.
const FORBIDDEN_DATABASE_BYTES: &[u8] = b"/\\. \"$*<>:|?\0";

/// `system.` collections a dump may hold: users, roles and the auth schema
/// version in `admin`, stored JavaScript, view definitions, the profiler,
/// and the buckets of time-series collections.
const KNOWN_SYSTEM_COLLECTIONS: &[&str] = &[
    "system.users",
    "system.roles",
    "system.version",
    "system.new_users",
    "system.backup_users",
    "system.js",
    "system.views",
    "system.profile",
];

/// Checks a database name by MongoDB's rules; the problem names the rule.
pub fn check_database_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > MAX_DATABASE_NAME_BYTES {
        return Err("it is longer than 63 bytes");
    }
    if name.bytes().any(|byte| FORBIDDEN_DATABASE_BYTES.contains(&byte)) {
        return Err("it holds one of / \\ . space \" $ * < > : | ? or NUL");
    }
    Ok(())
}

/// Checks a collection name by MongoDB's rules; the problem names the rule.
/// `$` is refused except in the legacy `oplog.$main`; `system.` names only
/// for the collections a dump may legitimately hold.
pub fn check_collection_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.contains('\0') {
        return Err("it holds a NUL byte");
    }
    if name.contains('$') && name != "oplog.$main" {
        return Err("it holds `$`");
    }
    if name.starts_with("system.")
        && !KNOWN_SYSTEM_COLLECTIONS.contains(&name)
        && name.strip_prefix("system.buckets.").is_none_or(str::is_empty)
    {
        return Err("it starts with `system.` but is not a system collection a dump holds");
    }
    Ok(())
}

impl Namespace {
    /// Checks both names and the namespace's length by MongoDB's rules,
    /// naming `origin` and the bad name in the error.
    pub fn validate(&self, origin: &Origin) -> Result<(), FormatError> {
        Self::validate_database(&self.database, origin)?;
        self.validate_collection(origin)
    }

    /// Checks the database name alone (a dump's `--db` before any path is
    /// joined), naming `origin` in the error.
    pub fn validate_database(database: &str, origin: &Origin) -> Result<(), FormatError> {
        check_database_name(database).map_err(|problem| invalid_name(origin, "database", database, problem))
    }

    /// Checks the collection name and the namespace's length only: for a
    /// database folder given directly, whose folder name is not the
    /// database's (`mongorestore --db X path/folder/`).
    pub fn validate_collection(&self, origin: &Origin) -> Result<(), FormatError> {
        check_collection_name(&self.collection)
            .map_err(|problem| invalid_name(origin, "collection", &self.collection, problem))?;
        if self.database.len() + 1 + self.collection.len() > MAX_NAMESPACE_BYTES {
            return Err(invalid_name(
                origin,
                "collection",
                &self.collection,
                "the namespace is longer than 255 bytes",
            ));
        }
        Ok(())
    }
}

fn invalid_name(origin: &Origin, what: &'static str, name: &str, problem: &'static str) -> FormatError {
    FormatError::InvalidName {
        origin: origin.clone(),
        what,
        name: name.escape_debug().to_string().into_boxed_str(),
        problem,
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_mongodb_rules() {
        for good in ["app", "my-db_1", "ünï"] {
            assert_eq!(check_database_name(good), Ok(()), "{good}");
        }
        for bad in ["", "../x", "/abs", "a.b", "a b", "a$b", "a\0b", &"d".repeat(64)] {
            assert!(check_database_name(bad).is_err(), "{bad:?}");
        }
        for good in [
            "users",
            "with/slash",
            "a.b.c",
            "system.js",
            "system.buckets.weather",
            "oplog.$main",
        ] {
            assert_eq!(check_collection_name(good), Ok(()), "{good}");
        }
        for bad in ["", "$cmd", "a\0", "system.", "system.other", "system.buckets."] {
            assert!(check_collection_name(bad).is_err(), "{bad:?}");
        }
        let error = Namespace::new("../../tmp/x", "c")
            .validate(&Origin::file("a.archive"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "file a.archive: database name `../../tmp/x` is invalid: it holds one of / \\ . space \" $ * < > : | ? or NUL"
        );
        let long = Namespace::new("d".repeat(63), "c".repeat(200));
        assert!(
            long.validate(&Origin::default())
                .unwrap_err()
                .to_string()
                .contains("longer than 255")
        );
    }

    #[test]
    fn escapes_like_query_escape() {
        assert_eq!(escape_collection_name("config.history"), "config.history");
        assert_eq!(escape_collection_name("weird name%x"), "weird+name%25x");
        assert_eq!(escape_collection_name("with/slash"), "with%2Fslash");
        assert_eq!(escape_collection_name("ünïcode"), "%C3%BCn%C3%AFcode");
        assert_eq!(escape_collection_name("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(escape_collection_name("$+&=?@:;,"), "%24%2B%26%3D%3F%40%3A%3B%2C");
    }

    #[test]
    fn unescapes_and_round_trips() {
        for name in [
            "config.history",
            "weird name%x",
            "with/slash",
            "ünïcode",
            "a+b c",
            "x%2Fy",
            "$admin",
        ] {
            assert_eq!(unescape_collection_name(&escape_collection_name(name)).unwrap(), name);
        }
        assert_eq!(unescape_collection_name("%c3%bc").unwrap(), "ü");
    }

    #[test]
    fn rejects_bad_escapes() {
        let error = unescape_collection_name("abc%2").unwrap_err();
        assert_eq!(
            error.to_string(),
            "file name `abc%2` is not a valid escaped collection name: bad escape `%2` at byte 3"
        );
        let error = unescape_collection_name("%zz").unwrap_err();
        assert!(error.to_string().contains("bad escape `%zz` at byte 0"), "{error}");
        let error = unescape_collection_name("%FF").unwrap_err();
        assert!(error.to_string().contains("not utf-8"), "{error}");
    }

    #[test]
    fn names_up_to_238_escaped_bytes_are_kept() {
        let name = format!("long_{}", "n".repeat(200));
        assert_eq!(collection_file_stem(&name), name);
        let name = "n".repeat(238);
        assert_eq!(collection_file_stem(&name), name);
        assert!(!is_truncated_stem(&name));
    }

    #[test]
    fn long_names_are_truncated_and_hashed() {
        let name = "n".repeat(239);
        let stem = collection_file_stem(&name);
        assert_eq!(stem.len(), 238);
        assert!(stem.starts_with(&"n".repeat(208)));
        assert_eq!(&stem[208..211], "%24");
        assert!(is_truncated_stem(&stem));
        let hash = Sha1::digest(name.as_bytes());
        assert_eq!(&stem[211..], base64::url_unpadded(hash.as_slice()));
        assert_eq!(stem[211..].len(), 27);
    }

    #[test]
    fn long_name_matches_mongo_tools_test_data() {
        // mongo-tools' `mongorestore/testdata/longcollectionname/db1/` holds
        // a dump of this 247-character name under this stem.
        let name = format!(
            "a{}LongCollectionNameConsistingOfExactlyTwoHundredAndFortySevenCharacters",
            "VeryVery".repeat(22)
        );
        assert_eq!(name.len(), 247);
        let stem = collection_file_stem(&name);
        assert_eq!(
            stem,
            format!(
                "a{}LongCollectionNameConsistingOfE%24xFO0VquRn7cg3QooSZD5sglTddU",
                "VeryVery".repeat(22)
            )
        );
    }
}
