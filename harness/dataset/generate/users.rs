//! `users`: people with names in several locales and unique e-mail
//! addresses (PII, as a real system holds), roles, teams and API keys.

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use fake::Fake;
use fake::faker::address::raw::TimeZone;
use fake::locales::EN;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::configurations::uuid_bytes;
use super::document::Context;
use super::names::{TEAMS, draw_person};
use super::random::{bytes, date_after, date_before_epoch, object_id, pick};

/// Builds user `context.index`.
pub(super) fn build(context: &Context<'_>, rng: &mut ChaCha8Rng) -> Document {
    // First, so that other collections can draw the same person by index.
    let person = draw_person(rng, context.index);
    let created_at = date_before_epoch(rng, 1_500);
    let mut document = doc! {
        "_id": object_id(context.collection, context.index, created_at),
        "name": person.name,
        "email": person.email,
    };
    // Most people sign in through the identity provider; the rest have no
    // subject at all (what the sparse index is for).
    if rng.random_bool(0.7) {
        document.insert("sso_subject", format!("okta|{}", hex::encode(bytes(rng, 10))));
    }
    let team_count = rng.random_range(1..4usize);
    let teams: Vec<Bson> = (0..team_count)
        .map(|_| Bson::String(pick(rng, &TEAMS).to_string()))
        .collect();
    let key_count = rng.random_range(0..3usize);
    let api_keys: Vec<Bson> = (0..key_count)
        .map(|_| {
            let scope_count = rng.random_range(1..4usize);
            Bson::Document(doc! {
                "id": Binary { subtype: BinarySubtype::Uuid, bytes: uuid_bytes(rng) },
                "created_at": date_after(rng, created_at, 300),
                "scopes": (0..scope_count).map(|_| Bson::String(pick(rng, &["configs:read", "configs:write", "flags:write", "audit:read"]).to_string())).collect::<Vec<Bson>>(),
            })
        })
        .collect();
    document.insert(
        "role",
        pick(rng, &["viewer", "viewer", "editor", "editor", "approver", "admin"]),
    );
    document.insert("teams", teams);
    document.insert("locale", person.locale);
    document.insert("created_at", created_at);
    document.insert(
        "last_login_at",
        if rng.random_bool(0.85) {
            Bson::DateTime(date_after(rng, created_at, 400))
        } else {
            Bson::Null
        },
    );
    document.insert("mfa_enabled", rng.random_bool(0.8));
    document.insert(
        "preferences",
        doc! {
            "theme": pick(rng, &["light", "dark", "system"]),
            "timezone": TimeZone(EN).fake_with_rng::<String, _>(rng),
            "notifications": { "email": rng.random_bool(0.6), "slack": rng.random_bool(0.7) },
        },
    );
    document.insert("api_keys", api_keys);
    document
}
