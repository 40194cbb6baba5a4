//! `environments`: a small fixed set (dev, staging, prod, dr ...) with string
//! `_id`s, approvers and deployment settings.

use bson::{Bson, Document, doc};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::document::Context;
use super::names::environment_name;
use super::random::{date_before_epoch, pick};

/// Builds environment `context.index`.
pub(super) fn build(context: &Context<'_>, rng: &mut ChaCha8Rng) -> Document {
    let name = environment_name(context.index);
    let (tier, protected) = match name.as_str() {
        "dev" => ("development", false),
        "staging" => ("pre-production", false),
        "prod" => ("production", true),
        "dr" => ("disaster-recovery", true),
        _ => ("ephemeral", false),
    };
    let approver_count = if protected {
        rng.random_range(2..5usize)
    } else {
        rng.random_range(0..2usize)
    };
    let approvers: Vec<Bson> = (0..approver_count)
        .map(|_| Bson::Document(doc! { "email": context.user_email(rng), "required": rng.random_bool(0.5) }))
        .collect();
    doc! {
        "_id": name.clone(),
        "name": name,
        "tier": tier,
        "region": pick(rng, &["eu-west-1", "eu-central-1", "us-east-1", "us-west-2"]),
        "protected": protected,
        "approvers": approvers,
        "settings": {
            "replicas": rng.random_range(1..7i32),
            "autoscale": rng.random_bool(0.5),
            "maintenance_window": format!("{} {:02}:00-{:02}:00", pick(rng, &["Sat", "Sun"]), rng.random_range(0..6u32), rng.random_range(6..9u32)),
        },
        "created_at": date_before_epoch(rng, 2_000),
    }
}
