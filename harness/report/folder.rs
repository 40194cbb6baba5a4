//! One drill's report folder: the four files every drill leaves behind,
//! whatever its verdict (an interrupted or skipped drill included).

use std::path::{Path, PathBuf};

use super::error::ReportError;
use super::json::write_report_json;
use super::junit::{JUNIT_XML, write_junit};
use super::model::DrillReport;
use super::summary::write_summary;
use super::timeline::write_timeline;

/// Writes `report.json`, `junit.xml`, `summary.md` and `timeline.svg` into
/// `dir` (created when missing) and returns their paths in that order.
///
/// `report.json` comes first: it is the record, and if a later file cannot
/// be written the error says which while the record is already on disk.
pub fn write_drill_reports(dir: &Path, report: &DrillReport) -> Result<Vec<PathBuf>, ReportError> {
    let json = write_report_json(dir, report)?;
    let junit = dir.join(JUNIT_XML);
    write_junit(&junit, std::slice::from_ref(report))?;
    let summary = write_summary(dir, report)?;
    let timeline = write_timeline(dir, report)?;
    Ok(vec![json, junit, summary, timeline])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{PLANTED_PASSWORD, SampleKind, sample_report};

    #[test]
    fn writes_the_four_files_for_every_kind_of_drill() {
        for kind in SampleKind::ALL {
            let folder = tempfile::tempdir().unwrap();
            let dir = folder.path().join("runs").join(format!("{kind:?}"));
            let paths = write_drill_reports(&dir, &sample_report(kind)).unwrap();
            let names: Vec<_> = paths
                .iter()
                .map(|path| path.file_name().unwrap().to_str().unwrap().to_string())
                .collect();
            assert_eq!(names, ["report.json", "junit.xml", "summary.md", "timeline.svg"]);
            for path in &paths {
                assert_eq!(path.parent().unwrap(), dir);
                let text = std::fs::read_to_string(path).unwrap();
                assert!(!text.is_empty(), "{} is empty", path.display());
                assert!(!text.contains(PLANTED_PASSWORD), "{} shows a password", path.display());
            }
        }
    }

    #[test]
    fn an_unwritable_folder_is_an_error_naming_it() {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("not-a-folder");
        std::fs::write(&file, b"").unwrap();
        let error = write_drill_reports(&file, &sample_report(SampleKind::Passed)).unwrap_err();
        assert!(error.to_string().contains("not-a-folder"), "{error}");
    }
}
