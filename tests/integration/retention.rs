//! `drdrill retention` on real folders (issue 13, item 4): the runbook's own
//! age rule (`find ... -mtime +30 -delete`, run by the real `find`) empties
//! a store whose backups stopped, and the audit says so on every day before
//! the last backup goes; `--apply` deletes exactly the plan.

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::ctx::{self, text};

const DAY: Duration = Duration::from_secs(86_400);

/// A backup file named as the runbook names them, dated `taken`.
fn runbook_backup(store: &Path, taken: DateTime<Utc>) -> std::path::PathBuf {
    let path = store.join(format!("shepherd_backup_{}.tar.gz", taken.format("%Y%m%d_%H%M%S")));
    std::fs::write(&path, b"not opened by the audit").unwrap();
    set_mtime(&path, taken.into());
    path
}

fn set_mtime(path: &Path, at: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

fn audit(store: &Path, now: DateTime<Utc>, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let output = ctx::drdrill()
        .args(["retention", "--store"])
        .arg(store)
        .args(["--now", &now.to_rfc3339(), "--json"])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}{stderr}"));
    (output.status.code(), json)
}

fn kinds(json: &serde_json::Value) -> Vec<String> {
    json["audit"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|violation| violation["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_runbook_age_rule_empties_a_stopped_store_and_the_audit_flags_it_first() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    let real_now = Utc::now();
    // Daily backups for 40 days; they stopped arriving 10 days ago.
    let taken: Vec<DateTime<Utc>> = (10..50).map(|days| real_now - chrono::Duration::days(days)).collect();
    let files: Vec<_> = taken.iter().map(|at| runbook_backup(store, *at)).collect();
    let mut flagged_days = 0;
    let mut emptied_on = None;
    for day in 0..=25u32 {
        // Day `day` from now: the audit is told the date; `find` reads the
        // real clock, so every file ages by `day` days instead.
        let now = real_now + chrono::Duration::days(i64::from(day));
        for (path, at) in files.iter().zip(&taken) {
            if path.exists() {
                set_mtime(path, SystemTime::from(*at) - DAY * day);
            }
        }
        let left = std::fs::read_dir(store).unwrap().count();
        if left == 0 {
            emptied_on = Some(day);
            break;
        }
        let (code, json) = audit(
            store,
            now,
            &["--policy", "30d,12w,12m", "--interval", "1d", "--age-rule", "30d"],
        );
        assert_eq!(code, Some(1), "day {day}: {json}");
        let found = kinds(&json);
        assert_eq!(found[0], "age-rule-empties-store", "day {day}: {found:?}");
        assert!(found.contains(&"stale".to_string()), "day {day}: {found:?}");
        assert!(found.contains(&"age-rule-deletes-keepers".to_string()), "{found:?}");
        flagged_days += 1;
        // The runbook's cleanup line, as written (paths aside).
        let status = std::process::Command::new("find")
            .arg(store)
            .args(["-name", "shepherd_backup_*.tar.gz", "-mtime", "+30", "-delete"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    // The newest backup was 10 days old; `-mtime +30` takes it once it is 31
    // whole days old, on day 21, and the audit had flagged the store on
    // every day up to and including that one (it runs before the rule).
    assert_eq!(
        emptied_on,
        Some(22),
        "the store did not empty as the runbook's rule says"
    );
    assert_eq!(flagged_days, 22);
}

#[test]
fn apply_deletes_exactly_the_plan() {
    let folder = tempfile::tempdir().unwrap();
    let store = folder.path();
    let now = DateTime::parse_from_rfc3339("2026-12-01T20:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    // Every 6 hours for 10 days, plus things that are not backups.
    for index in 0..40 {
        runbook_backup(store, now - chrono::Duration::hours(2 + 6 * index));
    }
    std::fs::write(store.join("README.txt"), "keep me").unwrap();
    std::fs::write(store.join(".lock"), "").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", store.join("latest.tar.gz")).unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(store)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let (code, json) = audit(store, now, &["--policy", "7d,4w,3m", "--interval", "6h"]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(listing(), before, "nothing is deleted without --apply");
    let plan: Vec<String> = serde_json::from_value(json["prune_plan"].clone()).unwrap();
    // 10 days of backups, 4 a day: the newest of each of the last 7 days,
    // plus the newest of the week before (weekly 2026-W47, 22 November).
    assert_eq!(plan.len(), 40 - 8, "{json}");
    assert!(
        !plan.contains(&"shepherd_backup_20261122_180000.tar.gz".to_string()),
        "{json}"
    );
    let ignored: Vec<String> = serde_json::from_value(json["audit"]["ignored"].clone()).unwrap();
    assert_eq!(ignored, [".lock", "README.txt", "latest.tar.gz"]);

    let (code, applied) = audit(store, now, &["--policy", "7d,4w,3m", "--interval", "6h", "--apply"]);
    assert_eq!(code, Some(0), "{applied}");
    let deleted: Vec<String> = serde_json::from_value(applied["deleted"].clone()).unwrap();
    assert_eq!(deleted.len(), plan.len());
    let expected: Vec<String> = before.into_iter().filter(|name| !plan.contains(name)).collect();
    assert_eq!(listing(), expected, "exactly the plan was deleted");
    assert!(
        std::fs::symlink_metadata(store.join("latest.tar.gz")).is_ok(),
        "the symlink stays"
    );
}
