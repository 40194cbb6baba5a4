//! The history as one self-contained HTML page: per scenario, a chart of
//! RTO service, RTO verified, RPO and backup duration over its runs, one of
//! backup size, objectives as dashed lines and failed runs marked in red.
//! Hand-written SVG: no fonts, no scripts from elsewhere, viewable offline.
//! The one inline script only counts the drawn charts into
//! `body[data-charts-drawn]`, so a headless browser can check them.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::record::{DrillRecord, Figure};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;

/// The series of the time chart: figure, label, colour.
const TIME_SERIES: &[(Figure, &str, &str)] = &[
    (Figure::RtoService, "RTO service", "#1f77b4"),
    (Figure::RtoVerified, "RTO verified", "#2ca02c"),
    (Figure::Rpo, "RPO", "#9467bd"),
    (Figure::BackupDuration, "backup duration", "#ff7f0e"),
];

/// One line of a chart: its label, colour and one value per run (`None`
/// where the run has no figure).
struct Series<'a> {
    label: &'a str,
    colour: &'a str,
    values: Vec<Option<f64>>,
}

/// A dashed horizontal line.
struct Objective {
    label: &'static str,
    value: f64,
}

/// The page for `drills` (oldest first), generated at `now`.
pub fn page(drills: &[DrillRecord], now: DateTime<Utc>) -> String {
    let mut names: Vec<&str> = drills.iter().map(|drill| drill.scenario.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut body = String::new();
    for name in &names {
        let runs: Vec<&DrillRecord> = drills.iter().filter(|drill| drill.scenario == *name).collect();
        body.push_str(&scenario_section(name, &runs));
    }
    if names.is_empty() {
        body.push_str("<p>No drill recorded yet.</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>drdrill history</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Drill history</h1>\n<p class=\"note\">{} drills, generated {} UTC. \
         Red marks: runs that did not pass. Dashed lines: objectives.</p>\n{body}\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        drills.len(),
        now.format("%Y-%m-%d %H:%M:%S"),
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
    svg{background:#fafafa;border:1px solid #ddd;margin:0.5em 0;display:block}\
    .note{color:#666}text{font-size:11px;fill:#444}";

/// Counts charts whose lines have a length, for the browser test.
const SCRIPT: &str = "document.body.dataset.chartsDrawn=String(Array.from(\
    document.querySelectorAll('svg.chart')).filter(function(svg){\
    return Array.from(svg.querySelectorAll('polyline,circle')).some(function(shape){\
    var box=shape.getBBox();return box.width>0||box.height>0;});}).length);";

fn scenario_section(name: &str, runs: &[&DrillRecord]) -> String {
    let failed: Vec<bool> = runs.iter().map(|drill| !drill.passed()).collect();
    let seconds = |value: Option<u64>| value.map(|ms| ms as f64 / 1000.0);
    let times: Vec<Series> = TIME_SERIES
        .iter()
        .map(|(figure, label, colour)| Series {
            label,
            colour,
            values: runs.iter().map(|drill| seconds(drill.figure(*figure))).collect(),
        })
        .collect();
    let latest = runs.last().copied();
    let objectives: Vec<Objective> = [
        (
            "RTO objective",
            latest.and_then(|drill| seconds(drill.objective_rto_ms)),
        ),
        (
            "RPO objective",
            latest.and_then(|drill| seconds(drill.objective_rpo_ms)),
        ),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some(Objective { label, value: value? }))
    .collect();
    let sizes = [Series {
        label: "backup size",
        colour: "#8c564b",
        values: runs
            .iter()
            .map(|drill| drill.backup_bytes.map(|bytes| bytes as f64))
            .collect(),
    }];
    let labels: Vec<String> = runs
        .iter()
        .map(|drill| drill.started.format("%m-%d %H:%M").to_string())
        .collect();
    format!(
        "<h2>{}</h2>\n<p class=\"note\">{} runs, {} passed</p>\n{}{}",
        escape(name),
        runs.len(),
        failed.iter().filter(|failed| !**failed).count(),
        chart(&times, &objectives, &failed, &labels, "seconds"),
        chart(&sizes, &[], &failed, &labels, "bytes"),
    )
}

/// One SVG chart of `series` over the runs (x: run index).
fn chart(series: &[Series], objectives: &[Objective], failed: &[bool], labels: &[String], unit: &str) -> String {
    let count = failed.len().max(1);
    // Objectives far above the measured figures (a 60 min RTO for a 2 s
    // drill) would flatten every line: they are drawn only when in range.
    let measured_top = series
        .iter()
        .flat_map(|line| line.values.iter().flatten())
        .fold(0.0_f64, |top, value| top.max(*value));
    let shown: Vec<&Objective> = objectives
        .iter()
        .filter(|objective| objective.value <= measured_top * 3.0)
        .collect();
    let top = shown
        .iter()
        .fold(measured_top, |top, objective| top.max(objective.value));
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let x = |index: usize| LEFT + (WIDTH - LEFT - RIGHT) * (index as f64 + 0.5) / count as f64;
    let y = |value: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value / top);
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>",
        y(0.0),
        WIDTH - RIGHT,
        y(0.0)
    );
    let _ = writeln!(svg, "<text x=\"4\" y=\"{}\">{}</text>", TOP + 4.0, plain(top / 1.1));
    let _ = writeln!(svg, "<text x=\"4\" y=\"{}\">0 {unit}</text>", y(0.0));
    for (index, label) in labels.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(index),
            HEIGHT - 22.0,
            escape(label)
        );
        if failed[index] {
            let _ = writeln!(
                svg,
                "<rect class=\"failed\" x=\"{}\" y=\"{TOP}\" width=\"6\" height=\"{}\" fill=\"#d62728\" opacity=\"0.25\"><title>did not pass</title></rect>",
                x(index) - 3.0,
                HEIGHT - TOP - BOTTOM
            );
        }
    }
    for objective in shown {
        let _ = writeln!(
            svg,
            "<line class=\"objective\" x1=\"{LEFT}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4} {5}</text>",
            y(objective.value),
            WIDTH - RIGHT,
            WIDTH - RIGHT,
            y(objective.value) - 3.0,
            objective.label,
            plain(objective.value)
        );
    }
    for (position, line) in series.iter().enumerate() {
        svg.push_str(&polyline(line, failed, &x, &y));
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"{}\" style=\"fill:{}\">{}</text>",
            LEFT + 130.0 * position as f64,
            HEIGHT - 6.0,
            line.colour,
            line.colour,
            line.label
        );
    }
    if measured_top == 0.0 {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\">no figures recorded</text>",
            WIDTH / 2.0 - 50.0,
            HEIGHT / 2.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn polyline(line: &Series, failed: &[bool], x: &dyn Fn(usize) -> f64, y: &dyn Fn(f64) -> f64) -> String {
    let points: Vec<String> = line
        .values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| Some(format!("{:.1},{:.1}", x(index), y((*value)?))))
        .collect();
    let mut out = format!(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
        line.colour,
        points.join(" ")
    );
    for (index, value) in line.values.iter().enumerate() {
        if let Some(value) = value {
            let (colour, radius) = if failed[index] {
                ("#d62728", 5)
            } else {
                (line.colour, 3)
            };
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius}\" fill=\"{colour}\"><title>{}: {}</title></circle>",
                x(index),
                y(*value),
                line.label,
                plain(*value)
            );
        }
    }
    out
}

/// A number without needless decimals.
fn plain(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Text made safe inside HTML and SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record::RecordedVerdict;
    use crate::report::sample::{SampleKind, sample_report};

    #[test]
    fn the_page_has_two_charts_per_scenario_and_marks_failed_runs() {
        let mut first = DrillRecord::from_report(&sample_report(SampleKind::Passed), std::path::Path::new("r"), None);
        first.scenario = "a<b".into();
        let mut second = first.clone();
        second.verdict = RecordedVerdict::Failed;
        let page = page(&[first, second], Utc::now());
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 2);
        assert_eq!(page.matches("class=\"failed\"").count(), 2, "one mark per chart");
        assert!(page.contains("<h2>a&lt;b</h2>"));
        assert!(!page.contains("http-equiv") && !page.contains("src="), "self-contained");
    }
}
