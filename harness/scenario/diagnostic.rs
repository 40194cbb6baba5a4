//! Located problems in a scenario file and the error that carries all of
//! them: one line per problem, `file:line:column: key: message (hint: ...)`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as given by the caller.
    pub file: PathBuf,
    /// 1-based line of the offending key, value or table header.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Where in the document: `steps[2].kind`, `objectives.rto`; empty for
    /// the document itself. The index counts from 0 as in a path; the
    /// rendered line names steps from 1 (`step 3, kind`), as the terminal,
    /// the summary and JUnit do.
    pub key_path: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// What would fix it, when there is something to say.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.key_path.is_empty() {
            write!(formatter, "{}: ", readable_path(&self.key_path))?;
        }
        formatter.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(formatter, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// A key path for people: `steps[2].kind` becomes `step 3, kind` (steps are
/// numbered from 1 everywhere a person reads them); other paths stay.
fn readable_path(key_path: &str) -> String {
    let Some(rest) = key_path.strip_prefix("steps[") else {
        return key_path.to_string();
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return key_path.to_string();
    };
    let Ok(index) = index.parse::<usize>() else {
        return key_path.to_string();
    };
    match rest.strip_prefix('.') {
        Some(field) => format!("step {}, {field}", index + 1),
        None if rest.is_empty() => format!("step {}", index + 1),
        None => format!("step {}{rest}", index + 1),
    }
}

/// Every problem found in one scenario file, in file order.
#[derive(Debug, thiserror::Error)]
pub struct ScenarioErrors {
    /// The file the problems are in.
    pub file: PathBuf,
    /// The problems; never empty.
    pub diagnostics: Vec<Diagnostic>,
    /// The I/O error when the file could not be read at all.
    #[source]
    pub source: Option<std::io::Error>,
}

impl ScenarioErrors {
    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether there is no problem (never true for a returned error).
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                formatter.write_str("\n")?;
            }
            write!(formatter, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file, turning byte spans into lines and
/// columns.
#[derive(Debug)]
pub(crate) struct Collector<'a> {
    file: &'a Path,
    text: &'a str,
    diagnostics: Vec<(usize, Diagnostic)>,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Self {
        Self {
            file,
            text,
            diagnostics: Vec::new(),
        }
    }

    /// Records a problem at the start of `span`.
    pub(crate) fn push(&mut self, span: Range<usize>, key_path: &str, message: String, hint: Option<String>) {
        let offset = span.start.min(self.text.len());
        let (line, column) = line_column(self.text, offset);
        self.diagnostics.push((
            offset,
            Diagnostic {
                file: self.file.to_path_buf(),
                line,
                column,
                key_path: key_path.to_owned(),
                message,
                hint,
            },
        ));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The problems in file order (stable for problems at one offset).
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        self.diagnostics.sort_by_key(|(offset, _)| *offset);
        self.diagnostics.into_iter().map(|(_, diagnostic)| diagnostic).collect()
    }
}

/// 1-based line and character column of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    // A span may point inside a multi-byte character; step back to its start.
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // "é" is two bytes: the `=` after it is the fourth character.
        assert_eq!(line_column(text, 10), (2, 4));
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 1_000), (3, 1));
    }

    #[test]
    fn renders_one_line_per_problem_in_file_order() {
        let text = "a\nb\nc\n";
        let mut collector = Collector::new(Path::new("scenarios/x.toml"), text);
        collector.push(4..5, "", "second".into(), None);
        collector.push(
            0..1,
            "steps[2]",
            "missing field `kind`".into(),
            Some("one of seed".into()),
        );
        let errors = ScenarioErrors {
            file: "scenarios/x.toml".into(),
            diagnostics: collector.finish(),
            source: None,
        };
        assert_eq!(
            errors.to_string(),
            "scenarios/x.toml:1:1: step 3: missing field `kind` (hint: one of seed)\nscenarios/x.toml:3:1: second"
        );
    }

    #[test]
    fn steps_are_named_from_one() {
        assert_eq!(readable_path("steps[0]"), "step 1");
        assert_eq!(readable_path("steps[1].format"), "step 2, format");
        assert_eq!(readable_path("steps[4].collections[0]"), "step 5, collections[0]");
        assert_eq!(readable_path("objectives.rto"), "objectives.rto");
        assert_eq!(readable_path("steps[x].kind"), "steps[x].kind");
    }
}
