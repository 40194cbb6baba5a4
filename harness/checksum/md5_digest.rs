//! The streaming core of a collection digest: MD5 over the raw bytes of
//! documents fed in `_id` order, the same value MongoDB's `dbHash` gives
//! per collection. It never re-serializes a document (field order and
//! number types would drift) and holds nothing but the hash state, so it
//! serves a live cursor and a dump file alike.

use bson::RawDocument;
use md5::{Digest, Md5};

/// MD5, count and byte total over documents fed one by one.
#[derive(Debug, Clone, Default)]
pub struct Md5Digest {
    /// The running hash of every byte fed so far.
    hasher: Md5,
    /// Documents fed so far.
    count: u64,
    /// Bytes fed so far.
    bytes: u64,
}

impl Md5Digest {
    /// An empty digest: `finish` on it gives the MD5 of nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one document, exactly as its bytes are.
    pub fn update(&mut self, document: &RawDocument) {
        let bytes = document.as_bytes();
        self.hasher.update(bytes);
        self.count += 1;
        self.bytes += bytes.len() as u64;
    }

    /// Documents fed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Ends the digest: `(count, bytes, md5 as lowercase hex)`.
    pub fn finish(self) -> (u64, u64, String) {
        (self.count, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{RawDocumentBuf, rawdoc};

    #[test]
    fn empty_digest_is_md5_of_nothing() {
        let (count, bytes, md5) = Md5Digest::new().finish();
        assert_eq!((count, bytes), (0, 0));
        assert_eq!(md5, "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn digest_is_md5_of_concatenated_bytes() {
        let documents: Vec<RawDocumentBuf> = vec![rawdoc! {"_id": 1, "a": "x"}, rawdoc! {"_id": 2, "b": 2.5}];
        let mut digest = Md5Digest::new();
        let mut concatenated = Vec::new();
        for document in &documents {
            digest.update(document);
            concatenated.extend_from_slice(document.as_bytes());
        }
        let (count, bytes, md5) = digest.finish();
        assert_eq!(count, 2);
        assert_eq!(bytes, concatenated.len() as u64);
        assert_eq!(md5, hex::encode(Md5::digest(&concatenated)));
        assert_eq!(md5.len(), 32);
        assert!(md5.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn order_and_number_types_change_the_digest() {
        let digest_of = |documents: &[RawDocumentBuf]| {
            let mut digest = Md5Digest::new();
            documents.iter().for_each(|document| digest.update(document));
            digest.finish().2
        };
        let one = rawdoc! {"_id": 1};
        let two = rawdoc! {"_id": 2};
        let one_long = rawdoc! {"_id": 1_i64};
        assert_ne!(
            digest_of(&[one.clone(), two.clone()]),
            digest_of(&[two.clone(), one.clone()])
        );
        assert_ne!(digest_of(&[one]), digest_of(&[one_long]));
    }
}
