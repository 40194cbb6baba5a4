//! Terminal output: plain tables for people, JSON for machines, and a
//! progress bar that appears only on an interactive terminal outside CI.

use std::io::IsTerminal;
use std::sync::Mutex;

use drdrill::progress::ProgressSink;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress may be drawn: stderr is a terminal, not in CI, not quiet.
pub fn interactive(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// A [`ProgressSink`] drawing an indicatif bar on stderr, or nothing.
pub struct TerminalProgress {
    /// Whether to draw at all.
    enabled: bool,
    /// The bar of the current phase.
    bar: Mutex<Option<ProgressBar>>,
}

impl TerminalProgress {
    /// A sink that draws when `interactive(quiet)` says so.
    pub fn new(quiet: bool) -> Self {
        Self {
            enabled: interactive(quiet),
            bar: Mutex::new(None),
        }
    }
}

impl ProgressSink for TerminalProgress {
    fn start(&self, label: &str, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{msg:>24} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}"
        } else {
            "{msg:>24} {spinner} {human_pos} {per_sec}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        if let Some(old) = self.bar.lock().expect("progress lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, units: u64) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(units);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}

/// A plain text table: columns padded to their widest cell, numbers right
/// aligned when the header says so (a `>` prefix).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let right: Vec<bool> = headers.iter().map(|header| header.starts_with('>')).collect();
    let headers: Vec<&str> = headers.iter().map(|header| header.trim_start_matches('>')).collect();
    let mut widths: Vec<usize> = headers.iter().map(|header| header.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let rendered: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(index, cell)| {
                if right[index] {
                    format!("{cell:>width$}", width = widths[index])
                } else {
                    format!("{cell:<width$}", width = widths[index])
                }
            })
            .collect();
        out.push_str(rendered.join("  ").trim_end());
        out.push('\n');
    };
    line(headers.clone(), &mut out);
    line(
        widths
            .iter()
            .map(|width| "-".repeat(*width))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
        &mut out,
    );
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let text = table(
            &["name", ">count"],
            &[
                vec!["users".into(), "7".into()],
                vec!["audit_log".into(), "1200".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "name       count");
        assert_eq!(lines[2], "users          7");
        assert_eq!(lines[3], "audit_log   1200");
    }
}
