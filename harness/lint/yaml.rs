//! A line-keeping reader for the block YAML of manifests and compose files:
//! block mappings and sequences, plain and quoted scalars, block scalars
//! (`|`, `>`), one-line flow sequences, comments and `---` documents. Every
//! scalar keeps its [`Origin`], so that a script inside a manifest is
//! reported at the manifest's own line and column. Anchors, tags, flow
//! mappings and multi-line plain scalars are not read (a flow mapping is
//! kept as its text); this is a reader for the shapes manifests use, not a
//! YAML implementation.

use super::shell::Origin;

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A block or flow mapping's entries, in order.
    Map(Vec<(String, Node)>),
    /// A sequence's items.
    Seq(Vec<Node>),
    /// A scalar's text (quotes removed; a block scalar's lines joined).
    Scalar(String, Origin),
    /// A key with no value.
    Null,
}

impl Node {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(name, _)| name == key).map(|(_, value)| value),
            _ => None,
        }
    }

    /// The text of a scalar.
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar(text, _) => Some(text),
            _ => None,
        }
    }

    /// A sequence's items, or the scalar itself as a one-item list.
    pub fn items(&self) -> Vec<&Node> {
        match self {
            Node::Seq(items) => items.iter().collect(),
            Node::Scalar(..) => vec![self],
            _ => Vec::new(),
        }
    }
}

/// One source line: its file number, its indent and its text after the indent.
#[derive(Debug, Clone)]
struct Line {
    number: usize,
    indent: usize,
    text: String,
}

/// Reads every document of `text`, whose first line is file line `first_line`.
pub fn parse_documents(text: &str, first_line: usize) -> Vec<Node> {
    let mut documents = Vec::new();
    let mut lines = Vec::new();
    for (offset, raw) in text.lines().enumerate() {
        if raw.trim_end() == "---" || raw.starts_with("--- ") {
            documents.push(std::mem::take(&mut lines));
            continue;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        lines.push(Line {
            number: first_line + offset,
            indent,
            text: raw[indent..].trim_end().to_string(),
        });
    }
    documents.push(lines);
    documents
        .into_iter()
        .map(|lines| {
            let mut reader = Reader { lines, index: 0 };
            reader.node(0)
        })
        .collect()
}

struct Reader {
    lines: Vec<Line>,
    index: usize,
}

fn significant(line: &Line) -> bool {
    !line.text.is_empty() && !line.text.starts_with('#')
}

/// Cuts a ` #` comment that is outside quotes.
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (index, character) in text.char_indices() {
        match (quote, character) {
            (None, '\'' | '"') => quote = Some(character),
            (Some(open), _) if character == open => quote = None,
            (None, '#') if previous == ' ' => return text[..index].trim_end(),
            _ => {}
        }
        previous = character;
    }
    text
}

/// Splits `key: value` (a key followed by `:` and a space or the end), quotes respected.
fn split_key(text: &str) -> Option<(String, &str, usize)> {
    let mut quote = None;
    for (index, character) in text.char_indices() {
        match (quote, character) {
            (None, '\'' | '"') if index == 0 => quote = Some(character),
            (Some(open), _) if character == open => quote = None,
            (None, ':') => {
                let rest = &text[index + 1..];
                if rest.is_empty() || rest.starts_with(' ') {
                    let key = text[..index].trim().trim_matches(['"', '\'']).to_string();
                    let start = index + 1 + (rest.len() - rest.trim_start().len());
                    return Some((key, rest.trim(), start));
                }
            }
            _ => {}
        }
    }
    None
}

fn unquote(text: &str) -> (String, usize) {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            let inner = &text[1..text.len() - 1];
            let inner = if quote == '"' {
                inner.replace("\\\"", "\"").replace("\\n", "\n")
            } else {
                inner.replace("''", "'")
            };
            return (inner, 1);
        }
    }
    (text.to_string(), 0)
}

impl Reader {
    fn skip_blank(&mut self) {
        while self.lines.get(self.index).is_some_and(|line| !significant(line)) {
            self.index += 1;
        }
    }

    fn peek(&mut self) -> Option<&Line> {
        self.skip_blank();
        self.lines.get(self.index)
    }

    fn node(&mut self, min_indent: usize) -> Node {
        let Some(line) = self.peek() else {
            return Node::Null;
        };
        if line.indent < min_indent {
            return Node::Null;
        }
        let indent = line.indent;
        if line.text == "-" || line.text.starts_with("- ") {
            self.sequence(indent)
        } else if split_key(strip_comment(&line.text)).is_some() {
            self.mapping(indent)
        } else {
            let line = line.clone();
            self.index += 1;
            scalar(strip_comment(&line.text), line.number, line.indent + 1)
        }
    }

    fn sequence(&mut self, indent: usize) -> Node {
        let mut items = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || !(line.text == "-" || line.text.starts_with("- ")) {
                break;
            }
            let line = line.clone();
            let rest = line.text[1..].trim_start();
            let inner_indent = indent + (line.text.len() - rest.len());
            if rest.is_empty() {
                self.index += 1;
                items.push(self.node(indent + 1));
            } else if rest.starts_with('|') || rest.starts_with('>') {
                self.index += 1;
                items.push(self.block_scalar(indent, rest.starts_with('>')));
            } else if split_key(strip_comment(rest)).is_some() || rest.starts_with("- ") {
                // `- key: value`: the item is a mapping (or a sequence) starting at the key's column.
                self.lines[self.index] = Line {
                    number: line.number,
                    indent: inner_indent,
                    text: rest.to_string(),
                };
                items.push(self.node(inner_indent));
            } else {
                self.index += 1;
                items.push(scalar(strip_comment(rest), line.number, inner_indent + 1));
            }
        }
        Node::Seq(items)
    }

    fn mapping(&mut self, indent: usize) -> Node {
        let mut entries = Vec::new();
        while let Some(line) = self.peek() {
            if line.indent != indent || line.text.starts_with("- ") || line.text == "-" {
                break;
            }
            let line = line.clone();
            let text = strip_comment(&line.text);
            let Some((key, value, start)) = split_key(text) else {
                break;
            };
            self.index += 1;
            let node = if value.is_empty() {
                match self.peek() {
                    Some(next) if next.indent > indent => self.node(indent + 1),
                    Some(next) if next.indent == indent && (next.text.starts_with("- ") || next.text == "-") => {
                        self.sequence(indent)
                    }
                    _ => Node::Null,
                }
            } else if value.starts_with('|') || value.starts_with('>') {
                self.block_scalar(indent, value.starts_with('>'))
            } else {
                scalar(value, line.number, line.indent + start + 1)
            };
            entries.push((key, node));
        }
        Node::Map(entries)
    }

    /// The lines indented deeper than `parent`, their common indent removed.
    fn block_scalar(&mut self, parent: usize, folded: bool) -> Node {
        let start = self.index;
        let mut end = start;
        while let Some(line) = self.lines.get(end) {
            if !line.text.is_empty() && line.indent <= parent {
                break;
            }
            end += 1;
        }
        self.index = end;
        let block = &self.lines[start..end];
        let indent = block
            .iter()
            .filter(|line| !line.text.is_empty())
            .map(|line| line.indent)
            .min()
            .unwrap_or(parent + 1);
        let text: Vec<String> = block
            .iter()
            .map(|line| {
                if line.text.is_empty() {
                    String::new()
                } else {
                    format!("{}{}", " ".repeat(line.indent - indent), line.text)
                }
            })
            .collect();
        let text = text.join(if folded { " " } else { "\n" });
        let first = block.first().map_or(0, |line| line.number);
        Node::Scalar(
            text,
            Origin {
                line: first,
                column: indent + 1,
                indent,
            },
        )
    }
}

/// A plain, quoted or one-line flow-sequence value starting at file column `column`.
fn scalar(text: &str, line: usize, column: usize) -> Node {
    if let Some(inner) = text.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')) {
        let mut items = Vec::new();
        let mut offset = 1;
        for part in split_flow(inner) {
            let trimmed = part.trim_start();
            let item_column = column + offset + (part.len() - trimmed.len());
            let (value, quote) = unquote(trimmed.trim_end());
            items.push(Node::Scalar(
                value,
                Origin {
                    line,
                    column: item_column + quote,
                    indent: 0,
                },
            ));
            offset += part.len() + 1;
        }
        return Node::Seq(items);
    }
    let (value, quote) = unquote(text);
    Node::Scalar(
        value,
        Origin {
            line,
            column: column + quote,
            indent: 0,
        },
    )
}

/// Splits a flow sequence's inside at commas outside quotes.
fn split_flow(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (index, character) in inner.char_indices() {
        match (quote, character) {
            (None, '\'' | '"') => quote = Some(character),
            (Some(open), _) if character == open => quote = None,
            (None, ',') => {
                parts.push(&inner[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if !inner[start..].trim().is_empty() {
        parts.push(&inner[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cronjob_keeps_the_position_of_its_script() {
        let text = "kind: CronJob\nspec:\n  containers:\n  - name: backup\n    command:\n    - /bin/bash\n    - -c\n    - |\n      mongodump \\\n        --out /backup/x\n    volumeMounts:\n    - name: data\n      mountPath: /backup # the PVC\n";
        let documents = parse_documents(text, 1);
        let container = &documents[0].get("spec").unwrap().get("containers").unwrap().items()[0];
        let command = container.get("command").unwrap().items();
        assert_eq!(command[1].text(), Some("-c"));
        let Node::Scalar(script, origin) = command[2] else {
            panic!("{command:?}")
        };
        assert_eq!(script, "mongodump \\\n  --out /backup/x");
        assert_eq!(
            *origin,
            Origin {
                line: 9,
                column: 7,
                indent: 6
            }
        );
        let mounts = container.get("volumeMounts").unwrap().items();
        assert_eq!(mounts[0].get("mountPath").and_then(Node::text), Some("/backup"));
    }

    #[test]
    fn flow_sequences_and_quotes_keep_columns() {
        let documents = parse_documents("command: [\"sh\", \"-c\", 'mongodump']\n", 1);
        let items = documents[0].get("command").unwrap().items();
        assert_eq!(items.len(), 3);
        let Node::Scalar(text, origin) = items[2] else { panic!() };
        assert_eq!(text, "mongodump");
        assert_eq!((origin.line, origin.column), (1, 24));
    }
}
