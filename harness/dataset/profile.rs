//! Dataset profiles: which collections a dataset has, how the total document
//! count is shared between them, and their indexes. A profile file is parsed
//! into wire structs that mirror it, then validated into [`Profile`]; every
//! error names the file, the line and the field.

use std::path::Path;
use std::time::Duration;

use bson::Document;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::DatasetError;

/// The profiles compiled into the binary, so that it works from any folder.
const BUILTIN_PROFILES: &[(&str, &str)] = &[(
    "shepherd-cms",
    include_str!("../../fixtures/profiles/shepherd-cms.toml"),
)];

/// A validated dataset profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    name: String,
    description: String,
    collections: Vec<CollectionProfile>,
}

/// One collection of a profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectionProfile {
    /// The collection's name in the database.
    pub name: String,
    /// The code that builds its documents.
    pub generator: Generator,
    /// How many documents it gets.
    pub size: CollectionSize,
    /// Its indexes besides `_id`.
    pub indexes: Vec<IndexSpec>,
    /// The top-level fields whose values are personal data (`pii = [...]`):
    /// what the `mask` step anonymizes and the `pii` check looks for.
    pub pii: Vec<String>,
}

/// How many documents a collection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionSize {
    /// A relative weight of the total (what is left after fixed counts).
    Share(u32),
    /// A fixed number, whatever the total.
    Count(u64),
}

/// The closed set of document generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generator {
    /// Versioned configuration values per service, environment and key.
    Configurations,
    /// Append-only audit records with increasing timestamps.
    AuditLog,
    /// People with names and e-mail addresses (PII).
    Users,
    /// Feature flags per environment.
    FeatureFlags,
    /// Services, with string `_id`s.
    Services,
    /// Deployment environments (dev, staging, prod, dr ...), string `_id`s.
    Environments,
}

impl Generator {
    /// Every generator, in the order their names are listed in errors.
    pub const ALL: [Generator; 6] = [
        Generator::Configurations,
        Generator::AuditLog,
        Generator::Users,
        Generator::FeatureFlags,
        Generator::Services,
        Generator::Environments,
    ];

    /// The name used in profile files.
    pub fn name(self) -> &'static str {
        match self {
            Generator::Configurations => "configurations",
            Generator::AuditLog => "audit_log",
            Generator::Users => "users",
            Generator::FeatureFlags => "feature_flags",
            Generator::Services => "services",
            Generator::Environments => "environments",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|generator| generator.name() == name)
    }
}

/// One index of a collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexSpec {
    /// The index's name.
    pub name: String,
    /// The indexed fields, in order.
    pub keys: Vec<IndexKey>,
    /// Unique index.
    pub unique: bool,
    /// Sparse index (documents without the field are left out).
    pub sparse: bool,
    /// TTL: documents expire this long after the date in the (single) field.
    pub expire_after: Option<Duration>,
    /// Partial index: only documents matching this filter are indexed.
    pub partial_filter: Option<Document>,
}

/// One field of an index key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexKey {
    /// The field's (dotted) name.
    pub field: String,
    /// Descending (`-1`) rather than ascending (`1`).
    pub descending: bool,
}

impl IndexSpec {
    /// The key document as MongoDB wants it, fields in order: `{service: 1, at: -1}`.
    pub fn keys_document(&self) -> Document {
        let mut keys = Document::new();
        for key in &self.keys {
            keys.insert(key.field.clone(), if key.descending { -1 } else { 1 });
        }
        keys
    }
}

impl Profile {
    /// A profile compiled into the binary; `"shepherd-cms"` is the only one.
    pub fn builtin(name: &str) -> Result<Profile, DatasetError> {
        let (_, text) = BUILTIN_PROFILES
            .iter()
            .find(|(builtin, _)| *builtin == name)
            .ok_or_else(|| DatasetError::UnknownProfile {
                name: name.to_string(),
                known: Self::builtin_names().join(", "),
            })?;
        Self::parse(text, &format!("builtin:{name}"))
    }

    /// The names [`Profile::builtin`] accepts.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN_PROFILES.iter().map(|(name, _)| *name).collect()
    }

    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Profile, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates profile text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Profile, DatasetError> {
        let wire = parse_wire(text, file)?;
        validate(wire, text, file)
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the profile models.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Its collections, in file order (the seeding order).
    pub fn collections(&self) -> &[CollectionProfile] {
        &self.collections
    }

    /// The collection called `name`.
    pub fn collection(&self, name: &str) -> Option<&CollectionProfile> {
        self.collections.iter().find(|collection| collection.name == name)
    }

    /// `(collection, field)` for every field the profile marks as PII.
    pub fn pii_fields(&self) -> Vec<(&str, &str)> {
        self.collections
            .iter()
            .flat_map(|collection| {
                collection
                    .pii
                    .iter()
                    .map(move |field| (collection.name.as_str(), field.as_str()))
            })
            .collect()
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    collections: Spanned<Vec<CollectionFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionFile {
    name: Spanned<String>,
    generator: Option<Spanned<String>>,
    share: Option<Spanned<u32>>,
    count: Option<Spanned<u64>>,
    #[serde(default)]
    indexes: Vec<IndexFile>,
    #[serde(default)]
    pii: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    name: Spanned<String>,
    keys: Spanned<Vec<String>>,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    sparse: bool,
    expire_after_seconds: Option<Spanned<u64>>,
    partial_filter: Option<Spanned<toml::Table>>,
}

fn parse_wire(text: &str, file: &str) -> Result<ProfileFile, DatasetError> {
    let to_error = |field: String, source: toml::de::Error| {
        let (line, column) = source
            .span()
            .map(|span| line_and_column(text, span.start))
            .unwrap_or((0, 0));
        DatasetError::Parse {
            file: file.to_string(),
            line,
            column,
            field,
            message: source.message().to_string(),
            source: Box::new(source),
        }
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|source| to_error(String::new(), source))?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        // `Spanned` fields show up as a private segment in the path.
        let field = error
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
            .replace("$__serde_spanned_private_value", "");
        to_error(field, error.into_inner())
    })
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (line, column)
}

/// Where a profile's problems are reported: its file and text, for the
/// line of a span.
struct Located<'a> {
    /// The profile's text, to turn spans into lines.
    text: &'a str,
    /// The profile's file, as errors name it.
    file: &'a str,
}

impl Located<'_> {
    /// The validation error at `span`, for the key path `field`.
    fn invalid(&self, span: std::ops::Range<usize>, field: String, message: String) -> DatasetError {
        DatasetError::Invalid {
            file: self.file.to_string(),
            line: line_and_column(self.text, span.start).0,
            field,
            message,
        }
    }
}

fn validate(wire: ProfileFile, text: &str, file: &str) -> Result<Profile, DatasetError> {
    let located = Located { text, file };
    if wire.name.get_ref().trim().is_empty() {
        return Err(located.invalid(wire.name.span(), "name".into(), "the name is empty".into()));
    }
    if wire.collections.get_ref().is_empty() {
        return Err(located.invalid(
            wire.collections.span(),
            "collections".into(),
            "a profile needs at least one collection".into(),
        ));
    }
    let mut collections: Vec<CollectionProfile> = Vec::new();
    for (position, collection) in wire.collections.into_inner().into_iter().enumerate() {
        let checked = validate_collection(&located, &format!("collections[{position}]"), collection, &collections)?;
        collections.push(checked);
    }
    Ok(Profile {
        name: wire.name.into_inner(),
        description: wire.description,
        collections,
    })
}

/// One `[[collections]]` entry, `path` its key path, checked against the
/// entries before it.
fn validate_collection(
    located: &Located<'_>,
    path: &str,
    collection: CollectionFile,
    earlier: &[CollectionProfile],
) -> Result<CollectionProfile, DatasetError> {
    let at = |field: &str| format!("{path}.{field}");
    let name = collection.name.get_ref().clone();
    if let Some(problem) = collection_name_problem(&name) {
        return Err(located.invalid(collection.name.span(), at("name"), problem));
    }
    if earlier.iter().any(|earlier| earlier.name == name) {
        return Err(located.invalid(
            collection.name.span(),
            at("name"),
            format!("collection {name} is listed twice"),
        ));
    }
    let generator = collection_generator(located, path, &collection, earlier)?;
    let size = collection_size(located, path, &collection)?;
    let mut indexes: Vec<IndexSpec> = Vec::new();
    for (index_position, index) in collection.indexes.into_iter().enumerate() {
        let index_path = format!("{path}.indexes[{index_position}]");
        let checked = validate_index(located, &index_path, &name, index, &indexes)?;
        indexes.push(checked);
    }
    let pii = collection_pii(located, path, &collection.pii)?;
    Ok(CollectionProfile {
        name,
        generator,
        size,
        indexes,
        pii,
    })
}

/// A collection's `pii` marks: top-level field names, each once.
fn collection_pii(located: &Located<'_>, path: &str, marks: &[Spanned<String>]) -> Result<Vec<String>, DatasetError> {
    let mut fields: Vec<String> = Vec::new();
    for (position, mark) in marks.iter().enumerate() {
        let name = mark.get_ref();
        let problem = if name.is_empty() || name.contains('.') || name.starts_with('$') || name == "_id" {
            Some(format!("{name:?} is not a top-level field that can hold personal data"))
        } else if fields.contains(name) {
            Some(format!("{name} is marked twice"))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(located.invalid(mark.span(), format!("{path}.pii[{position}]"), problem));
        }
        fields.push(name.clone());
    }
    Ok(fields)
}

/// A collection's generator: its `generator`, else the one its name names;
/// each generator serves one collection.
fn collection_generator(
    located: &Located<'_>,
    path: &str,
    collection: &CollectionFile,
    earlier: &[CollectionProfile],
) -> Result<Generator, DatasetError> {
    let field = format!("{path}.generator");
    let (generator_name, generator_span) = match &collection.generator {
        Some(generator) => (generator.get_ref().clone(), generator.span()),
        None => (collection.name.get_ref().clone(), collection.name.span()),
    };
    let Some(generator) = Generator::from_name(&generator_name) else {
        let known: Vec<&str> = Generator::ALL.iter().map(|generator| generator.name()).collect();
        let closest = known
            .iter()
            .max_by(|left, right| {
                strsim::jaro_winkler(&generator_name, left).total_cmp(&strsim::jaro_winkler(&generator_name, right))
            })
            .copied()
            .unwrap_or_default();
        return Err(located.invalid(
            generator_span,
            field,
            format!(
                "no generator named {generator_name:?} (did you mean {closest:?}? known: {}); \
                 set `generator` when the collection's name is not a generator's",
                known.join(", ")
            ),
        ));
    };
    if let Some(earlier) = earlier.iter().find(|earlier| earlier.generator == generator) {
        return Err(located.invalid(
            generator_span,
            field,
            format!(
                "generator {} is already used by collection {}: other collections refer to it by generator",
                generator.name(),
                earlier.name
            ),
        ));
    }
    Ok(generator)
}

/// A collection's size: exactly one of a positive `share` or `count`.
fn collection_size(
    located: &Located<'_>,
    path: &str,
    collection: &CollectionFile,
) -> Result<CollectionSize, DatasetError> {
    let at = |field: &str| format!("{path}.{field}");
    let (span, field, message) = match (&collection.share, &collection.count) {
        (Some(share), None) if *share.get_ref() > 0 => return Ok(CollectionSize::Share(*share.get_ref())),
        (None, Some(count)) if *count.get_ref() > 0 => return Ok(CollectionSize::Count(*count.get_ref())),
        (Some(share), None) => (share.span(), "share", "share must be greater than 0"),
        (None, Some(count)) => (count.span(), "count", "count must be greater than 0"),
        (Some(share), Some(_)) => (share.span(), "share", "set either share or count, not both"),
        (None, None) => (
            collection.name.span(),
            "share",
            "set share (a weight of the total) or count (a fixed number)",
        ),
    };
    Err(located.invalid(span, at(field), message.into()))
}

/// One index of collection `collection`, `path` its key path, checked
/// against the indexes before it.
fn validate_index(
    located: &Located<'_>,
    path: &str,
    collection: &str,
    index: IndexFile,
    earlier: &[IndexSpec],
) -> Result<IndexSpec, DatasetError> {
    let at = |field: &str| format!("{path}.{field}");
    let index_name = index.name.get_ref().clone();
    if index_name.is_empty() || index_name == "_id_" {
        return Err(located.invalid(
            index.name.span(),
            at("name"),
            "index names must be non-empty and not _id_".into(),
        ));
    }
    if earlier.iter().any(|earlier| earlier.name == index_name) {
        return Err(located.invalid(
            index.name.span(),
            at("name"),
            format!("index {index_name} is listed twice on {collection}"),
        ));
    }
    let keys = index_keys(located, &at("keys"), &index.keys)?;
    let expire_after = match &index.expire_after_seconds {
        Some(seconds) if keys.len() != 1 => {
            return Err(located.invalid(
                seconds.span(),
                at("expire_after_seconds"),
                "a TTL index has exactly one key field".into(),
            ));
        }
        Some(seconds) => Some(Duration::from_secs(*seconds.get_ref())),
        None => None,
    };
    let partial_filter = match index.partial_filter {
        Some(filter) if filter.get_ref().is_empty() => {
            return Err(located.invalid(filter.span(), at("partial_filter"), "the filter is empty".into()));
        }
        Some(filter) => {
            let span = filter.span();
            Some(bson::serialize_to_document(filter.get_ref()).map_err(|error| {
                located.invalid(span, at("partial_filter"), format!("not a BSON document: {error}"))
            })?)
        }
        None => None,
    };
    Ok(IndexSpec {
        name: index_name,
        keys,
        unique: index.unique,
        sparse: index.sparse,
        expire_after,
        partial_filter,
    })
}

/// An index's `keys` (`-field` descending), at key path `field`: at least
/// one, each a valid field named once.
fn index_keys(
    located: &Located<'_>,
    field_path: &str,
    keys_file: &Spanned<Vec<String>>,
) -> Result<Vec<IndexKey>, DatasetError> {
    let invalid = |message: String| located.invalid(keys_file.span(), field_path.to_owned(), message);
    let mut keys: Vec<IndexKey> = Vec::new();
    for key in keys_file.get_ref() {
        let (field, descending) = match key.strip_prefix('-') {
            Some(field) => (field, true),
            None => (key.as_str(), false),
        };
        if field.is_empty() || field.starts_with('$') || field.contains('\0') {
            return Err(invalid(format!("invalid key field {key:?}")));
        }
        if keys.iter().any(|earlier| earlier.field == field) {
            return Err(invalid(format!("field {field} is listed twice")));
        }
        keys.push(IndexKey {
            field: field.to_string(),
            descending,
        });
    }
    if keys.is_empty() {
        return Err(invalid("an index needs at least one key".into()));
    }
    Ok(keys)
}

/// Why `name` cannot be a collection name, if it cannot.
fn collection_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("the collection name is empty".into())
    } else if name.contains('$') || name.contains('\0') || name.starts_with("system.") || name.starts_with('.') {
        Some(format!("{name:?} is not a valid collection name"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_shepherd_cms_has_the_collections_and_indexes() {
        let profile = Profile::builtin("shepherd-cms").unwrap();
        assert_eq!(profile.name(), "shepherd-cms");
        let names: Vec<&str> = profile.collections().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "configurations",
                "audit_log",
                "users",
                "feature_flags",
                "services",
                "environments"
            ]
        );
        let configurations = profile.collection("configurations").unwrap();
        let compound = &configurations.indexes[0];
        assert_eq!(compound.name, "service_env_key");
        assert!(compound.unique);
        assert_eq!(
            compound.keys_document(),
            bson::doc! { "service": 1, "environment": 1, "key": 1 }
        );
        assert_eq!(
            configurations.indexes[1].keys_document(),
            bson::doc! { "updated_at": -1 }
        );
        assert!(configurations.indexes[2].sparse);
        assert_eq!(
            configurations.indexes[3].partial_filter,
            Some(bson::doc! { "secret": true })
        );
        let audit = profile.collection("audit_log").unwrap();
        assert!(audit.indexes[0].expire_after.is_some());
        assert_eq!(audit.indexes[1].keys_document(), bson::doc! { "actor": 1, "at": -1 });
        assert_eq!(
            profile.collection("environments").unwrap().size,
            CollectionSize::Count(4)
        );
    }

    #[test]
    fn unknown_builtin_lists_the_known_ones() {
        let error = Profile::builtin("shepherd").unwrap_err();
        assert!(error.to_string().contains("shepherd-cms"), "{error}");
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let text = "name = \"x\"\n\n[[collections]]\nname = \"users\"\nshare = 1\n\n[[collections.indexes]]\nname = \"e\"\nkeys = [\"email\"]\nuniqe = true\n";
        let error = Profile::parse(text, "bad.toml").unwrap_err();
        let DatasetError::Parse { file, line, field, .. } = &error else {
            panic!("expected a parse error, got {error:?}");
        };
        assert_eq!(file, "bad.toml");
        assert_eq!(*line, 10, "{error}");
        assert!(field.starts_with("collections[0].indexes[0]"), "{field}");
        assert!(error.to_string().contains("uniqe"), "{error}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = "name = \"x\"\n[[collections]]\nname = \"users\"\nshare = \"many\"\n";
        let error = Profile::parse(text, "bad.toml").unwrap_err();
        let DatasetError::Parse { line, field, .. } = &error else {
            panic!("expected a parse error, got {error:?}");
        };
        assert_eq!(*line, 4, "{error}");
        assert_eq!(field, "collections[0].share");
    }

    #[test]
    fn semantic_errors_are_located() {
        let text = "name = \"x\"\n[[collections]]\nname = \"users\"\nshare = 1\n[[collections]]\nname = \"people\"\ncount = 3\n";
        let error = Profile::parse(text, "bad.toml").unwrap_err();
        let DatasetError::Invalid {
            line, field, message, ..
        } = &error
        else {
            panic!("expected a validation error, got {error:?}");
        };
        assert_eq!(*line, 6);
        assert_eq!(field, "collections[1].generator");
        assert!(message.contains("people"), "{message}");

        let both = "name = \"x\"\n[[collections]]\nname = \"users\"\nshare = 1\ncount = 2\n";
        let error = Profile::parse(both, "bad.toml").unwrap_err();
        assert!(error.to_string().contains("not both"), "{error}");

        let ttl = "name = \"x\"\n[[collections]]\nname = \"audit_log\"\nshare = 1\n[[collections.indexes]]\nname = \"t\"\nkeys = [\"a\", \"b\"]\nexpire_after_seconds = 5\n";
        let error = Profile::parse(ttl, "bad.toml").unwrap_err();
        assert!(error.to_string().contains("bad.toml:8:"), "{error}");
    }

    #[test]
    fn load_reads_a_file_and_names_missing_ones() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("p.toml");
        std::fs::write(&path, "name = \"tiny\"\n[[collections]]\nname = \"users\"\nshare = 1\n").unwrap();
        assert_eq!(Profile::load(&path).unwrap().name(), "tiny");
        let error = Profile::load(&folder.path().join("missing.toml")).unwrap_err();
        assert!(error.to_string().contains("missing.toml"), "{error}");
    }
}
