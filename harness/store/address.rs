//! Where a store is: `s3://bucket/prefix` or a local folder, and what is
//! needed to open it (endpoint, region, where the credentials come from).

use std::path::PathBuf;

use super::credentials::CredentialsSource;
use super::error::StoreError;

/// A store's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreAddress {
    /// A folder on this machine (`/backups`, `./backups`, `file:///backups`).
    Folder(PathBuf),
    /// A bucket of an S3-compatible service, and a key prefix in it (no
    /// leading or trailing `/`; empty for the bucket's root).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: String,
    },
}

impl StoreAddress {
    /// Parses `s3://bucket[/prefix]`, `file:///folder` or a folder path.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        // An address with `user:secret@` in it is never echoed whole.
        let shown = match text.split_once('@') {
            Some((_, host)) => format!("s3://***@{host}"),
            None => text.to_owned(),
        };
        let bad = |reason| StoreError::Address {
            address: shown.clone(),
            reason,
        };
        let text_trimmed = text.trim();
        if text_trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(rest) = text_trimmed.strip_prefix("s3://") {
            if rest.contains('@') || rest.contains('?') {
                return Err(bad(
                    "credentials and options never go in the address: use the environment",
                ));
            }
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if !is_bucket_name(bucket) {
                return Err(bad(
                    "the bucket name must be 3 to 63 lowercase letters, digits, '.' or '-'",
                ));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some(path) = text_trimmed.strip_prefix("file://") {
            return Ok(Self::Folder(PathBuf::from(path)));
        }
        if text_trimmed.contains("://") {
            return Err(bad("only s3:// and local folders are supported"));
        }
        Ok(Self::Folder(PathBuf::from(text_trimmed)))
    }
}

impl std::fmt::Display for StoreAddress {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Folder(path) => write!(formatter, "{}", path.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(formatter, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(formatter, "s3://{bucket}/{prefix}"),
        }
    }
}

/// A bucket name S3 accepts (the common rules; dots allowed, no `..`).
fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'.' || byte == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && !name.contains("..")
}

/// Everything needed to open one store. Holds no secret: credentials are
/// read from [`CredentialsSource`] when the store is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSpec {
    /// The store's name (the scenario's `[stores.NAME]`, or the address).
    pub name: String,
    /// Where it is.
    pub address: StoreAddress,
    /// The S3 endpoint (`http://127.0.0.1:7070`); `None`: `AWS_ENDPOINT_URL`,
    /// else AWS itself.
    pub endpoint: Option<String>,
    /// The region; `None`: `AWS_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// Where the access key pair comes from.
    pub credentials: CredentialsSource,
    /// The age keys, when the store keeps backups encrypted.
    pub encryption: super::encrypt::Encryption,
}

impl StoreSpec {
    /// A store at `address` with everything else from the environment.
    pub fn from_address(name: impl Into<String>, address: StoreAddress) -> Self {
        Self {
            name: name.into(),
            address,
            endpoint: None,
            region: None,
            credentials: CredentialsSource::Environment,
            encryption: Default::default(),
        }
    }

    /// The endpoint to use: the spec's, else `AWS_ENDPOINT_URL`.
    pub fn resolved_endpoint(&self) -> Option<String> {
        self.endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok().filter(|text| !text.is_empty()))
    }

    /// The region to use: the spec's, else `AWS_REGION`, else `us-east-1`.
    pub fn resolved_region(&self) -> String {
        self.region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|text| !text.is_empty()))
            .unwrap_or_else(|| "us-east-1".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_addresses_parse() {
        assert_eq!(
            StoreAddress::parse("s3://drdrill-a/nightly/").unwrap(),
            StoreAddress::S3 {
                bucket: "drdrill-a".into(),
                prefix: "nightly".into()
            }
        );
        assert_eq!(
            StoreAddress::parse("s3://drdrill-a").unwrap().to_string(),
            "s3://drdrill-a"
        );
        assert_eq!(
            StoreAddress::parse("file:///srv/backups").unwrap(),
            StoreAddress::Folder("/srv/backups".into())
        );
        assert_eq!(
            StoreAddress::parse("backups").unwrap(),
            StoreAddress::Folder("backups".into())
        );
        for bad in ["", "s3://A", "s3://ab", "gs://bucket", "s3://key:secret@bucket/x"] {
            assert!(StoreAddress::parse(bad).is_err(), "{bad}");
        }
        let shown = StoreAddress::parse("s3://key:secret@bucket/x").unwrap_err().to_string();
        assert!(!shown.contains("secret"), "{shown}");
    }
}
