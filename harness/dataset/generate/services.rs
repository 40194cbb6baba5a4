//! `services`: the services whose configurations the system holds. Their
//! `_id` is their name (a string), which keeps `_id` types mixed across the
//! database.

use bson::{Bson, Document, doc};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::document::Context;
use super::names::{TEAMS, service_name};
use super::random::{date_before_epoch, pick};

/// Builds service `context.index`.
pub(super) fn build(context: &Context<'_>, rng: &mut ChaCha8Rng) -> Document {
    let name = service_name(context.index);
    let team = pick(rng, &TEAMS);
    let dependency_count = rng
        .random_range(0..5usize)
        .min(context.services.saturating_sub(1) as usize);
    let depends_on: Vec<Bson> = (0..dependency_count)
        .map(|_| {
            // Any other service: skip over this one.
            let other = rng.random_range(0..context.services - 1);
            let other = if other >= context.index { other + 1 } else { other };
            Bson::String(service_name(other))
        })
        .collect();
    doc! {
        "_id": name.clone(),
        "name": name.clone(),
        "tier": rng.random_range(1..4i32),
        "owner_team": team,
        "repository": format!("https://git.shepherd.example/{team}/{name}"),
        "language": pick(rng, &["rust", "go", "java", "kotlin", "python", "typescript"]),
        "depends_on": depends_on,
        "oncall": { "primary": context.user_email(rng), "secondary": context.user_email(rng) },
        "created_at": date_before_epoch(rng, 1_800),
        "tags": (0..rng.random_range(0..3usize)).map(|_| Bson::String(pick(rng, &["pci", "gdpr", "internal", "edge", "batch"]).to_string())).collect::<Vec<Bson>>(),
    }
}
