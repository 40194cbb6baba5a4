//! `drdrill retention`: the retention audit of a store folder or an
//! `s3://` store on the command line. Prints what the policy keeps, the violations, and the prune
//! plan; deletes the plan only with `--apply`. Exit 1 on a violation.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use drdrill::retention::{self, Audit, Expectations, Policy};
use drdrill::store::{Store, StoreAddress, StoreSpec};

use crate::cli::Outcome;

/// `drdrill retention`.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// The store folder holding the backups (its top level is audited), or
    /// an S3 store, `s3://bucket/prefix` (endpoint, region and keys from
    /// the environment).
    #[arg(long)]
    pub store: PathBuf,
    /// Keepers: `30d,12w,12m` is 30 daily, 12 weekly and 12 monthly backups.
    #[arg(long, default_value = "30d,12w,12m")]
    pub policy: String,
    /// How often a backup should arrive, e.g. `6h` (the runbook's crontab).
    #[arg(long, default_value = "1d", value_parser = drdrill::scenario::duration::parse_duration)]
    pub interval: Duration,
    /// An age rule that deletes backups older than this whatever else there
    /// is, e.g. `30d` for the runbook's `find -mtime +30 -delete`.
    #[arg(long = "age-rule", value_parser = drdrill::scenario::duration::parse_duration)]
    pub age_rule: Option<Duration>,
    /// Audit as of this instant (RFC 3339) instead of now.
    #[arg(long, value_parser = parse_instant)]
    pub now: Option<DateTime<Utc>>,
    /// Delete the prune plan (nothing else); without it nothing is deleted.
    #[arg(long)]
    pub apply: bool,
    /// Print JSON for machines instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|instant| instant.with_timezone(&Utc))
}

/// Audits the store; exit 0 when nothing is wrong, 1 on a violation, 2 on bad input.
pub async fn run(args: RetentionArgs) -> anyhow::Result<Outcome> {
    let policy = Policy::parse(&args.policy)?;
    let expectations = Expectations {
        interval: args.interval,
        age_rule: args.age_rule,
    };
    let now = args.now.unwrap_or_else(Utc::now);
    let (audit, deleted) = if let Some(store) = s3_store(&args)? {
        let listed = retention::list_store_backups(&store).await?;
        let audit = retention::audit(
            listed.backups.clone(),
            listed.ignored.clone(),
            policy,
            expectations,
            now,
        );
        let deleted = if args.apply {
            retention::apply_to_store(&store, &audit, &listed).await?
        } else {
            Vec::new()
        };
        (audit, deleted)
    } else {
        let (backups, ignored) = retention::list_backups(&args.store)?;
        let audit = retention::audit(backups, ignored, policy, expectations, now);
        let deleted = if args.apply {
            retention::apply(&args.store, &audit)?
        } else {
            Vec::new()
        };
        let deleted = deleted.iter().map(|path| path.display().to_string()).collect();
        (audit, deleted)
    };
    if args.json {
        let plan: Vec<&str> = audit.prune_plan().iter().map(|backup| backup.name.as_str()).collect();
        crate::cli::output::print_json(&serde_json::json!({
            "schema_version": 1,
            "store": args.store.display().to_string(),
            "audit": &audit,
            "prune_plan": plan,
            "applied": args.apply,
            "deleted": deleted,
        }))?;
    } else {
        print_text(&audit, args.apply, deleted.len());
    }
    Ok(if audit.violations.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The store `--store s3://bucket/prefix` names (endpoint, region and keys
/// from the environment); `None` for a folder.
fn s3_store(args: &RetentionArgs) -> anyhow::Result<Option<Store>> {
    let text = args.store.to_string_lossy();
    if !text.starts_with("s3://") {
        return Ok(None);
    }
    let address = StoreAddress::parse(&text)?;
    Ok(Some(Store::open(&StoreSpec::from_address(text.into_owned(), address))?))
}

fn print_text(audit: &Audit, applied: bool, deleted: usize) {
    println!(
        "{} backups; policy {} daily, {} weekly, {} monthly, as of {}",
        audit.backups.len(),
        audit.policy.daily,
        audit.policy.weekly,
        audit.policy.monthly,
        audit.now.format("%Y-%m-%d %H:%M UTC")
    );
    for entry in &audit.backups {
        let verdict = if entry.kept_as.is_empty() {
            "prune".to_string()
        } else {
            format!("keep ({})", entry.kept_as.join(", "))
        };
        println!(
            "  {}  {}  {verdict}",
            entry.backup.taken.format("%Y-%m-%d %H:%M"),
            entry.backup.name
        );
    }
    for name in &audit.ignored {
        println!("  not a backup, left alone: {name}");
    }
    if audit.violations.is_empty() {
        println!("no violations");
    } else {
        println!("{} violations:", audit.violations.len());
        for violation in &audit.violations {
            println!("  - {}: {}", violation.kind, violation.message);
        }
    }
    let plan = audit.prune_plan();
    match (plan.len(), applied) {
        (0, _) => println!("prune plan: nothing"),
        (count, false) => println!("prune plan: {count} backups (run again with --apply to delete them)"),
        (_, true) => println!("pruned: {deleted} backups deleted, exactly the plan"),
    }
}
