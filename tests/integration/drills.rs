//! Whole drills: the shipped scenarios run against real FerretDB through
//! the `drdrill` binary, their reports, exit statuses and interruption.

use crate::ctx;

#[test]
fn every_shipped_scenario_is_valid() {
    let folder = ctx::project_root().join("scenarios");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "toml") {
            match drdrill::scenario::validate_file(&path) {
                Ok(scenario) => names.push(scenario.name),
                Err(errors) => panic!("{errors}"),
            }
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "ci-release-gate",
            "corrupted-backup-detected",
            "restore-to-fresh-node",
            "runbook-backup-script",
            "runbook-silent-failure",
            "selective-collection-restore",
            "stale-backup-violates-rpo",
            "weekly-dev-restore"
        ]
    );
}
