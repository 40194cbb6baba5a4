//! Realistic reports for tests and documentation: a drill that passed, one
//! that failed an objective and a collection check, one interrupted during
//! the restore, and one the engine cannot run. Hidden from the docs; public
//! so the integration tests can write and parse them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::model::{
    CheckKind, CheckRecord, DrillReport, ExecDetails, ExpectedFailure, HostBackupDetails, Instant, Measurements,
    Objectives, Phase, SCHEMA_VERSION, Status, StepRecord, Topology, Verdict, VerdictKind,
};

/// Which sample to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Backup, drop the database, restore, verify: every objective held.
    Passed,
    /// A stale backup: RPO 17m 3.2s against 15m, a collection short by one
    /// document, a hole in the ticks, and a runbook step whose output holds
    /// a password (which no report may show).
    Failed,
    /// Ctrl-C during the restore: the rest is skipped, the verdict inconclusive.
    Interrupted,
    /// A replica-set failover on FerretDB, which has no replica sets.
    Skipped,
}

impl SampleKind {
    /// All four, in a stable order.
    pub const ALL: [SampleKind; 4] = [
        SampleKind::Passed,
        SampleKind::Failed,
        SampleKind::Interrupted,
        SampleKind::Skipped,
    ];
}

/// The password planted in the failed sample's free text; tests assert it
/// never reaches a written file.
pub const PLANTED_PASSWORD: &str = "s3cret-Pa55";

/// Builds the sample report of `kind`.
pub fn sample_report(kind: SampleKind) -> DrillReport {
    match kind {
        SampleKind::Passed => passed(),
        SampleKind::Failed => failed(),
        SampleKind::Interrupted => interrupted(),
        SampleKind::Skipped => skipped(),
    }
}

fn drill_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 13, 20, 0).unwrap() + Duration::milliseconds(125)
}

fn at(offset_ms: u64) -> Instant {
    Instant {
        offset_ms,
        wall: drill_start() + Duration::milliseconds(offset_ms as i64),
    }
}

fn step(index: usize, kind: &str, name: &str, span: Option<(u64, u64)>, status: Status, message: &str) -> StepRecord {
    StepRecord {
        index,
        kind: kind.to_string(),
        name: name.to_string(),
        started: span.map(|(start, _)| at(start)),
        finished: span.map(|(_, end)| at(end)),
        duration_ms: span.map(|(start, end)| end - start),
        timeout_ms: 600_000,
        status,
        message: message.to_string(),
        details: None,
    }
}

/// One sample step: kind, name, span (ms from the drill start), status,
/// message; its index is its place in the list.
type StepRow = (&'static str, &'static str, Option<(u64, u64)>, Status, &'static str);

fn steps(rows: &[StepRow]) -> Vec<StepRecord> {
    rows.iter()
        .enumerate()
        .map(|(index, &(kind, name, span, status, message))| step(index, kind, name, span, status, message))
        .collect()
}

/// Seed, archive backup and drop: how the passed and the interrupted
/// drills begin.
const ARCHIVE_DRILL_OPENING: [StepRow; 3] = [
    (
        "seed",
        "seed (cmdb, small, seed 42)",
        Some((0, 6_200)),
        Status::Passed,
        "12000 documents in 3 collections",
    ),
    (
        "backup",
        "backup (builtin, archive, gzip)",
        Some((6_500, 9_800)),
        Status::Passed,
        "1.8 MB archive, 12000 documents",
    ),
    (
        "disaster",
        "disaster (drop database cmdb)",
        Some((20_000, 20_050)),
        Status::Passed,
        "dropped cmdb",
    ),
];

/// An objective check in milliseconds (`rto_service`, `rpo`).
fn objective_check(name: &str, status: Status, measured: Option<f64>, objective: f64, message: &str) -> CheckRecord {
    check(
        name,
        CheckKind::Objective,
        status,
        measured,
        Some(objective),
        Some("ms"),
        message,
    )
}

#[allow(clippy::too_many_arguments)]
fn check(
    name: &str,
    kind: CheckKind,
    status: Status,
    measured: Option<f64>,
    objective: Option<f64>,
    unit: Option<&str>,
    message: &str,
) -> CheckRecord {
    // The samples name their checks as the runner does, so what each
    // counts as follows from the name and kind.
    let counts_as = match (kind, name) {
        (CheckKind::Collection, _) => "verify",
        (_, "rto_service" | "rto_verified") => "rto",
        (_, other) => other,
    };
    CheckRecord {
        name: name.to_string(),
        counts_as: counts_as.to_string(),
        kind,
        status,
        measured,
        objective,
        unit: unit.map(str::to_string),
        message: message.to_string(),
    }
}

fn phase(name: &str, start_ms: u64, end_ms: u64) -> Phase {
    Phase {
        name: name.to_string(),
        start_ms,
        end_ms,
    }
}

fn base(scenario: &str, description: &str, duration_ms: u64, verdict: Verdict) -> DrillReport {
    DrillReport {
        schema_version: SCHEMA_VERSION,
        drill: crate::outcome::DrillOutcome {
            run_id: format!("20261125T132000Z-{scenario}-3f9a"),
            scenario: scenario.to_string(),
            scenario_file: format!("scenarios/{scenario}.toml"),
            description: description.to_string(),
            tags: vec!["backup".to_string(), "ferretdb".to_string()],
            harness_version: "0.1.0".to_string(),
            started: drill_start(),
            finished: drill_start() + Duration::milliseconds(duration_ms as i64),
            duration_ms,
            interrupted: false,
            verdict,
            topology: Topology {
                provider: "local".to_string(),
                engine: "ferretdb".to_string(),
                backend: Some("sqlite".to_string()),
                nodes: 1,
                server_version: Some("FerretDB v1.24.2 (MongoDB 7.0.42)".to_string()),
                uri: Some("mongodb://127.0.0.1:41017/".to_string()),
            },
            objectives: Objectives {
                rto_ms: Some(3_600_000),
                rpo_ms: Some(900_000),
                rto_applies_to: "service".to_string(),
                rto: Some("60m".to_string()),
                rpo: Some("15m".to_string()),
            },
            measurements: Measurements {
                probe_interval_ms: 250,
                tick_interval_ms: 100,
                write_concern: "majority".to_string(),
                read_concern: "majority".to_string(),
                ..Measurements::default()
            },
            steps: Vec::new(),
            checks: Vec::new(),
            phases: Vec::new(),
            findings: Vec::new(),
            forecast: None,
        },
    }
}

fn verdict(kind: VerdictKind, reasons: &[&str]) -> Verdict {
    let exit_code = match kind {
        VerdictKind::Passed => 0,
        VerdictKind::Failed => 1,
        VerdictKind::Inconclusive | VerdictKind::Skipped => 2,
    };
    Verdict {
        kind,
        reasons: reasons.iter().map(|reason| reason.to_string()).collect(),
        exit_code,
        expected_failure: None,
    }
}

fn collection_checks(status: Status) -> Vec<CheckRecord> {
    ["configurations", "hosts", "audit_log"]
        .iter()
        .map(|name| {
            check(
                &format!("collection {name}"),
                CheckKind::Collection,
                status,
                None,
                None,
                None,
                match status {
                    Status::Passed => "count, md5 and indexes match the reference",
                    _ => "not verified",
                },
            )
        })
        .collect()
}

fn passed() -> DrillReport {
    let mut report = base(
        "backup-restore-standalone",
        "Builtin archive backup, drop the database, restore, verify",
        40_000,
        verdict(VerdictKind::Passed, &[]),
    );
    report.steps = steps(
        &[
            ARCHIVE_DRILL_OPENING.as_slice(),
            &[
                (
                    "restore",
                    "restore (builtin, archive, gzip)",
                    Some((20_300, 31_000)),
                    Status::Passed,
                    "12000 documents restored",
                ),
                (
                    "verify",
                    "verify (count, md5, indexes)",
                    Some((31_300, 38_400)),
                    Status::Passed,
                    "3 collections match",
                ),
            ],
        ]
        .concat(),
    );
    report.steps[1].details = Some(
        HostBackupDetails {
            engine: "builtin".into(),
            engine_reason: "asked for in the scenario".into(),
            started_ms: 6_500,
            finished_ms: 9_800,
            command: None,
            backup: Some(json!({"format": "archive", "gzip": true, "bytes": 1_843_200})),
            manifest: None,
            reference: None,
            reference_collections: None,
            ..HostBackupDetails::default()
        }
        .into(),
    );
    report.measurements = Measurements {
        disaster_at: Some(at(20_000)),
        rto_service_ms: Some(11_250),
        rto_verified_ms: Some(18_400),
        rpo_ms: Some(10_300),
        ticks_acknowledged_before_disaster: 170,
        last_acked_before_disaster: Some(170),
        recovered_prefix: Some(67),
        lost_acknowledged_writes: 103,
        ..report.drill.measurements.clone()
    };
    report.checks = vec![
        objective_check(
            "rto_service",
            Status::Passed,
            Some(11_250.0),
            3_600_000.0,
            "rto_service 11.3 s within objective 60m (resolution 250 ms)",
        ),
        objective_check(
            "rpo",
            Status::Passed,
            Some(10_300.0),
            900_000.0,
            "rpo 10.3 s within objective 15m (resolution 100 ms)",
        ),
    ];
    report.checks.extend(collection_checks(Status::Passed));
    report.checks.push(check(
        "holes",
        CheckKind::Integrity,
        Status::Passed,
        Some(0.0),
        Some(0.0),
        Some("ticks"),
        "no holes",
    ));
    report.phases = vec![
        phase("seed", 0, 6_200),
        phase("backup", 6_500, 9_800),
        phase("outage", 20_000, 31_250),
        phase("restore", 20_300, 31_000),
        phase("verification", 31_300, 38_400),
    ];
    report.findings =
        vec!["FerretDB ignores `sparse` on index audit_log.by_host; the spec is compared as written".to_string()];
    report
}

/// The failed drill's steps: a command backup, a long wait, a wiped data
/// directory and a runbook restore that the verification catches short.
const NIGHTLY_RESTORE_STEPS: [StepRow; 6] = [
    (
        "seed",
        "seed (cmdb, small, seed 42)",
        Some((0, 6_000)),
        Status::Passed,
        "12000 documents in 3 collections",
    ),
    (
        "backup",
        "backup (command, archive)",
        Some((6_200, 47_100)),
        Status::Passed,
        "archive from the nightly job",
    ),
    (
        "wait",
        "wait (17m)",
        Some((47_200, 1_070_100)),
        Status::Passed,
        "waited 17m",
    ),
    (
        "disaster",
        "disaster (wipe data directory)",
        Some((1_070_200, 1_070_600)),
        Status::Passed,
        "data directory wiped",
    ),
    (
        "exec",
        "exec (runbook: restore.sh)",
        Some((1_070_700, 1_083_000)),
        Status::Passed,
        "exit status 0",
    ),
    (
        "verify",
        "verify (count, md5, indexes)",
        Some((1_083_100, 1_090_900)),
        Status::Failed,
        "1 of 3 collections differs",
    ),
];

/// The failed drill's checks: the RPO exceeded, one collection short by a
/// document, a hole in the ticks.
fn nightly_restore_checks() -> Vec<CheckRecord> {
    let mut checks = vec![
        objective_check(
            "rto_service",
            Status::Passed,
            Some(13_400.0),
            3_600_000.0,
            "rto_service 13.4 s within objective 60m (resolution 250 ms)",
        ),
        objective_check(
            "rpo",
            Status::Failed,
            Some(1_023_200.0),
            900_000.0,
            "rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)",
        ),
        check(
            "collection configurations",
            CheckKind::Collection,
            Status::Failed,
            Some(999.0),
            Some(1_000.0),
            Some("documents"),
            "999 documents, reference 1000; missing _id 6571c0ffee0000000000002a",
        ),
    ];
    // The other two collections matched.
    checks.extend(collection_checks(Status::Passed).into_iter().skip(1));
    checks.push(check(
        "holes",
        CheckKind::Integrity,
        Status::Failed,
        Some(1.0),
        Some(0.0),
        Some("ticks"),
        "tick 412 present while tick 411 is missing",
    ));
    checks
}

fn failed() -> DrillReport {
    let mut report = base(
        "restore-from-nightly",
        "Restore last night's archive & check the RPO <15m> objective",
        1_092_000,
        verdict(
            VerdictKind::Failed,
            &[
                "rpo 17m 3.2s exceeds objective 15m (resolution 100 ms)",
                "collection configurations: 999 documents, reference 1000",
                "1 hole in the recovered ticks (seq 412)",
            ],
        ),
    );
    report.steps = steps(&NIGHTLY_RESTORE_STEPS);
    report.steps[4].details = Some(
        ExecDetails {
            command: format!("./restore.sh --uri mongodb://admin:{PLANTED_PASSWORD}@127.0.0.1:41017/admin"),
            exit_code: Some(0),
            output: format!(
                "connecting to mongodb://admin:{PLANTED_PASSWORD}@127.0.0.1:41017/admin\n\
                 restored 11999 documents <done> & \"ok\"\n\
                 \u{1b}[32mcolour codes]]> and a CDATA end\u{1b}[0m\n"
            ),
            stderr: Some("warning: 1 document skipped (duplicate key)".into()),
        }
        .into(),
    );
    report.measurements = Measurements {
        disaster_at: Some(at(1_070_200)),
        rto_service_ms: Some(13_400),
        rto_verified_ms: None,
        rpo_ms: Some(1_023_200),
        ticks_acknowledged_before_disaster: 10_642,
        last_acked_before_disaster: Some(10_642),
        recovered_prefix: Some(410),
        lost_acknowledged_writes: 10_231,
        holes: vec![412],
        notes: vec!["no rto_verified: verification failed".to_string()],
        ..report.drill.measurements.clone()
    };
    report.checks = nightly_restore_checks();
    report.phases = vec![
        phase("seed", 0, 6_000),
        phase("backup", 6_200, 47_100),
        phase("outage", 1_070_200, 1_083_600),
        phase("restore", 1_070_700, 1_083_000),
        phase("verification", 1_083_100, 1_090_900),
    ];
    report.findings = vec![format!(
        "the runbook printed the connection string mongodb://admin:{PLANTED_PASSWORD}@127.0.0.1:41017/admin"
    )];
    report
}

fn interrupted() -> DrillReport {
    let mut report = base(
        "backup-restore-standalone",
        "Builtin archive backup, drop the database, restore, verify",
        24_700,
        verdict(
            VerdictKind::Inconclusive,
            &["interrupted by SIGINT during step 3 (restore)"],
        ),
    );
    report.interrupted = true;
    report.steps = steps(
        &[
            ARCHIVE_DRILL_OPENING.as_slice(),
            &[
                (
                    "restore",
                    "restore (builtin, archive, gzip)",
                    Some((20_300, 24_600)),
                    Status::Error,
                    "interrupted after 5100 of 12000 documents",
                ),
                (
                    "verify",
                    "verify (count, md5, indexes)",
                    None,
                    Status::Skipped,
                    "not run: the drill was interrupted",
                ),
            ],
        ]
        .concat(),
    );
    report.measurements = Measurements {
        disaster_at: Some(at(20_000)),
        ticks_acknowledged_before_disaster: 170,
        last_acked_before_disaster: Some(170),
        notes: vec!["no rto or rpo: interrupted before the service came back".to_string()],
        ..report.drill.measurements.clone()
    };
    report.checks = vec![
        objective_check(
            "rto_service",
            Status::Skipped,
            None,
            3_600_000.0,
            "not measured: interrupted",
        ),
        objective_check("rpo", Status::Skipped, None, 900_000.0, "not measured: interrupted"),
    ];
    report.checks.extend(collection_checks(Status::Skipped));
    report.phases = vec![
        phase("seed", 0, 6_200),
        phase("backup", 6_500, 9_800),
        phase("outage", 20_000, 24_700),
        phase("restore", 20_300, 24_600),
    ];
    report
}

fn skipped() -> DrillReport {
    let mut report = base(
        "replica-set-failover",
        "Kill the primary of a three-node replica set and measure the election",
        35,
        verdict(
            VerdictKind::Skipped,
            &["the engine ferretdb cannot run this scenario: it has no replica sets or elections"],
        ),
    );
    report.tags = vec!["failover".to_string()];
    report.topology.nodes = 3;
    report.objectives.rpo_ms = Some(0);
    report.objectives.rto_ms = Some(30_000);
    let not_run = "not run: engine not supported";
    report.steps = steps(&[
        ("seed", "seed (cmdb, small, seed 7)", None, Status::Skipped, not_run),
        ("disaster", "disaster (kill primary)", None, Status::Skipped, not_run),
        ("verify", "verify (count, md5)", None, Status::Skipped, not_run),
    ]);
    report.checks = vec![
        objective_check("rto_service", Status::Skipped, None, 30_000.0, "not measured"),
        objective_check("rpo", Status::Skipped, None, 0.0, "not measured"),
    ];
    report
}

/// A negative drill: the scenario expects the RPO objective to fail, and it
/// did, so the drill passes.
pub fn expected_failure_report() -> DrillReport {
    let mut report = failed();
    report.scenario = "stale-backup-must-fail".to_string();
    report
        .checks
        .retain(|check| check.name != "holes" && check.kind != CheckKind::Collection);
    report.steps[5].status = Status::Passed;
    report.steps[5].message = "3 collections match".to_string();
    report.measurements.holes.clear();
    report.verdict = Verdict {
        kind: VerdictKind::Passed,
        reasons: vec!["rpo failed as the scenario expects".to_string()],
        exit_code: 0,
        expected_failure: Some(ExpectedFailure {
            check: "rpo".to_string(),
            observed: true,
        }),
    };
    report
}

/// A selective drill whose disaster dropped `configurations` and `users`:
/// the failed sample, with its RPO measured in the two touched collections
/// (`configurations` the worst) instead of `_drill_ticks`.
pub fn touched_collections_report() -> DrillReport {
    let mut report = failed();
    report.scenario = "selective-two-collections".to_string();
    let figures = |collection: &str, rpo_ms: u64, lost: u64| crate::outcome::CollectionRpo {
        collection: collection.to_string(),
        rpo_ms: Some(rpo_ms),
        ticks_acknowledged_before_disaster: 10_300,
        recovered_prefix: Some(10_300 - lost),
        lost_acknowledged_writes: lost,
        ..crate::outcome::CollectionRpo::default()
    };
    report.measurements.rpo_collections = vec![
        figures("configurations", 1_023_200, 10_231),
        figures("users", 1_020_000, 10_199),
    ];
    report.measurements.rpo_worst_collection = Some("configurations".to_string());
    report
}
