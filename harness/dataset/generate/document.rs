//! From (plan, collection, index) to one document: the context generators
//! share, the dispatch to the generator of the collection, and what an
//! engine's limits leave out.

use bson::{Document, RawDocumentBuf};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::names::{environment_name, person, service_name};
use super::random::document_rng;
use super::{audit_log, configurations, environments, feature_flags, services, users};
use crate::dataset::plan::SeedPlan;
use crate::dataset::profile::Generator;
use crate::provider::server_info::Capabilities;

/// What a generator may know besides its own generator: the plan's seed and
/// the sizes of the collections its documents refer to.
pub(super) struct Context<'a> {
    /// The plan's seed.
    pub seed: u64,
    /// This document's collection.
    pub collection: &'a str,
    /// This document's index in its collection.
    pub index: u64,
    /// What the engine can store.
    pub capabilities: &'a Capabilities,
    /// Number of environments (1 when the profile has none: `dev` alone).
    pub environments: u64,
    /// Number of services (1 when the profile has none).
    pub services: u64,
    /// The users collection and its size, when the profile has one.
    pub users: Option<(&'a str, u64)>,
}

impl<'a> Context<'a> {
    fn new(plan: &'a SeedPlan, collection: &'a str, index: u64, capabilities: &'a Capabilities) -> Self {
        let users = plan
            .profile()
            .collections()
            .iter()
            .find(|candidate| candidate.generator == Generator::Users)
            .map(|users| (users.name.as_str(), plan.count(&users.name)));
        Context {
            seed: plan.seed(),
            collection,
            index,
            capabilities,
            environments: plan.count_of(Generator::Environments).unwrap_or(1).max(1),
            services: plan.count_of(Generator::Services).unwrap_or(1).max(1),
            users,
        }
    }

    /// The e-mail of a user drawn with `rng`, or a system actor when the
    /// profile has no users.
    pub fn user_email(&self, rng: &mut ChaCha8Rng) -> String {
        match self.users {
            Some((collection, count)) if count > 0 => person(self.seed, collection, rng.random_range(0..count)).email,
            _ => "system@shepherd.example".to_string(),
        }
    }

    /// The name of a service drawn with `rng`.
    pub fn any_service(&self, rng: &mut ChaCha8Rng) -> String {
        service_name(rng.random_range(0..self.services))
    }

    /// The name of an environment drawn with `rng`.
    pub fn any_environment(&self, rng: &mut ChaCha8Rng) -> String {
        environment_name(rng.random_range(0..self.environments))
    }
}

/// Deterministic document `index` of `collection`: the same plan, index and
/// capabilities give the same bytes on every machine.
///
/// # Panics
///
/// When `collection` is not in the plan's profile.
pub fn generate_document(plan: &SeedPlan, collection: &str, index: u64, capabilities: &Capabilities) -> RawDocumentBuf {
    let generator = plan
        .profile()
        .collection(collection)
        .unwrap_or_else(|| panic!("collection {collection} is not in profile {}", plan.profile().name()))
        .generator;
    let context = Context::new(plan, collection, index, capabilities);
    let mut rng = document_rng(plan.seed(), collection, index);
    let document: Document = match generator {
        Generator::Configurations => configurations::build(&context, &mut rng),
        Generator::AuditLog => audit_log::build(&context, &mut rng),
        Generator::Users => users::build(&context, &mut rng),
        Generator::FeatureFlags => feature_flags::build(&context, &mut rng),
        Generator::Services => services::build(&context, &mut rng),
        Generator::Environments => environments::build(&context, &mut rng),
    };
    // The only failure is a key holding a NUL byte, which no generator writes.
    RawDocumentBuf::try_from(&document).expect("generated field names hold no NUL byte")
}

/// All documents of one collection, lazily, in index order.
///
/// # Panics
///
/// When `collection` is not in the plan's profile (on the first item).
pub fn documents<'a>(
    plan: &'a SeedPlan,
    collection: &'a str,
    capabilities: &'a Capabilities,
) -> impl Iterator<Item = RawDocumentBuf> + 'a {
    (0..plan.count(collection)).map(move |index| generate_document(plan, collection, index, capabilities))
}

/// What the plan's documents leave out on an engine with these
/// capabilities, one sentence each, for the seed summary.
pub fn left_out(plan: &SeedPlan, capabilities: &Capabilities) -> Vec<String> {
    let mut notes = Vec::new();
    for collection in plan.profile().collections() {
        if collection.generator == Generator::Configurations {
            if !capabilities.decimal128 {
                notes.push(format!(
                    "decimal128 values in {} (not supported by engine)",
                    collection.name
                ));
            }
            if !capabilities.nested_arrays {
                notes.push(format!(
                    "nested arrays in {} (not supported by engine)",
                    collection.name
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use bson::raw::{RawBsonRef, RawDocument};
    use md5::{Digest, Md5};

    use super::*;
    use crate::dataset::profile::Profile;

    fn plan(total: u64, seed: u64) -> SeedPlan {
        SeedPlan::new(&Profile::builtin("shepherd-cms").unwrap(), total, seed).unwrap()
    }

    /// Whether `document` holds an array directly inside an array, a
    /// Decimal128, or neither, anywhere.
    #[derive(Default)]
    struct Found {
        nested_array: bool,
        decimal128: bool,
    }

    fn scan_document(document: &RawDocument, found: &mut Found) {
        for element in document {
            let (_, value) = element.unwrap();
            scan_value(value, false, found);
        }
    }

    fn scan_value(value: RawBsonRef<'_>, inside_array: bool, found: &mut Found) {
        match value {
            RawBsonRef::Decimal128(_) => found.decimal128 = true,
            RawBsonRef::Document(document) => scan_document(document, found),
            RawBsonRef::Array(array) => {
                found.nested_array |= inside_array;
                for item in array {
                    scan_value(item.unwrap(), true, found);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes() {
        let mongodb = Capabilities::mongodb();
        let (first, second) = (plan(20_000, 42), plan(20_000, 42));
        for (collection, _) in first.counts() {
            for index in [0, 1, 2, 3, 999] {
                assert_eq!(
                    generate_document(&first, collection, index, &mongodb).as_bytes(),
                    generate_document(&second, collection, index, &mongodb).as_bytes(),
                    "{collection}[{index}]"
                );
            }
        }
    }

    #[test]
    fn another_seed_gives_other_documents() {
        let caps = Capabilities::mongodb();
        let (one, other) = (plan(20_000, 42), plan(20_000, 43));
        for (collection, _) in one.counts() {
            assert_ne!(
                generate_document(&one, collection, 0, &caps).as_bytes(),
                generate_document(&other, collection, 0, &caps).as_bytes(),
                "{collection}"
            );
        }
    }

    /// Pins the output: a dependency upgrade (rand, rand_chacha, fake, bson)
    /// that changes the documents must fail here, not in a drill that
    /// compares against yesterday's checksums.
    #[test]
    fn pinned_digests() {
        let plan = plan(20_000, 42);
        let caps = Capabilities::mongodb();
        let first = generate_document(&plan, "configurations", 0, &caps);
        assert_eq!(
            hex::encode(Md5::digest(first.as_bytes())),
            "d5df6c58d8566b72a6233089bc7730d0"
        );
        let mut all = Md5::new();
        for (collection, _) in plan.counts() {
            for document in documents(&plan, collection, &caps).take(200) {
                all.update(document.as_bytes());
            }
        }
        assert_eq!(hex::encode(all.finalize()), "6d35d3db8d41cdf966992bac6631cf7a");
    }

    #[test]
    fn documents_yields_the_planned_count_in_index_order() {
        let plan = plan(100, 5);
        let caps = Capabilities::ferretdb(true);
        let users: Vec<RawDocumentBuf> = documents(&plan, "users", &caps).collect();
        assert_eq!(users.len() as u64, plan.count("users"));
        assert_eq!(users[3], generate_document(&plan, "users", 3, &caps));
    }

    #[test]
    fn unique_keys_hold_for_100_000_documents_and_ferretdb_limits_are_kept() {
        let plan = plan(100_000, 7);
        let caps = Capabilities::ferretdb(true);
        let string = |document: &RawDocument, field: &str| document.get_str(field).unwrap().to_string();
        for (collection, count) in plan.counts() {
            let mut ids = HashSet::new();
            let mut keys = HashSet::new();
            let mut found = Found::default();
            let (mut smallest, mut largest) = (usize::MAX, 0);
            for document in documents(&plan, collection, &caps) {
                scan_document(&document, &mut found);
                smallest = smallest.min(document.as_bytes().len());
                largest = largest.max(document.as_bytes().len());
                assert!(ids.insert(format!("{:?}", document.get("_id").unwrap().unwrap())));
                let key = match collection.as_str() {
                    "configurations" => format!(
                        "{}/{}/{}",
                        string(&document, "service"),
                        string(&document, "environment"),
                        string(&document, "key")
                    ),
                    "feature_flags" => format!("{}/{}", string(&document, "flag"), string(&document, "environment")),
                    "users" => string(&document, "email"),
                    "services" | "environments" => string(&document, "name"),
                    _ => continue,
                };
                assert!(keys.insert(key.clone()), "{collection}: duplicate key {key}");
            }
            assert_eq!(ids.len() as u64, *count, "{collection}");
            assert!(!found.nested_array, "{collection} holds a nested array");
            assert!(!found.decimal128, "{collection} holds a Decimal128");
            if collection == "configurations" {
                assert!(smallest < 400, "smallest configuration {smallest} bytes");
                assert!(largest > 16 * 1024, "largest configuration {largest} bytes");
                assert!(largest < 80 * 1024, "largest configuration {largest} bytes");
            }
        }
    }

    #[test]
    fn mongodb_documents_hold_decimals_and_nested_arrays() {
        let plan = plan(2_000, 7);
        let caps = Capabilities::mongodb();
        let mut found = Found::default();
        for document in documents(&plan, "configurations", &caps) {
            scan_document(&document, &mut found);
        }
        assert!(found.decimal128 && found.nested_array);
        assert!(left_out(&plan, &caps).is_empty());
        assert_eq!(
            left_out(&plan, &Capabilities::ferretdb(true)),
            [
                "decimal128 values in configurations (not supported by engine)",
                "nested arrays in configurations (not supported by engine)"
            ]
        );
    }

    #[test]
    fn ferretdb_documents_equal_mongodb_ones_without_the_unsupported_fields() {
        let plan = plan(2_000, 9);
        for index in 0..300 {
            let mut mongodb = bson::Document::try_from(
                generate_document(&plan, "configurations", index, &Capabilities::mongodb()).as_ref(),
            )
            .unwrap();
            mongodb.remove("unit_price");
            mongodb.remove("rollout_matrix");
            let ferretdb = bson::Document::try_from(
                generate_document(&plan, "configurations", index, &Capabilities::ferretdb(true)).as_ref(),
            )
            .unwrap();
            assert_eq!(mongodb, ferretdb, "configurations[{index}]");
        }
    }

    #[test]
    fn audit_times_increase() {
        let plan = plan(5_000, 3);
        let caps = Capabilities::ferretdb(true);
        let times: Vec<i64> = documents(&plan, "audit_log", &caps)
            .map(|document| document.get_datetime("at").unwrap().timestamp_millis())
            .collect();
        assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
