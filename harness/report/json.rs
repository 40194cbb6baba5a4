//! `report.json` for one drill, the combined `report.json` of a run, and
//! the JSON Schemas that describe them (committed in `reports/` and checked
//! against the model here, so the two never drift apart unnoticed).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::ReportError;
use super::file::write_atomically;
use super::model::{DrillReport, RunReport};
use crate::uri::redact;

/// The file name of a drill's JSON report inside its folder.
pub const REPORT_JSON: &str = "report.json";

/// The JSON Schema of `report.json` (one drill), draft 2020-12.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(DrillReport).to_value()
}

/// The JSON Schema of the combined `report.json` of a run.
pub fn run_schema() -> serde_json::Value {
    schemars::schema_for!(RunReport).to_value()
}

/// Writes `dir/report.json` and returns its path.
pub fn write_report_json(dir: &Path, report: &DrillReport) -> Result<PathBuf, ReportError> {
    let path = dir.join(REPORT_JSON);
    write_atomically(&path, &to_redacted_json(&path, report)?)?;
    Ok(path)
}

/// Writes the combined report of a run (`--json`) at `path`.
pub fn write_run_json(path: &Path, report: &RunReport) -> Result<(), ReportError> {
    write_atomically(path, &to_redacted_json(path, report)?)
}

/// Pretty JSON with every string passed through [`redact`]: the runner
/// should already have redacted URIs, but a runbook's output or an error
/// message may still carry a password, and a report must never show one.
fn to_redacted_json<T: Serialize>(path: &Path, report: &T) -> Result<Vec<u8>, ReportError> {
    let json_error = |source| ReportError::Json {
        path: path.to_path_buf(),
        source,
    };
    let mut value = serde_json::to_value(report).map_err(json_error)?;
    redact_strings(&mut value);
    let mut bytes = serde_json::to_vec_pretty(&value).map_err(json_error)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn redact_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            let shown = redact(text);
            if shown != *text {
                *text = shown;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_strings),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(redact_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::SCHEMA_VERSION;
    use crate::report::sample::{PLANTED_PASSWORD, SampleKind, expected_failure_report, sample_report};

    const BLESS_HINT: &str = "regenerate with `DRDRILL_BLESS=1 cargo test --lib report::json` and commit the result";

    fn committed(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("reports").join(name)
    }

    /// Compares the committed schema file with the generated one, or
    /// rewrites the file when `DRDRILL_BLESS=1`.
    fn check_or_bless(name: &str, generated: serde_json::Value) {
        let path = committed(name);
        if std::env::var_os("DRDRILL_BLESS").is_some_and(|value| value == "1") {
            let mut text = serde_json::to_string_pretty(&generated).unwrap();
            text.push('\n');
            std::fs::write(&path, text).unwrap();
            return;
        }
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}; {BLESS_HINT}", path.display()));
        let on_disk: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not JSON: {error}; {BLESS_HINT}", path.display()));
        assert!(
            on_disk == generated,
            "{} differs from the schema generated from harness/report/model.rs; if the model change is \
             intended, bump SCHEMA_VERSION when a field's meaning changed or one was removed, then {BLESS_HINT}",
            path.display()
        );
    }

    fn committed_validator(name: &str) -> jsonschema::Validator {
        let text = std::fs::read_to_string(committed(name)).unwrap();
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the committed schema is a valid JSON Schema")
    }

    fn errors(validator: &jsonschema::Validator, instance: &serde_json::Value) -> Vec<String> {
        validator
            .iter_errors(instance)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect()
    }

    #[test]
    fn committed_drill_schema_matches_the_model() {
        check_or_bless("report.schema.json", schema());
    }

    #[test]
    fn committed_run_schema_matches_the_model() {
        check_or_bless("run-report.schema.json", run_schema());
    }

    #[test]
    fn every_sample_report_is_valid_against_the_committed_schema() {
        let validator = committed_validator("report.schema.json");
        let folder = tempfile::tempdir().unwrap();
        let mut reports: Vec<DrillReport> = SampleKind::ALL.iter().map(|kind| sample_report(*kind)).collect();
        reports.push(expected_failure_report());
        for report in reports {
            let path = write_report_json(folder.path(), &report).unwrap();
            let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(written["schema_version"], SCHEMA_VERSION);
            let problems = errors(&validator, &written);
            assert!(problems.is_empty(), "{}: {problems:#?}", report.scenario);
        }
    }

    #[test]
    fn the_schema_rejects_what_the_model_rejects() {
        let validator = committed_validator("report.schema.json");
        let mut value = serde_json::to_value(sample_report(SampleKind::Passed)).unwrap();
        value["verdict"]["kind"] = "maybe".into();
        assert!(
            !errors(&validator, &value).is_empty(),
            "an unknown verdict must be invalid"
        );
        let mut value = serde_json::to_value(sample_report(SampleKind::Passed)).unwrap();
        value.as_object_mut().unwrap().remove("schema_version");
        assert!(!errors(&validator, &value).is_empty(), "schema_version is required");
        let mut value = serde_json::to_value(sample_report(SampleKind::Passed)).unwrap();
        value["duration_ms"] = (-1).into();
        assert!(!errors(&validator, &value).is_empty(), "durations are unsigned");
    }

    #[test]
    fn run_report_is_valid_and_round_trips() {
        let run = RunReport {
            schema_version: SCHEMA_VERSION,
            drills: SampleKind::ALL.iter().map(|kind| sample_report(*kind)).collect(),
            exit_code: 1,
        };
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("ci").join("report.json");
        write_run_json(&path, &run).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let problems = errors(&committed_validator("run-report.schema.json"), &written);
        assert!(problems.is_empty(), "{problems:#?}");
        let read_back: RunReport = serde_json::from_value(written).unwrap();
        // The only difference after the round trip is the redacted password.
        assert_eq!(read_back.drills[0], run.drills[0]);
        assert_eq!(read_back.drills.len(), 4);
        assert_eq!(read_back.exit_code, 1);
    }

    #[test]
    fn credentials_never_reach_the_file() {
        let report = sample_report(SampleKind::Failed);
        assert!(serde_json::to_string(&report).unwrap().contains(PLANTED_PASSWORD));
        let folder = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string(write_report_json(folder.path(), &report).unwrap()).unwrap();
        assert!(!text.contains(PLANTED_PASSWORD), "{text}");
        assert!(text.contains("mongodb://admin:****@127.0.0.1:41017/admin"));
    }

    #[test]
    fn wall_clock_instants_carry_milliseconds() {
        let folder = tempfile::tempdir().unwrap();
        let path = write_report_json(folder.path(), &sample_report(SampleKind::Passed)).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(written["started"], "2026-11-25T13:20:00.125Z");
        assert_eq!(
            written["measurements"]["disaster_at"]["wall"],
            "2026-11-25T13:20:20.125Z"
        );
        assert_eq!(written["measurements"]["disaster_at"]["offset_ms"], 20_000);
    }
}
