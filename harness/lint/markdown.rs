//! Markdown runbooks: fenced code blocks (```` ```bash ````, ```` ```sh ````,
//! ```` ```yaml ````) read as the kind of file they show, located at the
//! Markdown line.

use super::shell::Origin;

/// What a fenced block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// ```` ```bash ````, ```` ```sh ````, ```` ```shell ````.
    Shell,
    /// ```` ```yaml ````, ```` ```yml ````.
    Yaml,
}

/// One fenced block: its kind, its text and where its first line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// What it holds.
    pub kind: BlockKind,
    /// Its text, fence lines excluded.
    pub text: String,
    /// Where its first line is in the Markdown file.
    pub origin: Origin,
}

/// A block being read: its kind (`None`: a language the linter skips), its
/// fence, its first line, its indent and its lines so far.
type OpenBlock<'a> = (Option<BlockKind>, String, usize, usize, Vec<&'a str>);

/// The shell and YAML blocks of a Markdown text; other blocks are skipped.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<OpenBlock<'_>> = None;
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        let fence = if trimmed.starts_with("```") {
            Some("```")
        } else if trimmed.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (&mut open, fence) {
            (Some((kind, marker, start, block_indent, lines)), Some(fence))
                if fence == marker && trimmed.trim_end() == fence =>
            {
                if let Some(kind) = kind {
                    let stripped: Vec<&str> = lines
                        .iter()
                        .map(|line| line.get(*block_indent..).unwrap_or(line.trim_start()))
                        .collect();
                    found.push(Block {
                        kind: *kind,
                        text: stripped.join("\n"),
                        origin: Origin {
                            line: *start,
                            column: *block_indent + 1,
                            indent: *block_indent,
                        },
                    });
                }
                open = None;
            }
            (Some((.., lines)), _) => lines.push(line),
            (None, Some(fence)) => {
                let language = trimmed[3..]
                    .trim()
                    .split([' ', '{', ','])
                    .next()
                    .unwrap_or("")
                    .to_lowercase();
                let kind = match language.as_str() {
                    "bash" | "sh" | "shell" | "zsh" => Some(BlockKind::Shell),
                    "yaml" | "yml" => Some(BlockKind::Yaml),
                    _ => None,
                };
                open = Some((kind, fence.to_string(), index + 2, indent, Vec::new()));
            }
            (None, None) => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_at_their_markdown_line() {
        let text = "# Runbook\n\n```bash\nmongodump --out x\n```\n\n```python\nprint()\n```\n```yaml\nkind: Job\n```\n";
        let found = blocks(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].kind, BlockKind::Shell);
        assert_eq!(found[0].text, "mongodump --out x");
        assert_eq!(found[0].origin.line, 4);
        assert_eq!(found[1].kind, BlockKind::Yaml);
        assert_eq!(found[1].origin.line, 11);
    }
}
