//! `timeline.svg`: the drill's phases on one time axis (seconds since the
//! drill start), one lane per phase, with T_d, the first acknowledged write
//! after it, and the objectives drawn as deadlines: `T_d + RTO` as a dashed
//! line and the RPO window `[T_d - RPO, T_d]` as a shaded band. A deadline
//! far beyond the drill (60 minutes against a 40-second drill) is drawn at
//! the edge with an arrow and says so, rather than squashing the drill into
//! a sliver.
//!
//! Hand-written SVG: plain `<text>` with a generic font family, so it
//! renders the same in a browser, a CI artifact viewer and `rsvg-convert`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::error::ReportError;
use super::file::write_atomically;
use super::model::DrillReport;
use super::units::{human_duration_ms, offset_seconds, verdict_word};
use crate::uri::redact;

/// The file name of a drill's timeline inside its folder.
pub const TIMELINE_SVG: &str = "timeline.svg";

/// Writes `dir/timeline.svg` and returns its path.
pub fn write_timeline(dir: &Path, report: &DrillReport) -> Result<PathBuf, ReportError> {
    let path = dir.join(TIMELINE_SVG);
    write_atomically(&path, timeline_svg(report).as_bytes())?;
    Ok(path)
}

const WIDTH: f64 = 960.0;
const PLOT_LEFT: f64 = 150.0;
const PLOT_RIGHT: f64 = 900.0;
const LANES_TOP: f64 = 64.0;
const LANE_HEIGHT: f64 = 30.0;
const ROW_HEIGHT: f64 = 18.0;
/// A deadline up to this many drill spans away widens the axis; beyond it
/// is drawn off scale, so the drill's own phases stay readable.
const STRETCH_LIMIT: f64 = 1.5;

/// A vertical line with its label on its own row below the axis, so labels
/// never overlap however close the instants are.
struct Marker {
    /// Where, ms from the drill start; `None` when off scale.
    at_ms: Option<u64>,
    /// Off scale to the left (`-1`), to the right (`1`), or on scale (`0`).
    off_scale: i8,
    label: String,
    colour: &'static str,
    dash: Option<&'static str>,
}

/// The SVG text of the drill's timeline.
pub fn timeline_svg(report: &DrillReport) -> String {
    let lanes = lane_names(report);
    let markers = markers(report);
    let span_ms = span_ms(report, &markers);
    let scale = |offset_ms: u64| PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * offset_ms as f64 / span_ms as f64;
    let lanes_bottom = LANES_TOP + LANE_HEIGHT * lanes.len().max(1) as f64;
    let axis_y = lanes_bottom + 8.0;
    let rows_top = axis_y + 52.0;
    let height = rows_top + ROW_HEIGHT * markers.len() as f64 + 12.0;

    let mut svg = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let verdict = verdict_word(report.verdict.kind);
    let _ = writeln!(
        svg,
        "<title>{}</title>",
        escape(&format!("{}: {verdict}", report.scenario))
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&format!("{}: {verdict}", report.scenario))
    );
    let _ = writeln!(
        svg,
        r##"<text x="16" y="44" fill="#444444">{}</text>"##,
        escape(&subtitle(report))
    );

    rpo_band(&mut svg, report, &scale, lanes_bottom);
    for (row, lane) in lanes.iter().enumerate() {
        let top = LANES_TOP + LANE_HEIGHT * row as f64;
        let fill = if row % 2 == 0 { "#f6f6f6" } else { "#ffffff" };
        let _ = writeln!(
            svg,
            r#"<rect x="{PLOT_LEFT}" y="{top}" width="{:.1}" height="{LANE_HEIGHT}" fill="{fill}" fill-opacity="0.6"/>"#,
            PLOT_RIGHT - PLOT_LEFT
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            PLOT_LEFT - 10.0,
            top + 19.0,
            escape(lane)
        );
        for phase in report.phases.iter().filter(|phase| &phase.name == lane) {
            let start = scale(phase.start_ms);
            let end = scale(phase.end_ms.max(phase.start_ms));
            let width = (end - start).max(1.5);
            let _ = writeln!(
                svg,
                r#"<rect x="{start:.1}" y="{:.1}" width="{width:.1}" height="18" rx="2" fill="{}"><title>{}</title></rect>"#,
                top + 6.0,
                lane_colour(lane),
                escape(&format!(
                    "{lane}: {} to {}",
                    offset_seconds(phase.start_ms),
                    offset_seconds(phase.end_ms)
                ))
            );
            let duration = escape(&human_duration_ms(phase.end_ms.saturating_sub(phase.start_ms)));
            let (x, anchor) = if start + width + 70.0 > PLOT_RIGHT {
                (start - 4.0, "end")
            } else {
                (start + width + 4.0, "start")
            };
            let _ = writeln!(
                svg,
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="{anchor}" fill="#333333" font-size="11">{duration}</text>"##,
                top + 19.0
            );
        }
    }
    if lanes.is_empty() {
        let reason = match report.verdict.reasons.first() {
            Some(reason) => format!("no phases recorded: {reason}"),
            None => "no phases recorded".to_string(),
        };
        let _ = writeln!(
            svg,
            r##"<text x="{PLOT_LEFT}" y="{:.1}" fill="#666666">{}</text>"##,
            LANES_TOP + 19.0,
            escape(&reason)
        );
    }
    axis(&mut svg, span_ms, &scale, axis_y);
    for (row, marker) in markers.iter().enumerate() {
        draw_marker(&mut svg, marker, &scale, rows_top + ROW_HEIGHT * row as f64);
    }
    svg.push_str("</svg>\n");
    svg
}

fn subtitle(report: &DrillReport) -> String {
    let mut text = format!("{}, {}", report.run_id, human_duration_ms(report.duration_ms));
    if let Some(rto) = report.objectives.rto_text() {
        let _ = write!(text, "; RTO objective {rto} ({})", report.objectives.rto_applies_to);
    }
    if let Some(rpo) = report.objectives.rpo_text() {
        let _ = write!(text, "; RPO objective {rpo}");
    }
    if report.interrupted {
        text.push_str("; interrupted");
    }
    text
}

/// Phase names in order of first appearance: two backups share a lane.
fn lane_names(report: &DrillReport) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for phase in &report.phases {
        if !names.contains(&phase.name) {
            names.push(phase.name.clone());
        }
    }
    names
}

fn lane_colour(name: &str) -> &'static str {
    match name {
        "seed" => "#8da0cb",
        "backup" => "#66c2a5",
        "outage" => "#e34a33",
        "restore" => "#fc8d62",
        "verification" => "#a6d854",
        "no primary" => "#b30000",
        name if name.starts_with("primary ") => "#4daf4a",
        _ => "#b3b3b3",
    }
}

/// The instants the picture marks: T_d, the first acknowledged write after
/// it (T_s), the recovered prefix's acknowledgement (T_d - RPO achieved),
/// and the two deadlines. Off-scale decisions need the drill's own span,
/// which does not depend on the deadlines.
fn markers(report: &DrillReport) -> Vec<Marker> {
    let Some(disaster) = report.measurements.disaster_at.map(|instant| instant.offset_ms) else {
        return vec![Marker {
            at_ms: None,
            off_scale: 0,
            label: "no T_d: the drill did not reach its disaster".to_string(),
            colour: "#666666",
            dash: None,
        }];
    };
    let mut markers = vec![Marker {
        at_ms: Some(disaster),
        off_scale: 0,
        label: format!("T_d {} (disaster)", offset_seconds(disaster)),
        colour: "#b2182b",
        dash: None,
    }];
    if let Some(service) = report.measurements.rto_service_ms {
        markers.push(Marker {
            at_ms: Some(disaster + service),
            off_scale: 0,
            label: format!(
                "first acknowledged write {} (RTO service {})",
                offset_seconds(disaster + service),
                human_duration_ms(service)
            ),
            colour: "#1a9850",
            dash: None,
        });
    }
    if let Some(rpo) = report.measurements.rpo_ms {
        markers.push(rpo_achieved_marker(disaster, rpo));
    }
    if let (Some(rpo), Some(written)) = (report.objectives.rpo_ms, report.objectives.rpo_text()) {
        markers.push(rpo_window_marker(disaster, rpo, &written));
    }
    if let (Some(rto), Some(written)) = (report.objectives.rto_ms, report.objectives.rto_text()) {
        markers.push(rto_deadline_marker(report, disaster, rto, &written));
    }
    markers
}

/// Where the recovered prefix was acknowledged: `rpo` (achieved) before
/// T_d, off scale to the left when that is before the drill began.
fn rpo_achieved_marker(disaster: u64, rpo: u64) -> Marker {
    let label = format!(
        "recovered prefix acknowledged (RPO achieved {})",
        human_duration_ms(rpo)
    );
    let (at_ms, off_scale, label) = match disaster.checked_sub(rpo) {
        Some(at) => (Some(at), 0, format!("{label} {}", offset_seconds(at))),
        None => (
            None,
            -1,
            format!("{label} at T_d -{} (off scale)", human_duration_ms(rpo)),
        ),
    };
    Marker {
        at_ms,
        off_scale,
        label,
        colour: "#2166ac",
        dash: Some("2 3"),
    }
}

/// Where the RPO objective's window starts: `rpo` (as the scenario wrote
/// it: `written`) before T_d.
fn rpo_window_marker(disaster: u64, rpo: u64, written: &str) -> Marker {
    let (at_ms, off_scale, label) = match disaster.checked_sub(rpo) {
        Some(at) => (Some(at), 0, format!("RPO {written} (window T_d -{written})")),
        None => (None, -1, format!("RPO window starts at T_d -{written} (off scale)")),
    };
    Marker {
        at_ms,
        off_scale,
        label,
        colour: "#4393c3",
        dash: Some("6 4"),
    }
}

/// The RTO deadline, `rto` (as the scenario wrote it: `written`) after
/// T_d: off scale to the right when drawing it would stretch the drill's
/// own span too far.
fn rto_deadline_marker(report: &DrillReport, disaster: u64, rto: u64, written: &str) -> Marker {
    let deadline = disaster.saturating_add(rto);
    let applies = if report.objectives.rto_applies_to == "verified" {
        " (verified)"
    } else {
        ""
    };
    let (at_ms, off_scale, label) = if deadline as f64 <= drill_span_ms(report) as f64 * STRETCH_LIMIT {
        (
            Some(deadline),
            0,
            format!("RTO {written}{applies} deadline {}", offset_seconds(deadline)),
        )
    } else {
        (None, 1, format!("RTO deadline at +{written}{applies} (off scale)"))
    };
    Marker {
        at_ms,
        off_scale,
        label,
        colour: "#d6604d",
        dash: Some("6 4"),
    }
}

/// The drill's own extent: its duration, its phases and T_s.
fn drill_span_ms(report: &DrillReport) -> u64 {
    let measurements = &report.measurements;
    let disaster = measurements.disaster_at.map(|instant| instant.offset_ms).unwrap_or(0);
    let service = measurements
        .rto_service_ms
        .map(|service| disaster + service)
        .unwrap_or(0);
    let phases = report.phases.iter().map(|phase| phase.end_ms).max().unwrap_or(0);
    report.duration_ms.max(phases).max(service).max(disaster).max(1)
}

/// The axis extent: the drill, widened to any deadline drawn on scale.
fn span_ms(report: &DrillReport, markers: &[Marker]) -> u64 {
    let furthest = markers.iter().filter_map(|marker| marker.at_ms).max().unwrap_or(0);
    drill_span_ms(report).max(furthest)
}

/// The shaded RPO window `[T_d - RPO objective, T_d]`, clipped at the
/// drill start.
fn rpo_band(svg: &mut String, report: &DrillReport, scale: &impl Fn(u64) -> f64, lanes_bottom: f64) {
    let (Some(disaster), Some(rpo)) = (report.measurements.disaster_at, report.objectives.rpo_ms) else {
        return;
    };
    let end = scale(disaster.offset_ms);
    let start = scale(disaster.offset_ms.saturating_sub(rpo));
    let _ = writeln!(
        svg,
        r##"<rect x="{start:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#4393c3" fill-opacity="0.10"><title>RPO window</title></rect>"##,
        LANES_TOP,
        (end - start).max(0.0),
        lanes_bottom - LANES_TOP
    );
}

/// The time axis in seconds, with ticks at 1, 2 or 5 times a power of ten.
fn axis(svg: &mut String, span_ms: u64, scale: &impl Fn(u64) -> f64, y: f64) {
    let _ = writeln!(
        svg,
        r##"<line x1="{PLOT_LEFT}" y1="{y:.1}" x2="{PLOT_RIGHT}" y2="{y:.1}" stroke="#333333"/>"##
    );
    let step_ms = tick_step_ms(span_ms);
    let mut tick = 0;
    while tick <= span_ms {
        let x = scale(tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333333"/>"##,
            y + 5.0
        );
        let label = if step_ms >= 1_000 {
            format!("{} s", tick / 1_000)
        } else {
            format!("{:.1} s", tick as f64 / 1_000.0)
        };
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{label}</text>"#,
            y + 18.0
        );
        tick += step_ms;
    }
    let _ = writeln!(
        svg,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444444">seconds since the drill started</text>"##,
        (PLOT_LEFT + PLOT_RIGHT) / 2.0,
        y + 36.0
    );
}

/// The smallest of 1, 2, 5 × 10^k milliseconds (at least 100 ms) that
/// gives at most ten intervals.
fn tick_step_ms(span_ms: u64) -> u64 {
    let mut magnitude = 100;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * magnitude;
            if span_ms / step <= 10 {
                return step;
            }
        }
        magnitude *= 10;
    }
}

fn draw_marker(svg: &mut String, marker: &Marker, scale: &impl Fn(u64) -> f64, row_y: f64) {
    let dash = marker
        .dash
        .map(|dash| format!(r#" stroke-dasharray="{dash}""#))
        .unwrap_or_default();
    let colour = marker.colour;
    let label = escape(&marker.label);
    let (x, anchor) = match (marker.at_ms, marker.off_scale) {
        (Some(at), _) => {
            let x = scale(at);
            let _ = writeln!(
                svg,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5"{dash}/>"#,
                LANES_TOP - 6.0,
                row_y - 4.0
            );
            if x > PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * 0.6 {
                (x - 5.0, "end")
            } else {
                (x + 5.0, "start")
            }
        }
        (None, 0) => (PLOT_LEFT, "start"),
        (None, direction) => {
            // Off scale: a dashed line at the edge and an arrow pointing
            // out of the picture, towards where the deadline really is.
            let edge = if direction > 0 { PLOT_RIGHT } else { PLOT_LEFT };
            let _ = writeln!(
                svg,
                r#"<line x1="{edge:.1}" y1="{:.1}" x2="{edge:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.5"{dash}/>"#,
                LANES_TOP - 6.0,
                row_y - 4.0
            );
            let (tip, base) = if direction > 0 {
                (edge + 10.0, edge)
            } else {
                (edge - 10.0, edge)
            };
            let _ = writeln!(
                svg,
                r#"<polygon points="{base:.1},{:.1} {tip:.1},{:.1} {base:.1},{:.1}" fill="{colour}"/>"#,
                row_y - 10.0,
                row_y - 4.0,
                row_y + 2.0
            );
            if direction > 0 {
                (edge - 5.0, "end")
            } else {
                (edge + 5.0, "start")
            }
        }
    };
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{row_y:.1}" text-anchor="{anchor}" fill="{colour}">{label}</text>"#
    );
}

/// Text content and attribute values, credentials redacted.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in redact(text).chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            character if character < ' ' => {}
            character => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::{PLANTED_PASSWORD, SampleKind, sample_report};

    /// Parses the SVG with Python's standard XML parser (a strict one: a
    /// stray `&` or `<` fails it) and returns the root tag and every text.
    fn parse(svg: &str) -> (String, Vec<String>) {
        let script = "import sys, xml.etree.ElementTree as E\n\
                      root = E.fromstring(sys.stdin.read())\n\
                      print(root.tag)\n\
                      for node in root.iter():\n\
                      \x20   if node.tag.endswith('}text') or node.tag.endswith('}title'):\n\
                      \x20       print(''.join(node.itertext()))\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is needed to check the SVG (it is part of the machine setup)");
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(svg.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "not well-formed XML: {}\n{svg}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let mut lines = text.lines().map(str::to_string);
        let root = lines.next().unwrap();
        (root, lines.collect())
    }

    fn has(texts: &[String], wanted: &str) -> bool {
        texts.iter().any(|text| text == wanted)
    }

    #[test]
    fn short_drill_draws_phases_markers_and_off_scale_deadlines() {
        let (root, texts) = parse(&timeline_svg(&sample_report(SampleKind::Passed)));
        assert_eq!(root, "{http://www.w3.org/2000/svg}svg");
        for lane in ["seed", "backup", "outage", "restore", "verification"] {
            assert!(has(&texts, lane), "no lane {lane}: {texts:#?}");
        }
        assert!(has(&texts, "T_d +20.0 s (disaster)"), "{texts:#?}");
        assert!(
            has(&texts, "first acknowledged write +31.3 s (RTO service 11.3 s)"),
            "{texts:#?}"
        );
        assert!(has(&texts, "RTO deadline at +60m (off scale)"), "{texts:#?}");
        assert!(has(&texts, "RPO window starts at T_d -15m (off scale)"), "{texts:#?}");
        assert!(
            has(&texts, "recovered prefix acknowledged (RPO achieved 10.3 s) +9.7 s"),
            "{texts:#?}"
        );
        assert!(has(&texts, "0 s") && has(&texts, "40 s"), "{texts:#?}");
        assert!(has(&texts, "seconds since the drill started"));
    }

    #[test]
    fn a_deadline_near_the_drill_widens_the_axis() {
        let mut report = sample_report(SampleKind::Passed);
        report.objectives.rto_ms = Some(30_000);
        report.objectives.rpo_ms = Some(15_000);
        let (_, texts) = parse(&timeline_svg(&report));
        assert!(has(&texts, "RTO 30.0 s deadline +50.0 s"), "{texts:#?}");
        assert!(has(&texts, "50 s"), "the axis reaches the deadline: {texts:#?}");
        assert!(has(&texts, "RPO 15.0 s (window T_d -15.0 s)"), "{texts:#?}");
    }

    #[test]
    fn long_drill_shows_the_rpo_window_on_scale() {
        let svg = timeline_svg(&sample_report(SampleKind::Failed));
        let (_, texts) = parse(&svg);
        assert!(has(&texts, "RPO 15m (window T_d -15m)"), "{texts:#?}");
        assert!(has(&texts, "RTO deadline at +60m (off scale)"), "{texts:#?}");
        assert!(has(&texts, "1000 s"), "{texts:#?}");
        // The description's `&` and `<15m>` never reach the SVG unescaped,
        // and neither does the password.
        assert!(!svg.contains(PLANTED_PASSWORD));
    }

    #[test]
    fn drills_without_phases_or_disaster_still_draw() {
        let (_, texts) = parse(&timeline_svg(&sample_report(SampleKind::Skipped)));
        assert!(
            has(
                &texts,
                "no phases recorded: the engine ferretdb cannot run this scenario: it has no replica sets or elections"
            ),
            "{texts:#?}"
        );
        assert!(
            has(&texts, "no T_d: the drill did not reach its disaster"),
            "{texts:#?}"
        );
        let (_, texts) = parse(&timeline_svg(&sample_report(SampleKind::Interrupted)));
        assert!(has(&texts, "T_d +20.0 s (disaster)"), "{texts:#?}");
        assert!(!texts.iter().any(|text| text.starts_with("first acknowledged write")));
    }

    #[test]
    fn text_is_escaped() {
        let mut report = sample_report(SampleKind::Passed);
        report.scenario = "a<b & \"c\"".to_string();
        report.phases[0].name = "seed <fast> & 'loud'".to_string();
        let (_, texts) = parse(&timeline_svg(&report));
        assert!(has(&texts, "a<b & \"c\": passed"), "{texts:#?}");
        assert!(has(&texts, "seed <fast> & 'loud'"), "{texts:#?}");
    }

    #[test]
    fn tick_steps_stay_round() {
        assert_eq!(tick_step_ms(40_000), 5_000);
        assert_eq!(tick_step_ms(1_092_000), 100_000);
        assert_eq!(tick_step_ms(1_200_001), 200_000);
        assert_eq!(tick_step_ms(900), 100);
        assert_eq!(tick_step_ms(1), 100);
    }
}
