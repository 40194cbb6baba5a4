//! `<collection>.metadata.json`: a collection's options, indexes, UUID, name
//! and type, in canonical Extended JSON. The writer reproduces mongodump's
//! bytes exactly: fields in the order of its `Metadata` struct (`options`
//! when not empty, `indexes` always, `uuid` when known, `collectionName`,
//! `type` when known), compact, no trailing newline. The same text is the
//! `metadata` string of an archive's prelude.

use bson::{Bson, Document, RawDocumentBuf, doc};

use super::error::{FormatError, Origin};
use super::extended_json;

/// What kind of namespace a metadata file describes (`type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectionKind {
    /// A regular collection (`"collection"`).
    Collection,
    /// A view (`"view"`); its definition is in the options.
    View,
    /// A time series collection (`"timeseries"`).
    Timeseries,
    /// Any other value a newer server reports, kept as written.
    Other(String),
}

impl CollectionKind {
    /// The value as mongodump writes it.
    pub fn as_str(&self) -> &str {
        match self {
            CollectionKind::Collection => "collection",
            CollectionKind::View => "view",
            CollectionKind::Timeseries => "timeseries",
            CollectionKind::Other(other) => other,
        }
    }

    /// Parses the `type` field.
    pub fn parse(value: &str) -> Self {
        match value {
            "collection" => CollectionKind::Collection,
            "view" => CollectionKind::View,
            "timeseries" => CollectionKind::Timeseries,
            other => CollectionKind::Other(other.to_owned()),
        }
    }
}

/// The content of a `.metadata.json` file.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionMetadata {
    /// The collection's real name (`collectionName`); dumps older than
    /// mongodump 100.x lack it and leave this empty until the caller fills
    /// it from the file name.
    pub collection_name: String,
    /// `type`, absent in old dumps.
    pub kind: Option<CollectionKind>,
    /// The `listCollections` options (validator, collation, capped, view
    /// pipeline, ...); empty when the collection has none.
    pub options: Document,
    /// Index specifications as `listIndexes` returned them, in order.
    pub indexes: Vec<Document>,
    /// The collection UUID as 32 hex digits, when the server reported one.
    pub uuid: Option<String>,
}

/// Collection options `create` accepts and `listCollections` reports, from
/// MongoDB's `create` command reference (8.0): capped collections, storage
/// and index defaults, validation, views, collation, time series, TTL and
/// clustered collections, change stream images, queryable encryption.
pub const KNOWN_CREATE_OPTIONS: &[&str] = &[
    "capped",
    "size",
    "max",
    "storageEngine",
    "validator",
    "validationLevel",
    "validationAction",
    "indexOptionDefaults",
    "viewOn",
    "pipeline",
    "collation",
    "timeseries",
    "expireAfterSeconds",
    "clusteredIndex",
    "changeStreamPreAndPostImages",
    "encryptedFields",
];

impl CollectionMetadata {
    /// Metadata of a regular collection with only the `_id` index, as a
    /// server creates it.
    pub fn collection(name: impl Into<String>) -> Self {
        Self {
            collection_name: name.into(),
            kind: Some(CollectionKind::Collection),
            options: Document::new(),
            indexes: vec![doc! { "v": 2, "key": { "_id": 1 }, "name": "_id_" }],
            uuid: None,
        }
    }

    /// Parses metadata JSON (canonical or relaxed extended JSON). An empty
    /// text is valid for mongorestore (no metadata) and gives `Ok(None)`.
    pub fn from_json(text: &[u8], origin: &Origin) -> Result<Option<Self>, FormatError> {
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let document: Document = serde_json::from_slice(text).map_err(|source| FormatError::MetadataSyntax {
            origin: origin.clone(),
            source,
        })?;
        let wrong = |field: &str, problem: String| FormatError::MetadataField {
            origin: origin.clone(),
            field: field.to_owned(),
            problem,
        };
        let mut metadata = Self {
            collection_name: String::new(),
            kind: None,
            options: Document::new(),
            indexes: Vec::new(),
            uuid: None,
        };
        // Unknown fields are ignored, as mongorestore ignores them: a newer
        // mongodump may add some.
        for (key, value) in document {
            match (key.as_str(), value) {
                ("collectionName", Bson::String(name)) => metadata.collection_name = name,
                ("type", Bson::String(kind)) => metadata.kind = Some(CollectionKind::parse(&kind)),
                ("uuid", Bson::String(uuid)) => metadata.uuid = Some(uuid),
                ("options", Bson::Document(options)) => metadata.options = options,
                ("indexes", Bson::Array(indexes)) => {
                    for (position, index) in indexes.into_iter().enumerate() {
                        match index {
                            Bson::Document(index) => metadata.indexes.push(index),
                            other => {
                                return Err(wrong(
                                    "indexes",
                                    format!(
                                        "has a {} at position {position} instead of a document",
                                        type_name(&other)
                                    ),
                                ));
                            }
                        }
                    }
                }
                ("indexes" | "options", Bson::Null) => {}
                (field @ ("collectionName" | "type" | "uuid"), other) => {
                    return Err(wrong(field, format!("is a {} instead of a string", type_name(&other))));
                }
                (field @ "options", other) => {
                    return Err(wrong(
                        field,
                        format!("is a {} instead of a document", type_name(&other)),
                    ));
                }
                (field @ "indexes", other) => {
                    return Err(wrong(field, format!("is a {} instead of an array", type_name(&other))));
                }
                _ => {}
            }
        }
        Ok(Some(metadata))
    }

    /// The options that may reach a `create` command: those MongoDB's
    /// `create` documents and `listCollections` reports
    /// ([`KNOWN_CREATE_OPTIONS`]), in their order. Anything else (`create`
    /// itself, `$db`, any key starting with `$`, an unknown key) is left out,
    /// so a hostile metadata file can neither rename the collection nor
    /// steer the command; [`CollectionMetadata::dropped_options`] names them.
    pub fn create_options(&self) -> Document {
        self.options
            .iter()
            .filter(|(key, _)| KNOWN_CREATE_OPTIONS.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The option names [`CollectionMetadata::create_options`] leaves out,
    /// for a finding.
    pub fn dropped_options(&self) -> Vec<String> {
        self.options
            .keys()
            .filter(|key| !KNOWN_CREATE_OPTIONS.contains(&key.as_str()))
            .cloned()
            .collect()
    }

    /// The finding for the options left out, `None` when there are none.
    pub fn dropped_options_finding(&self) -> Option<String> {
        let dropped = self.dropped_options();
        (!dropped.is_empty()).then(|| {
            format!(
                "metadata options {} are not collection options; a restore leaves them out",
                dropped.join(", ")
            )
        })
    }

    /// The metadata as mongodump writes it, byte for byte.
    pub fn to_json(&self, origin: &Origin) -> Result<String, FormatError> {
        let mut document = Document::new();
        if !self.options.is_empty() {
            document.insert("options", self.options.clone());
        }
        document.insert(
            "indexes",
            self.indexes.iter().cloned().map(Bson::Document).collect::<Vec<_>>(),
        );
        if let Some(uuid) = self.uuid.as_ref().filter(|uuid| !uuid.is_empty()) {
            document.insert("uuid", uuid.clone());
        }
        document.insert("collectionName", self.collection_name.clone());
        if let Some(kind) = &self.kind {
            document.insert("type", kind.as_str());
        }
        let encode = |source| FormatError::Encode {
            origin: origin.clone(),
            what: "collection metadata".to_owned(),
            source: Box::new(source),
        };
        let raw = RawDocumentBuf::try_from(&document).map_err(encode)?;
        let mut text = String::with_capacity(raw.as_bytes().len() * 2);
        extended_json::write_document(&raw, &mut text).map_err(encode)?;
        Ok(text)
    }
}

/// A value's BSON type as a person would name it in a message.
fn type_name(value: &Bson) -> &'static str {
    use bson::spec::ElementType;
    match value.element_type() {
        ElementType::Double => "double",
        ElementType::String => "string",
        ElementType::EmbeddedDocument => "document",
        ElementType::Array => "array",
        ElementType::Binary => "binary",
        ElementType::ObjectId => "object id",
        ElementType::Boolean => "boolean",
        ElementType::DateTime => "date",
        ElementType::Null => "null",
        ElementType::Int32 => "32-bit integer",
        ElementType::Int64 => "64-bit integer",
        _ => "value of another type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIGURATIONS: &str = r#"{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"},{"v":{"$numberInt":"2"},"key":{"service":{"$numberInt":"1"},"environment":{"$numberInt":"1"},"key":{"$numberInt":"1"}},"name":"service_env_key","unique":true},{"v":{"$numberInt":"2"},"key":{"updated_at":{"$numberInt":"-1"}},"name":"updated_at_desc"}],"uuid":"b76499b5af5e4141a4d1cb269f6ec939","collectionName":"configurations","type":"collection"}"#;

    #[test]
    fn round_trips_mongodump_bytes_and_keeps_key_order() {
        let metadata = CollectionMetadata::from_json(CONFIGURATIONS.as_bytes(), &Origin::default())
            .unwrap()
            .unwrap();
        assert_eq!(metadata.collection_name, "configurations");
        assert_eq!(metadata.kind, Some(CollectionKind::Collection));
        assert_eq!(metadata.uuid.as_deref(), Some("b76499b5af5e4141a4d1cb269f6ec939"));
        let keys: Vec<&String> = metadata.indexes[1].get_document("key").unwrap().keys().collect();
        assert_eq!(keys, ["service", "environment", "key"]);
        assert_eq!(metadata.to_json(&Origin::default()).unwrap(), CONFIGURATIONS);
    }

    #[test]
    fn options_come_first_and_relaxed_input_is_accepted() {
        let relaxed = r#"{"options":{"capped":true,"size":4096,"collation":{"locale":"fr","strength":1.5}},"indexes":[],"collectionName":"c"}"#;
        let metadata = CollectionMetadata::from_json(relaxed.as_bytes(), &Origin::default())
            .unwrap()
            .unwrap();
        assert_eq!(metadata.kind, None);
        assert_eq!(metadata.uuid, None);
        assert_eq!(
            metadata.to_json(&Origin::default()).unwrap(),
            r#"{"options":{"capped":true,"size":{"$numberInt":"4096"},"collation":{"locale":"fr","strength":{"$numberDouble":"1.5"}}},"indexes":[],"collectionName":"c"}"#
        );
    }

    #[test]
    fn only_known_options_reach_create() {
        let text = br#"{"options":{"create":"hijacked","$db":"admin","capped":true,"size":4096,"validator":{"$jsonSchema":{}},"x":1},"indexes":[],"collectionName":"c"}"#;
        let metadata = CollectionMetadata::from_json(text, &Origin::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            metadata.create_options(),
            doc! { "capped": true, "size": 4096, "validator": { "$jsonSchema": {} } }
        );
        assert_eq!(metadata.dropped_options(), ["create", "$db", "x"]);
    }

    #[test]
    fn errors_name_the_origin_and_field() {
        let origin = Origin::file("dump/db/c.metadata.json");
        let error = CollectionMetadata::from_json(br#"{"indexes":{}}"#, &origin).unwrap_err();
        assert_eq!(
            error.to_string(),
            "file dump/db/c.metadata.json: metadata field `indexes` is a document instead of an array"
        );
        let error = CollectionMetadata::from_json(br#"{"indexes":[1]}"#, &origin).unwrap_err();
        assert!(
            error.to_string().contains("has a 32-bit integer at position 0"),
            "{error}"
        );
        let error = CollectionMetadata::from_json(b"{\"indexes\":[", &origin).unwrap_err();
        assert_eq!(
            error.to_string(),
            "file dump/db/c.metadata.json: metadata is not valid extended json"
        );
        assert!(CollectionMetadata::from_json(b" \n", &origin).unwrap().is_none());
    }
}
