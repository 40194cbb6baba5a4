//! `feature_flags`: one document per (flag, environment), with variants and
//! targeting rules (arrays of documents that hold arrays, which every engine
//! stores).

use bson::{Bson, Document, doc};
use fake::Fake;
use fake::faker::lorem::raw::Sentence;
use fake::locales::EN;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::document::Context;
use super::names::{environment_name, flag_name};
use super::random::{date_before_epoch, object_id, pick};

/// Builds flag document `context.index`.
pub(super) fn build(context: &Context<'_>, rng: &mut ChaCha8Rng) -> Document {
    // (flag, environment) is a one-to-one function of the index, so the
    // unique index `flag_environment` holds for any number of documents.
    let environment = environment_name(context.index % context.environments);
    let flag = flag_name(context.index / context.environments);
    let updated_at = date_before_epoch(rng, 365);
    let variant_count = rng.random_range(1..4usize);
    let variants: Vec<Bson> = (0..variant_count)
        .map(|position| {
            Bson::Document(doc! { "name": format!("variant-{}", (b'a' + position as u8) as char), "weight": rng.random_range(0..100i32) })
        })
        .collect();
    let rule_count = rng.random_range(0..3usize);
    let rules: Vec<Bson> = (0..rule_count)
        .map(|_| {
            let value_count = rng.random_range(1..4usize);
            Bson::Document(doc! {
                "attribute": pick(rng, &["country", "plan", "team", "app_version"]),
                "operator": pick(rng, &["in", "not_in", "semver_gte"]),
                "values": (0..value_count).map(|_| Bson::String(pick(rng, &["DE", "FR", "US", "enterprise", "free", "2.4.0"]).to_string())).collect::<Vec<Bson>>(),
            })
        })
        .collect();
    let rollout = if rng.random_bool(0.5) {
        Bson::Int32(rng.random_range(0..=100))
    } else {
        Bson::Double(f64::from(rng.random_range(0..=1000i32)) / 10.0)
    };
    doc! {
        "_id": object_id(context.collection, context.index, updated_at),
        "flag": flag,
        "environment": environment,
        "enabled": rng.random_bool(0.6),
        "rollout_percent": rollout,
        "description": Sentence(EN, 4..12).fake_with_rng::<String, _>(rng),
        "variants": variants,
        "rules": rules,
        "owner": context.user_email(rng),
        "updated_at": updated_at,
    }
}
