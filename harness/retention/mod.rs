//! The retention audit (`drdrill retention`): what a grandfather-father-son
//! policy (`30d,12w,12m`: 30 daily, 12 weekly and 12 monthly keepers) keeps
//! of the backups in a store folder, what it would prune, and what is wrong
//! with the store: backups that stopped arriving, gaps, missing weekly or
//! monthly keepers, and an age rule (the runbook's `find -mtime +30
//! -delete`) that deletes what the policy keeps and empties the store when
//! backups stop. It reads names and file times only; it deletes nothing
//! unless asked ([`apply`]), and then only the plan.
//!
//! It never does: open a backup, follow a symlink, or delete outside the
//! store's top level. An `s3://` store is audited the same way through
//! the store layer ([`list_store_backups`], [`apply_to_store`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Datelike, Days, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

mod stored;

pub use stored::{StoreBackups, apply_to_store, list_store_backups};

/// How many keepers of each kind a policy wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The newest backup of each of the last `daily` days.
    pub daily: u32,
    /// The newest backup of each of the last `weekly` ISO weeks.
    pub weekly: u32,
    /// The newest backup of each of the last `monthly` months.
    pub monthly: u32,
}

/// Why a policy, interval or folder was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The policy text is not `<N>d,<N>w,<N>m`.
    #[error("policy {text:?}: {reason} (write it as 30d,12w,12m: daily, weekly and monthly keepers)")]
    Policy {
        /// What was given.
        text: String,
        /// What is wrong.
        reason: String,
    },
    /// The store folder could not be listed.
    #[error("cannot list the store {path}")]
    List {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A planned deletion failed; what was deleted before it is listed.
    #[error("cannot delete {path} (deleted before it: {deleted})")]
    Delete {
        /// The entry.
        path: PathBuf,
        /// How many entries were deleted before.
        deleted: usize,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be listed.
    #[error("cannot list the store {store}")]
    Store {
        /// The store's address.
        store: String,
        /// The cause (boxed: the store's error is large).
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// A planned object could not be checked or deleted; how many were
    /// deleted before it is said.
    #[error("cannot delete {object} (deleted before it: {deleted})")]
    StoreDelete {
        /// The object.
        object: String,
        /// How many objects were deleted before.
        deleted: usize,
        /// The cause (boxed: the store's error is large).
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// A planned entry is no longer what the audit saw.
    #[error("{path} changed since the audit ({reason}); nothing more deleted")]
    Changed {
        /// The entry.
        path: PathBuf,
        /// What changed.
        reason: &'static str,
    },
}

/// The most keepers of one kind a policy may ask for (ten years of days).
const MAX_KEEPERS: u32 = 3_660;

impl Policy {
    /// Reads `30d,12w,12m` (any order; a kind left out keeps none).
    pub fn parse(text: &str) -> Result<Self, RetentionError> {
        let refuse = |reason: String| RetentionError::Policy {
            text: text.to_string(),
            reason,
        };
        let mut policy = Policy {
            daily: 0,
            weekly: 0,
            monthly: 0,
        };
        let mut seen = Vec::new();
        for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (count, unit) = part.split_at(part.len() - part.chars().last().map_or(0, char::len_utf8));
            let count: u32 = count
                .parse()
                .map_err(|_| refuse(format!("{part:?} is not a count followed by d, w or m")))?;
            if count > MAX_KEEPERS {
                return Err(refuse(format!("{part:?} keeps more than {MAX_KEEPERS}")));
            }
            if seen.contains(&unit) {
                return Err(refuse(format!("{unit} is given twice")));
            }
            seen.push(unit);
            match unit {
                "d" => policy.daily = count,
                "w" => policy.weekly = count,
                "m" => policy.monthly = count,
                _ => return Err(refuse(format!("{part:?}: the unit is d, w or m"))),
            }
        }
        if seen.is_empty() {
            return Err(refuse("no keepers".into()));
        }
        Ok(policy)
    }

    /// How far back the policy keeps anything, in days.
    pub fn reach_days(&self) -> u64 {
        u64::from(self.daily)
            .max(u64::from(self.weekly) * 7)
            .max(u64::from(self.monthly) * 31)
    }
}

/// One backup in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backup {
    /// Its name in the store folder.
    pub name: String,
    /// When it was taken: the timestamp in its name (`20261201_060000`,
    /// `20261201T060000Z`), else (a backup with a manifest beside it) its
    /// modification time.
    pub taken: DateTime<Utc>,
    /// Where the time came from: `name` or `mtime`.
    pub taken_from: &'static str,
    /// A folder (a directory dump) rather than a file.
    pub folder: bool,
}

/// What the policy does with one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classified {
    /// The backup.
    pub backup: Backup,
    /// Why it is kept (`daily 2026-12-01`, `weekly 2026-W48`, `monthly
    /// 2026-12`, `newest`); empty when the plan prunes it.
    pub kept_as: Vec<String>,
}

/// Something wrong with the store or the rules around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// `stale`, `gap`, `missing-daily`, `missing-weekly`, `missing-monthly`,
    /// `age-rule-deletes-keepers`, `age-rule-empties-store`, `empty`.
    pub kind: &'static str,
    /// One sentence a person acts on.
    pub message: String,
}

/// The audit of one store.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The policy applied.
    pub policy: Policy,
    /// The instant the audit counts from.
    pub now: DateTime<Utc>,
    /// Every backup, newest first, with what the policy keeps it as.
    pub backups: Vec<Classified>,
    /// What is wrong, most urgent first.
    pub violations: Vec<Violation>,
    /// Entries of the folder that are not backups (left alone).
    pub ignored: Vec<String>,
}

impl Audit {
    /// The backups the plan deletes, oldest first.
    pub fn prune_plan(&self) -> Vec<&Backup> {
        let mut plan: Vec<&Backup> = self
            .backups
            .iter()
            .filter(|entry| entry.kept_as.is_empty())
            .map(|entry| &entry.backup)
            .collect();
        plan.reverse();
        plan
    }
}

/// What the audit is told about the store's schedule.
#[derive(Debug, Clone, Copy)]
pub struct Expectations {
    /// How often a backup should arrive (`6h` in the runbook's crontab).
    pub interval: Duration,
    /// An age rule that deletes backups older than this, whatever else
    /// there is (the runbook's `find -mtime +30 -delete`), when there is one.
    pub age_rule: Option<Duration>,
}

/// Lists the backups of `store` (its top level: files and folders whose
/// name carries a timestamp, or that have a drdrill manifest beside them);
/// symlinks, manifests, hidden and other entries are not backups.
pub fn list_backups(store: &Path) -> Result<(Vec<Backup>, Vec<String>), RetentionError> {
    let listing = |source| RetentionError::List {
        path: store.to_path_buf(),
        source,
    };
    let mut backups = Vec::new();
    let mut ignored = Vec::new();
    for entry in std::fs::read_dir(store).map_err(listing)? {
        let entry = entry.map_err(listing)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(listing)?;
        if name.starts_with('.') || name.ends_with(".drdrill-manifest.json") || kind.is_symlink() {
            ignored.push(name);
            continue;
        }
        if !(kind.is_file() || kind.is_dir()) {
            ignored.push(name);
            continue;
        }
        // A backup says what it is: a timestamp in its name, or the
        // harness's manifest beside it. Anything else is left alone.
        let manifest = store.join(format!("{name}.drdrill-manifest.json"));
        let modified = || entry.metadata().and_then(|metadata| metadata.modified()).ok();
        let (taken, taken_from) = match (timestamp_in(&name), manifest.is_file()) {
            (Some(taken), _) => (taken, "name"),
            (None, true) => match modified() {
                Some(modified) => (DateTime::<Utc>::from(modified), "mtime"),
                None => {
                    ignored.push(name);
                    continue;
                }
            },
            (None, false) => {
                ignored.push(name);
                continue;
            }
        };
        backups.push(Backup {
            name,
            taken,
            taken_from,
            folder: kind.is_dir(),
        });
    }
    ignored.sort();
    Ok((backups, ignored))
}

/// The first `YYYYMMDD_HHMMSS` or `YYYYMMDDTHHMMSS` in `name`, as UTC.
pub fn timestamp_in(name: &str) -> Option<DateTime<Utc>> {
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(14)).find_map(|start| {
        let window = name.get(start..start + 15)?;
        let (date, rest) = window.split_at(8);
        let (separator, time) = rest.split_at(1);
        let digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
        if !(digits(date) && digits(time) && (separator == "_" || separator == "T")) {
            return None;
        }
        let parsed = NaiveDateTime::parse_from_str(&format!("{date}{time}"), "%Y%m%d%H%M%S").ok()?;
        Some(Utc.from_utc_datetime(&parsed))
    })
}

/// Audits `backups` against `policy` at `now`.
pub fn audit(
    mut backups: Vec<Backup>,
    ignored: Vec<String>,
    policy: Policy,
    expectations: Expectations,
    now: DateTime<Utc>,
) -> Audit {
    backups.sort_by(|a, b| b.taken.cmp(&a.taken).then_with(|| a.name.cmp(&b.name)));
    let mut classified: Vec<Classified> = backups
        .into_iter()
        .map(|backup| Classified {
            backup,
            kept_as: Vec::new(),
        })
        .collect();
    let mut violations = Vec::new();
    if let Some(newest) = classified.first_mut() {
        newest.kept_as.push("newest".into());
    } else {
        violations.push(Violation {
            kind: "empty",
            message: "the store holds no backup".into(),
        });
    }
    for slot in slots(&policy, now) {
        let oldest_seen = classified.last().map(|entry| entry.backup.taken);
        match classified
            .iter_mut()
            .find(|entry| entry.backup.taken <= now && slot.holds(entry.backup.taken))
        {
            Some(entry) => entry.kept_as.push(slot.label.clone()),
            // A slot before the first backup ever taken is not missing, nor
            // is the current one (a late backup shows as `stale`).
            None if oldest_seen.is_some_and(|oldest| slot.end > oldest) && slot.end <= now => {
                violations.push(Violation {
                    kind: slot.missing_kind,
                    message: format!("no backup in {} ({} keeper)", slot.label, slot.kind_word),
                })
            }
            None => {}
        }
    }
    let times: Vec<DateTime<Utc>> = classified.iter().map(|entry| entry.backup.taken).collect();
    violations.splice(0..0, schedule_violations(&times, expectations, &policy, now));
    Audit {
        policy,
        now,
        backups: classified,
        violations,
        ignored,
    }
}

/// Stale store, gaps, and what an age rule does: the violations about time.
fn schedule_violations(
    newest_first: &[DateTime<Utc>],
    expectations: Expectations,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<Violation> {
    let mut found = Vec::new();
    let interval = chrono::Duration::from_std(expectations.interval).unwrap_or(chrono::Duration::days(1));
    // A backup may be late by half an interval before it counts as missed.
    let late = interval + interval / 2;
    if let Some(newest) = newest_first.first() {
        let age = now - *newest;
        if age > late {
            found.push(Violation {
                kind: "stale",
                message: format!(
                    "backups stopped arriving: the newest was taken {} ago ({}), one is expected every {}",
                    days_and_hours(age),
                    newest.format("%Y-%m-%d %H:%M UTC"),
                    days_and_hours(interval)
                ),
            });
        }
        if let Some(rule) = expectations
            .age_rule
            .and_then(|rule| chrono::Duration::from_std(rule).ok())
        {
            let last_goes = *newest + rule;
            if age > late {
                found.insert(
                    0,
                    Violation {
                        kind: "age-rule-empties-store",
                        message: format!(
                            "the age rule (delete after {}) deletes the last backup from {} on, in {}, \
                             unless a new one arrives: suspend it until backups resume",
                            days_and_hours(rule),
                            last_goes.format("%Y-%m-%d %H:%M UTC"),
                            days_and_hours((last_goes - now).max(chrono::Duration::zero()))
                        ),
                    },
                );
            }
            let reach = policy.reach_days();
            if (reach as i64) > rule.num_days() {
                found.push(Violation {
                    kind: "age-rule-deletes-keepers",
                    message: format!(
                        "the age rule (delete after {}) removes keepers the policy holds for {reach} days \
                         ({} daily, {} weekly, {} monthly): the weekly and monthly backups cannot exist",
                        days_and_hours(rule),
                        policy.daily,
                        policy.weekly,
                        policy.monthly
                    ),
                });
            }
        }
    }
    let window_start = now - chrono::Duration::days(i64::from(policy.daily.max(1)));
    for pair in newest_first.windows(2) {
        let (newer, older) = (pair[0], pair[1]);
        if newer >= window_start && newer - older > late {
            found.push(Violation {
                kind: "gap",
                message: format!(
                    "no backup for {} between {} and {} (one is expected every {})",
                    days_and_hours(newer - older),
                    older.format("%Y-%m-%d %H:%M"),
                    newer.format("%Y-%m-%d %H:%M UTC"),
                    days_and_hours(interval)
                ),
            });
        }
    }
    found
}

/// `3d 4h`, `6h`, `45m`.
fn days_and_hours(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1_440, minutes / 60 % 24, minutes % 60);
    match (days, hours, minutes) {
        (0, 0, minutes) => format!("{minutes}m"),
        (0, hours, 0) => format!("{hours}h"),
        (0, hours, minutes) => format!("{hours}h {minutes}m"),
        (days, 0, _) => format!("{days}d"),
        (days, hours, _) => format!("{days}d {hours}h"),
    }
}

/// One keeper slot: a day, an ISO week or a month, `[start, end)`.
struct Slot {
    label: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    kind_word: &'static str,
    missing_kind: &'static str,
}

impl Slot {
    fn holds(&self, taken: DateTime<Utc>) -> bool {
        self.start <= taken && taken < self.end
    }
}

/// Every slot the policy keeps a backup for, counted back from `now`.
fn slots(policy: &Policy, now: DateTime<Utc>) -> Vec<Slot> {
    let today = now.date_naive();
    let midnight = |date: chrono::NaiveDate| Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
    let mut slots = Vec::new();
    for back in 0..policy.daily {
        let Some(day) = today.checked_sub_days(Days::new(u64::from(back))) else {
            break;
        };
        slots.push(Slot {
            label: format!("daily {day}"),
            start: midnight(day),
            end: midnight(day + Days::new(1)),
            kind_word: "daily",
            missing_kind: "missing-daily",
        });
    }
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    for back in 0..policy.weekly {
        let Some(start) = monday.checked_sub_days(Days::new(7 * u64::from(back))) else {
            break;
        };
        let week = start.iso_week();
        slots.push(Slot {
            label: format!("weekly {}-W{:02}", week.year(), week.week()),
            start: midnight(start),
            end: midnight(start + Days::new(7)),
            kind_word: "weekly",
            missing_kind: "missing-weekly",
        });
    }
    let first_of_month = today.with_day(1).expect("day 1");
    for back in 0..policy.monthly {
        let Some(start) = first_of_month.checked_sub_months(chrono::Months::new(back)) else {
            break;
        };
        let end = start + chrono::Months::new(1);
        slots.push(Slot {
            label: format!("monthly {}", start.format("%Y-%m")),
            start: midnight(start),
            end: midnight(end),
            kind_word: "monthly",
            missing_kind: "missing-monthly",
        });
    }
    slots
}

/// Deletes exactly the audit's prune plan from `store`, re-checking each
/// entry first (still there, same kind, not a symlink); returns what was
/// deleted. Stops at the first entry that changed.
pub fn apply(store: &Path, audit: &Audit) -> Result<Vec<PathBuf>, RetentionError> {
    let mut deleted = Vec::new();
    for backup in audit.prune_plan() {
        let path = store.join(&backup.name);
        let metadata = std::fs::symlink_metadata(&path).map_err(|_| RetentionError::Changed {
            path: path.clone(),
            reason: "it is gone",
        })?;
        if metadata.file_type().is_symlink() || metadata.is_dir() != backup.folder {
            return Err(RetentionError::Changed {
                path,
                reason: "its type changed",
            });
        }
        let removed = if backup.folder {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| RetentionError::Delete {
            path: path.clone(),
            deleted: deleted.len(),
            source,
        })?;
        deleted.push(path);
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn backup(taken: DateTime<Utc>) -> Backup {
        Backup {
            name: format!("shepherd_backup_{}.tar.gz", taken.format("%Y%m%d_%H%M%S")),
            taken,
            taken_from: "name",
            folder: false,
        }
    }

    fn expect(interval_hours: u64, rule_days: Option<u64>) -> Expectations {
        Expectations {
            interval: Duration::from_secs(interval_hours * 3_600),
            age_rule: rule_days.map(|days| Duration::from_secs(days * 86_400)),
        }
    }

    #[test]
    fn policies_read_as_written_and_refuse_the_rest() {
        let policy = Policy::parse("30d,12w,12m").unwrap();
        assert_eq!((policy.daily, policy.weekly, policy.monthly), (30, 12, 12));
        assert_eq!(policy.reach_days(), 372);
        assert_eq!(Policy::parse("7d").unwrap().weekly, 0);
        for bad in ["", "30x", "d", "30d,40d", "99999d"] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_come_from_the_runbook_names() {
        assert_eq!(
            timestamp_in("shepherd_backup_20261201_060000.tar.gz"),
            Some(at("2026-12-01T06:00:00Z"))
        );
        assert_eq!(timestamp_in("run-20261201T060000Z"), Some(at("2026-12-01T06:00:00Z")));
        assert_eq!(timestamp_in("shepherd_backup_20261399_060000"), None);
        assert_eq!(timestamp_in("notes.txt"), None);
    }

    #[test]
    fn six_hourly_backups_keep_one_a_day_and_prune_the_rest() {
        let now = at("2026-12-01T20:00:00Z");
        let backups: Vec<Backup> = (0..12)
            .map(|index| backup(at("2026-12-01T18:00:00Z") - chrono::Duration::hours(6 * index)))
            .collect();
        let audit = audit(
            backups,
            Vec::new(),
            Policy::parse("3d,1w,1m").unwrap(),
            expect(6, None),
            now,
        );
        assert!(audit.violations.is_empty(), "{:?}", audit.violations);
        let kept: Vec<_> = audit.backups.iter().filter(|entry| !entry.kept_as.is_empty()).collect();
        // The newest of each of the three days (the weekly and monthly are among them).
        assert_eq!(kept.len(), 3, "{kept:#?}");
        assert!(kept[0].kept_as.contains(&"newest".to_string()));
        assert_eq!(audit.prune_plan().len(), 9);
    }

    #[test]
    fn stopped_backups_and_the_age_rule_are_flagged_before_the_store_empties() {
        let now = at("2026-12-01T12:00:00Z");
        // Daily backups for 40 days, the last one 10 days ago.
        let backups: Vec<Backup> = (10..50)
            .map(|days| backup(at("2026-12-01T02:00:00Z") - chrono::Duration::days(days)))
            .collect();
        let audit = audit(
            backups,
            Vec::new(),
            Policy::parse("30d,12w,12m").unwrap(),
            expect(24, Some(30)),
            now,
        );
        let kinds: Vec<_> = audit.violations.iter().map(|violation| violation.kind).collect();
        assert_eq!(kinds[0], "age-rule-empties-store", "{kinds:?}");
        assert!(
            kinds.contains(&"stale") && kinds.contains(&"age-rule-deletes-keepers"),
            "{kinds:?}"
        );
        assert!(kinds.contains(&"missing-daily"), "{kinds:?}");
        assert!(
            audit.violations[0]
                .message
                .contains("deletes the last backup from 2026-12-21 02:00 UTC on, in 19d 14h"),
            "{}",
            audit.violations[0].message
        );
    }

    #[test]
    fn an_empty_store_is_a_violation() {
        let audit = audit(
            Vec::new(),
            Vec::new(),
            Policy::parse("7d").unwrap(),
            expect(24, None),
            Utc::now(),
        );
        assert_eq!(audit.violations[0].kind, "empty");
    }
}
