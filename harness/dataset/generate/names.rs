//! Names that documents of one collection use to refer to documents of
//! another (services, environments, configuration keys, flags, people).
//! Each is a function of an index alone, one-to-one, so that unique indexes
//! hold for any number of documents.

use fake::Fake;
use fake::faker::name::raw::{FirstName, LastName};
use fake::locales::{DE_DE, EN, FR_FR, JA_JP, PT_BR};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::random::document_rng;

/// The first environments; further ones are `env-5`, `env-6` ...
const ENVIRONMENTS: [&str; 4] = ["dev", "staging", "prod", "dr"];

const SERVICE_STEMS: [&str; 20] = [
    "billing",
    "checkout",
    "inventory",
    "payments",
    "search",
    "catalog",
    "identity",
    "notifications",
    "gateway",
    "ledger",
    "pricing",
    "shipping",
    "analytics",
    "reporting",
    "scheduler",
    "auth",
    "profile",
    "media",
    "recommendations",
    "orders",
];

const SERVICE_KINDS: [&str; 5] = ["api", "worker", "service", "sync", "web"];

const CONFIGURATION_KEYS: [&str; 32] = [
    "database.url",
    "database.pool.max_size",
    "database.pool.min_size",
    "database.timeout_ms",
    "cache.ttl_seconds",
    "cache.redis.host",
    "cache.enabled",
    "http.port",
    "http.read_timeout",
    "http.cors.allowed_origins",
    "log.level",
    "log.format",
    "metrics.enabled",
    "metrics.push_gateway",
    "tracing.sample_ratio",
    "queue.consumer.concurrency",
    "queue.retry.max_attempts",
    "queue.retry.backoff",
    "tls.certificate_bundle",
    "tls.min_version",
    "auth.jwt.issuer",
    "auth.jwt.public_key",
    "auth.session.lifetime",
    "rate_limit.requests_per_minute",
    "rate_limit.burst",
    "storage.bucket",
    "storage.region",
    "mail.smtp.host",
    "mail.sender",
    "billing.currency",
    "billing.tax_rate",
    "deploy.replicas",
];

const FLAG_AREAS: [&str; 12] = [
    "checkout",
    "search",
    "billing",
    "onboarding",
    "dashboard",
    "api",
    "mobile",
    "reports",
    "sso",
    "export",
    "pricing",
    "audit",
];

const FLAG_CHANGES: [&str; 8] = [
    "new-flow",
    "beta",
    "dark-launch",
    "kill-switch",
    "v2-engine",
    "fast-path",
    "redesign",
    "rate-limit",
];

/// Teams that own services, flags and configurations.
pub const TEAMS: [&str; 8] = [
    "platform", "payments", "growth", "identity", "data", "mobile", "sre", "commerce",
];

/// Name of environment `index`.
pub fn environment_name(index: u64) -> String {
    match ENVIRONMENTS.get(index as usize) {
        Some(name) => (*name).to_string(),
        None => format!("env-{}", index + 1),
    }
}

/// Name of service `index`: `billing-api`, ..., `orders-web`, then
/// `billing-api-2` and so on.
pub fn service_name(index: u64) -> String {
    let stems = SERVICE_STEMS.len() as u64;
    let kinds = SERVICE_KINDS.len() as u64;
    let stem = SERVICE_STEMS[(index % stems) as usize];
    let kind = SERVICE_KINDS[((index / stems) % kinds) as usize];
    match index / (stems * kinds) {
        0 => format!("{stem}-{kind}"),
        generation => format!("{stem}-{kind}-{}", generation + 1),
    }
}

/// Configuration key `index`: the realistic keys, then numbered ones.
pub fn configuration_key(index: u64) -> String {
    let keys = CONFIGURATION_KEYS.len() as u64;
    let key = CONFIGURATION_KEYS[(index % keys) as usize];
    match index / keys {
        0 => key.to_string(),
        generation => format!("{key}_{}", generation + 1),
    }
}

/// Feature flag `index`: `checkout-new-flow` ..., then `-v2` and so on.
pub fn flag_name(index: u64) -> String {
    let areas = FLAG_AREAS.len() as u64;
    let changes = FLAG_CHANGES.len() as u64;
    let area = FLAG_AREAS[(index % areas) as usize];
    let change = FLAG_CHANGES[((index / areas) % changes) as usize];
    match index / (areas * changes) {
        0 => format!("{area}-{change}"),
        generation => format!("{area}-{change}-v{}", generation + 1),
    }
}

/// A person: the first thing a `users` document draws from its generator,
/// so that other collections can name user `index` by drawing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Full name, in the person's locale (not always ASCII).
    pub name: String,
    /// Unique e-mail address (the index is part of it).
    pub email: String,
    /// A locale tag: `en`, `fr`, `de`, `ja`, `pt-BR`.
    pub locale: &'static str,
}

/// Draws person `index` from the start of its generator.
pub fn draw_person(rng: &mut ChaCha8Rng, index: u64) -> Person {
    let (first, last, locale): (String, String, &'static str) = match rng.random_range(0..10u8) {
        0..=4 => (FirstName(EN).fake_with_rng(rng), LastName(EN).fake_with_rng(rng), "en"),
        5 => (
            FirstName(FR_FR).fake_with_rng(rng),
            LastName(FR_FR).fake_with_rng(rng),
            "fr",
        ),
        6 => (
            FirstName(DE_DE).fake_with_rng(rng),
            LastName(DE_DE).fake_with_rng(rng),
            "de",
        ),
        7 => (
            FirstName(PT_BR).fake_with_rng(rng),
            LastName(PT_BR).fake_with_rng(rng),
            "pt-BR",
        ),
        _ => (
            FirstName(JA_JP).fake_with_rng(rng),
            LastName(JA_JP).fake_with_rng(rng),
            "ja",
        ),
    };
    let name = if locale == "ja" {
        format!("{last} {first}")
    } else {
        format!("{first} {last}")
    };
    let local_part = |text: &str| -> String {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|character| character.to_ascii_lowercase())
            .collect()
    };
    let (first, last) = (local_part(&first), local_part(&last));
    let email = match (first.is_empty(), last.is_empty()) {
        (false, false) => format!("{first}.{last}.{index}@shepherd.example"),
        (false, true) => format!("{first}.{index}@shepherd.example"),
        (true, false) => format!("{last}.{index}@shepherd.example"),
        (true, true) => format!("user.{index}@shepherd.example"),
    };
    Person { name, email, locale }
}

/// Person `index` of the users collection `users_collection`, as that
/// collection's document holds it.
pub fn person(seed: u64, users_collection: &str, index: u64) -> Person {
    draw_person(&mut document_rng(seed, users_collection, index), index)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_one_to_one() {
        for name_of in [service_name, configuration_key, flag_name, environment_name] {
            let names: HashSet<String> = (0..20_000).map(name_of).collect();
            assert_eq!(names.len(), 20_000);
        }
        assert_eq!(service_name(0), "billing-api");
        assert_eq!(service_name(100), "billing-api-2");
        assert_eq!(environment_name(2), "prod");
    }

    #[test]
    fn a_person_is_drawn_again_identically() {
        let person_seven = person(1, "users", 7);
        assert_eq!(person_seven, person(1, "users", 7));
        assert!(
            person_seven.email.ends_with(".7@shepherd.example"),
            "{}",
            person_seven.email
        );
        assert!(person_seven.email.is_ascii());
    }
}
