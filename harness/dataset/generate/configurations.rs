//! `configurations`: one document per (service, environment, key), holding a
//! versioned value whose BSON type varies, its history, and the metadata a
//! configuration-management system keeps. Sizes range from about 200 bytes
//! to a few kilobytes; about one in fifty carries a 16-64 KB bundle.

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, DateTime, Decimal128, Document, doc};
use fake::Fake;
use fake::faker::company::raw::CatchPhrase;
use fake::faker::lorem::raw::Sentence;
use fake::locales::EN;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::document::Context;
use super::names::{TEAMS, configuration_key, environment_name, service_name};
use super::random::{bytes, date_after, date_before_epoch, object_id, pick};

/// The BSON shapes a value takes, with their weights (out of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    String,
    Int32,
    Int64,
    Double,
    Boolean,
    Date,
    ObjectId,
    Binary,
    Uuid,
    Null,
    Document,
    ArrayOfDocuments,
    Text,
    Bundle,
}

const VALUE_KINDS: [(ValueKind, u32); 14] = [
    (ValueKind::String, 18),
    (ValueKind::Int32, 12),
    (ValueKind::Int64, 6),
    (ValueKind::Double, 8),
    (ValueKind::Boolean, 10),
    (ValueKind::Date, 5),
    (ValueKind::ObjectId, 4),
    (ValueKind::Binary, 3),
    (ValueKind::Uuid, 4),
    (ValueKind::Null, 3),
    (ValueKind::Document, 14),
    (ValueKind::ArrayOfDocuments, 8),
    (ValueKind::Text, 3),
    (ValueKind::Bundle, 2),
];

impl ValueKind {
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        let total: u32 = VALUE_KINDS.iter().map(|(_, weight)| weight).sum();
        let mut ticket = rng.random_range(0..total);
        for (kind, weight) in VALUE_KINDS {
            if ticket < weight {
                return kind;
            }
            ticket -= weight;
        }
        unreachable!("the ticket is below the total weight")
    }

    fn name(self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Int32 => "int",
            ValueKind::Int64 => "long",
            ValueKind::Double => "double",
            ValueKind::Boolean => "bool",
            ValueKind::Date => "date",
            ValueKind::ObjectId => "objectId",
            ValueKind::Binary => "binData",
            ValueKind::Uuid => "uuid",
            ValueKind::Null => "null",
            ValueKind::Document => "object",
            ValueKind::ArrayOfDocuments => "array",
            ValueKind::Text => "text",
            ValueKind::Bundle => "bundle",
        }
    }
}

/// Builds configuration `context.index`.
pub(super) fn build(context: &Context<'_>, rng: &mut ChaCha8Rng) -> Document {
    // (service, environment, key) is a one-to-one function of the index, so
    // the unique index `service_env_key` holds for any number of documents.
    let environment = context.index % context.environments;
    let service = (context.index / context.environments) % context.services;
    let key = context.index / (context.environments * context.services);

    let created_at = date_before_epoch(rng, 730);
    let updated_at = date_after(rng, created_at, 30);
    let secret = rng.random_bool(0.08);
    let kind = if secret {
        ValueKind::String
    } else {
        ValueKind::draw(rng)
    };
    let value = if secret {
        Bson::String(format!("enc:v1:{}", hex::encode(bytes(rng, 24))))
    } else {
        value(rng, kind, true)
    };
    let version: i32 = rng.random_range(1..12);

    let mut document = doc! {
        "_id": object_id(context.collection, context.index, created_at),
        "service": service_name(service),
        "environment": environment_name(environment),
        "key": configuration_key(key),
        "value_type": kind.name(),
        "value": value,
        "version": version,
        "secret": secret,
    };
    if rng.random_bool(0.06) {
        document.insert("deprecated_at", date_after(rng, updated_at, 60));
    }
    let tag_count = rng.random_range(0..4usize);
    let tags: Vec<Bson> = (0..tag_count)
        .map(|_| Bson::String(pick(rng, &["critical", "runtime", "build", "pii", "legacy", "tuning"]).to_string()))
        .collect();
    document.insert("tags", tags);
    document.insert(
        "owner",
        doc! { "team": pick(rng, &TEAMS), "contact": context.user_email(rng) },
    );
    document.insert("created_at", created_at);
    document.insert("updated_at", updated_at);
    document.insert("updated_by", context.user_email(rng));

    // Drawn whatever the engine, so that both engines see the same other
    // fields; stored only where the engine can hold them.
    let unit_price = rng.random_bool(0.1).then(|| {
        let cents: u32 = rng.random_range(1..1_000_000);
        format!("{}.{:02}", cents / 100, cents % 100)
    });
    if let Some(price) = unit_price
        && context.capabilities.decimal128
    {
        let decimal: Decimal128 = price.parse().expect("a plain decimal number parses");
        document.insert("unit_price", decimal);
    }
    let rollout = rng.random_bool(0.05).then(|| {
        let regions = rng.random_range(1..4usize);
        (0..regions)
            .map(|_| {
                Bson::Array(vec![
                    Bson::String(pick(rng, &["eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"]).to_string()),
                    Bson::Int32(rng.random_range(0..=100)),
                ])
            })
            .collect::<Vec<Bson>>()
    });
    if let Some(matrix) = rollout
        && context.capabilities.nested_arrays
    {
        document.insert("rollout_matrix", matrix);
    }

    // Prior versions, newest first, capped like a real system caps them.
    let kept = (version - 1).min(6);
    let mut history = Vec::with_capacity(kept as usize);
    let mut at = updated_at;
    for prior in (version - kept..version).rev() {
        at = DateTime::from_millis(at.timestamp_millis() - rng.random_range(60_000..30 * 86_400_000));
        history.push(Bson::Document(doc! {
            "version": prior,
            "value": value_for_history(rng, kind, secret),
            "updated_at": at,
            "updated_by": context.user_email(rng),
            "comment": CatchPhrase(EN).fake_with_rng::<String, _>(rng),
        }));
    }
    document.insert("history", history);
    document
}

fn value_for_history(rng: &mut ChaCha8Rng, kind: ValueKind, secret: bool) -> Bson {
    if secret {
        Bson::String(format!("enc:v1:{}", hex::encode(bytes(rng, 24))))
    } else {
        value(rng, kind, false)
    }
}

/// A value of `kind`; `large` allows the big shapes (history entries keep
/// bundles small, as systems store their digests rather than copies).
fn value(rng: &mut ChaCha8Rng, kind: ValueKind, large: bool) -> Bson {
    match kind {
        ValueKind::String => Bson::String(match rng.random_range(0..4u8) {
            0 => format!(
                "https://{}.shepherd.example:{}",
                pick(rng, &["db", "cache", "queue", "api"]),
                rng.random_range(1024..65535u32)
            ),
            1 => pick(
                rng,
                &["debug", "info", "warn", "error", "json", "text", "TLSv1.2", "TLSv1.3"],
            )
            .to_string(),
            2 => format!("{}s", rng.random_range(1..3600u32)),
            _ => Sentence(EN, 2..6).fake_with_rng(rng),
        }),
        ValueKind::Int32 => Bson::Int32(rng.random_range(-1_000..100_000)),
        ValueKind::Int64 => Bson::Int64(rng.random_range(1i64 << 33..1i64 << 62)),
        // Integers over a power of ten: no NaN, no -0.0, exact on every machine.
        ValueKind::Double => Bson::Double(f64::from(rng.random_range(-100_000..1_000_000i32)) / 1000.0),
        ValueKind::Boolean => Bson::Boolean(rng.random_bool(0.5)),
        ValueKind::Date => Bson::DateTime(date_before_epoch(rng, 365)),
        ValueKind::ObjectId => {
            let mut id = [0u8; 12];
            rng.fill(&mut id);
            Bson::ObjectId(bson::oid::ObjectId::from_bytes(id))
        }
        ValueKind::Binary => {
            let length = rng.random_range(16..512usize);
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: bytes(rng, length),
            })
        }
        ValueKind::Uuid => Bson::Binary(Binary {
            subtype: BinarySubtype::Uuid,
            bytes: uuid_bytes(rng),
        }),
        ValueKind::Null => Bson::Null,
        ValueKind::Document => Bson::Document(doc! {
            "host": format!("{}-{}.internal", pick(rng, &["pg", "mongo", "redis", "kafka"]), rng.random_range(1..20u32)),
            "port": rng.random_range(1024..65535i32),
            "pool": { "min": rng.random_range(0..4i32), "max": rng.random_range(4..128i32), "idle_timeout_ms": rng.random_range(1_000..600_000i64) },
            "tls": { "enabled": rng.random_bool(0.8), "verify": rng.random_bool(0.9) },
            "weight": f64::from(rng.random_range(0..1000i32)) / 10.0,
        }),
        ValueKind::ArrayOfDocuments => {
            let count = rng.random_range(1..8usize);
            Bson::Array(
                (0..count)
                    .map(|position| {
                        Bson::Document(doc! {
                            "name": format!("replica-{position}"),
                            "zone": pick(rng, &["a", "b", "c"]),
                            "weight": rng.random_range(1..100i32),
                            "labels": (0..rng.random_range(0..3usize)).map(|_| Bson::String(pick(rng, &["canary", "primary", "spot", "arm64"]).to_string())).collect::<Vec<Bson>>(),
                        })
                    })
                    .collect(),
            )
        }
        ValueKind::Text => {
            let sentences = if large {
                rng.random_range(10..60usize)
            } else {
                rng.random_range(1..4usize)
            };
            let text: Vec<String> = (0..sentences).map(|_| Sentence(EN, 6..14).fake_with_rng(rng)).collect();
            Bson::String(text.join(" "))
        }
        ValueKind::Bundle => {
            // A certificate bundle or rendered template: the rare large
            // document that makes batch sizes and size limits matter.
            let length = if large {
                rng.random_range(16 * 1024..64 * 1024usize)
            } else {
                rng.random_range(64..256usize)
            };
            Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: bytes(rng, length),
            })
        }
    }
}

/// A random (version 4) UUID's bytes.
pub(super) fn uuid_bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut uuid = bytes(rng, 16);
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}
