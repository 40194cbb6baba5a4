//! The tools' option tables ([`tool_options.txt`](tool_options.txt), checked
//! in as data) and the parsing of a tool's arguments against them.

use std::sync::OnceLock;

use super::shell::Word;

/// A MongoDB tool whose command line the linter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `mongodump` (Database Tools 100.x).
    Mongodump,
    /// `mongorestore` (Database Tools 100.x).
    Mongorestore,
    /// `mongosh`.
    Mongosh,
    /// `mongo`, the legacy shell.
    Mongo,
}

impl Tool {
    /// The tool named by a command word (its basename).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mongodump" => Some(Self::Mongodump),
            "mongorestore" => Some(Self::Mongorestore),
            "mongosh" => Some(Self::Mongosh),
            "mongo" => Some(Self::Mongo),
            _ => None,
        }
    }

    /// The tool's program name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mongodump => "mongodump",
            Self::Mongorestore => "mongorestore",
            Self::Mongosh => "mongosh",
            Self::Mongo => "mongo",
        }
    }

    /// Whether the table's `TOOL` column names this tool.
    fn listed_as(self, column: &str) -> bool {
        column == self.name() || (column == "common" && matches!(self, Self::Mongodump | Self::Mongorestore))
    }
}

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No value.
    Switch,
    /// One value, after a space or an `=`.
    Value,
    /// A value only after `=`; alone it means the option's default.
    Attached,
    /// An optional value after a space (`-p` alone prompts).
    Optional,
}

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    tool: String,
    long: String,
    kind: Kind,
    short: Option<char>,
}

const TABLE: &str = include_str!("tool_options.txt");

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| {
        TABLE
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let tool = fields.next()?.to_string();
                let long = fields.next()?.to_string();
                let kind = match fields.next()? {
                    "switch" => Kind::Switch,
                    "value" => Kind::Value,
                    "attached" => Kind::Attached,
                    _ => Kind::Optional,
                };
                let short = fields.next().and_then(|short| short.chars().next());
                Some(Row {
                    tool,
                    long,
                    kind,
                    short,
                })
            })
            .collect()
    })
}

/// The kind of `--long` for `tool`, or `None` when the tool has no such option.
pub fn long_option(tool: Tool, long: &str) -> Option<Kind> {
    rows()
        .iter()
        .find(|row| tool.listed_as(&row.tool) && row.long == long)
        .map(|row| row.kind)
}

/// The long name and kind of `-short` for `tool`.
pub fn short_option(tool: Tool, short: char) -> Option<(&'static str, Kind)> {
    rows()
        .iter()
        .find(|row| tool.listed_as(&row.tool) && row.short == Some(short))
        .map(|row| (row.long.as_str(), row.kind))
}

/// The option of `tool` closest to `unknown` (for hints), compared without case
/// and dashes so that `--dry-run` finds `--dryRun`.
pub fn closest(tool: Tool, unknown: &str) -> Option<&'static str> {
    let fold = |text: &str| text.replace(['-', '_'], "").to_lowercase();
    let unknown = fold(unknown);
    rows()
        .iter()
        .filter(|row| tool.listed_as(&row.tool))
        .map(|row| {
            (
                strsim::damerau_levenshtein(&unknown, &fold(&row.long)),
                row.long.as_str(),
            )
        })
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, long)| long)
}

/// One option as written on a command line.
#[derive(Debug, Clone)]
pub struct GivenOption<'a> {
    /// The long name (a short option is resolved to its long name).
    pub long: String,
    /// The word that holds the option.
    pub word: &'a Word,
    /// Its value, after `=` or as the next word.
    pub value: Option<String>,
    /// The word after an `attached` option given without `=`, when there is one.
    pub detached: Option<&'a Word>,
    /// Whether the table knows the option.
    pub known: bool,
}

/// A tool's arguments sorted into options and positional arguments.
#[derive(Debug, Default)]
pub struct ParsedArguments<'a> {
    /// Every option, known or not, in order.
    pub options: Vec<GivenOption<'a>>,
    /// Arguments that are not options (redirections left out).
    pub positionals: Vec<&'a Word>,
}

impl ParsedArguments<'_> {
    /// The first option named `long`.
    pub fn option(&self, long: &str) -> Option<&GivenOption<'_>> {
        self.options.iter().find(|option| option.long == long)
    }
}

/// Whether a word is a redirection (`>file`, `2>&1`, `<in`), which the shell
/// takes away before the tool sees its arguments.
pub fn is_redirection(value: &str) -> bool {
    let rest = value.trim_start_matches(|character: char| character.is_ascii_digit() || character == '&');
    rest.starts_with('>') || rest.starts_with('<')
}

/// Sorts `arguments` (the words after the tool's name) against `tool`'s table.
pub fn parse<'a>(tool: Tool, arguments: &'a [Word]) -> ParsedArguments<'a> {
    let mut parsed = ParsedArguments::default();
    let mut index = 0;
    while index < arguments.len() {
        let word = &arguments[index];
        index += 1;
        let text = word.value.as_str();
        if is_redirection(text) {
            // `> file` with a space: the file is the redirection's too.
            if matches!(text.trim_start_matches(|c: char| c.is_ascii_digit()), ">" | ">>" | "<") {
                index += 1;
            }
            continue;
        }
        let (name, inline_value, short) = if let Some(long) = text.strip_prefix("--") {
            if long.is_empty() {
                parsed.positionals.extend(arguments[index..].iter());
                break;
            }
            match long.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string()), false),
                None => (long.to_string(), None, false),
            }
        } else if let Some(short) = text.strip_prefix('-').filter(|short| !short.is_empty()) {
            let mut characters = short.chars();
            let letter = characters.next().unwrap_or('-');
            let rest: String = characters.collect();
            let rest = rest.strip_prefix('=').map(str::to_string).unwrap_or(rest);
            (letter.to_string(), (!rest.is_empty()).then_some(rest), true)
        } else {
            parsed.positionals.push(word);
            continue;
        };
        let resolved = if short {
            let letter = name.chars().next().unwrap_or('-');
            short_option(tool, letter).map(|(long, kind)| (long.to_string(), kind))
        } else {
            long_option(tool, &name).map(|kind| (name.clone(), kind))
        };
        let Some((long, kind)) = resolved else {
            parsed.options.push(GivenOption {
                long: name,
                word,
                value: inline_value,
                detached: None,
                known: false,
            });
            continue;
        };
        let next = arguments.get(index).filter(|next| !is_redirection(&next.value));
        let mut option = GivenOption {
            long,
            word,
            value: inline_value,
            detached: None,
            known: true,
        };
        if option.value.is_none() {
            match kind {
                Kind::Value => {
                    option.value = next.map(|next| next.value.clone());
                    index += usize::from(next.is_some());
                }
                Kind::Optional => {
                    if let Some(next) = next.filter(|next| !next.value.starts_with('-')) {
                        option.value = Some(next.value.clone());
                        index += 1;
                    }
                }
                Kind::Attached => option.detached = next.filter(|next| !next.value.starts_with('-')),
                Kind::Switch => {}
            }
        }
        parsed.options.push(option);
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_know_the_real_flags_and_not_the_runbooks_spelling() {
        assert_eq!(long_option(Tool::Mongorestore, "dryRun"), Some(Kind::Switch));
        assert_eq!(long_option(Tool::Mongorestore, "dry-run"), None);
        assert_eq!(long_option(Tool::Mongodump, "dryRun"), None);
        assert_eq!(long_option(Tool::Mongodump, "archive"), Some(Kind::Attached));
        assert_eq!(short_option(Tool::Mongodump, 'o'), Some(("out", Kind::Value)));
        assert_eq!(closest(Tool::Mongorestore, "dry-run"), Some("dryRun"));
        assert!(rows().len() > 150, "the table lost rows: {}", rows().len());
    }
}
