//! `audit_log`: append-only records of who changed what, with timestamps that
//! increase with the index (a record every minute on average), as an
//! append-heavy collection is written.

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, DateTime, Document, doc};
use fake::Fake;
use fake::faker::internet::raw::{IPv4, UserAgent};
use fake::locales::EN;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::configurations::uuid_bytes;
use super::document::Context;
use super::names::{configuration_key, flag_name};
use super::random::{EPOCH_MILLIS, object_id, pick};

/// Milliseconds between consecutive records' slots; each record falls at a
/// random instant inside its own slot, so times strictly increase.
const SLOT_MILLIS: i64 = 60_000;

/// Builds audit record `context.index`.
pub(super) fn build(context: &Context<'_>, rng: &mut ChaCha8Rng) -> Document {
    let at =
        DateTime::from_millis(EPOCH_MILLIS + context.index as i64 * SLOT_MILLIS + rng.random_range(0..SLOT_MILLIS));
    let actor = if rng.random_bool(0.15) {
        format!("system:{}", context.any_service(rng))
    } else {
        context.user_email(rng)
    };
    let (action, target, diff) = match rng.random_range(0..5u8) {
        0 | 1 => {
            let service = context.any_service(rng);
            let environment = context.any_environment(rng);
            let key = configuration_key(rng.random_range(0..64));
            let before = rng.random_range(0..1000i32);
            (
                pick(rng, &["config.update", "config.create", "config.rollback"]),
                doc! { "collection": "configurations", "service": service, "environment": environment, "key": key },
                Bson::Document(
                    doc! { "before": { "value": before }, "after": { "value": before + rng.random_range(1..100i32) } },
                ),
            )
        }
        2 => {
            let flag = flag_name(rng.random_range(0..96));
            let environment = context.any_environment(rng);
            let enabled = rng.random_bool(0.5);
            (
                "flag.toggle",
                doc! { "collection": "feature_flags", "flag": flag, "environment": environment },
                Bson::Document(doc! { "before": { "enabled": !enabled }, "after": { "enabled": enabled } }),
            )
        }
        3 => (
            pick(rng, &["user.login", "user.logout", "user.mfa_challenge"]),
            doc! { "collection": "users", "email": context.user_email(rng) },
            Bson::Null,
        ),
        _ => {
            let service = context.any_service(rng);
            (
                pick(rng, &["service.deploy", "service.scale", "service.restart"]),
                doc! { "collection": "services", "id": service },
                Bson::Document(
                    doc! { "replicas": { "before": rng.random_range(1..10i32), "after": rng.random_range(1..10i32) } },
                ),
            )
        }
    };
    doc! {
        "_id": object_id(context.collection, context.index, at),
        "at": at,
        "actor": actor,
        "action": action,
        "target": target,
        "diff": diff,
        "request": {
            "id": Binary { subtype: BinarySubtype::Uuid, bytes: uuid_bytes(rng) },
            "ip": IPv4(EN).fake_with_rng::<String, _>(rng),
            "user_agent": UserAgent(EN).fake_with_rng::<String, _>(rng),
        },
        "outcome": if rng.random_bool(0.97) { "success" } else { "denied" },
    }
}
