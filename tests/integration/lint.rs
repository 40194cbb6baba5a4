//! `drdrill lint` as a user runs it: the real binary on the runbook's
//! fixtures. No server is needed: the linter reads files only.

use crate::ctx::{self, text};

/// Runs `drdrill lint ARGS` from the project root; (exit code, stdout, stderr).
fn lint(args: &[&str]) -> (i32, String, String) {
    let output = ctx::drdrill()
        .current_dir(ctx::project_root())
        .arg("lint")
        .args(args)
        .output()
        .expect("drdrill runs");
    let (stdout, stderr) = text(&output);
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn the_runbooks_known_flaws_are_found_located_and_fail_the_lint() {
    let (code, stdout, stderr) = lint(&["fixtures/runbook/"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let expected = [
        // Flaw 1: no `set -e`, the dump's status unchecked, then "Backup completed".
        "fixtures/runbook/backup-mongo.sh:30:5: unchecked-dump:",
        "fixtures/runbook/backup-mongo.sh:35:5: unchecked-dump:",
        // Flaw 3: `find ... -mtime +30 -delete` whatever the new backup did.
        "fixtures/runbook/backup-mongo.sh:46:53: retention-by-age:",
        // Flaw 4: `mongorestore --dry-run` as the CronJob's verification.
        "fixtures/runbook/mongodb-backup-cronjob.yaml:33:31: unknown-flag: mongorestore has no option `--dry-run`",
        "fixtures/runbook/mongodb-backup-cronjob.yaml:33:31: hollow-verification:",
        // The CronJob's own dump is unchecked before "Backup verification successful".
        "fixtures/runbook/mongodb-backup-cronjob.yaml:22:15: unchecked-dump:",
    ];
    for line in expected {
        assert!(
            stdout.lines().any(|found| found.starts_with(line)),
            "no {line:?} in:\n{stdout}"
        );
    }
    assert!(stdout.contains("(hint: the option is `--dryRun`)"), "{stdout}");
    assert!(!stdout.contains("clean/"), "the clean script has a finding:\n{stdout}");
}

#[test]
fn a_clean_script_gives_no_finding_and_exit_zero() {
    let (code, stdout, stderr) = lint(&["fixtures/runbook/clean/backup-checked.sh"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "", "{stdout}");
}

#[test]
fn the_markdown_runbook_is_linted_at_its_own_lines() {
    let runbook = ctx::shared_dir().join("seed/backup-procedures.md");
    let (code, stdout, stderr) = lint(&["--json", runbook.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let findings = report["findings"].as_array().unwrap();
    let at = |rule: &str, line: u64| {
        findings
            .iter()
            .any(|finding| finding["rule"] == rule && finding["line"] == line)
    };
    // The Docker Compose script, the manual backup (both inside the container), the CronJob.
    assert!(at("unchecked-dump", 37), "{stdout}");
    assert!(at("container-filesystem", 40), "{stdout}");
    assert!(at("retention-by-age", 50), "{stdout}");
    assert!(at("container-filesystem", 70), "{stdout}");
    assert!(at("unknown-flag", 276), "{stdout}");
    assert_eq!(report["schema_version"], 1);
}

#[test]
fn an_unreadable_path_exits_two_with_one_clear_line() {
    let (code, stdout, stderr) = lint(&["fixtures/runbook/no-such-file.sh"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("cannot read fixtures/runbook/no-such-file.sh"),
        "{stderr}"
    );
}
