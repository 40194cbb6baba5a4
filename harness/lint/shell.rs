//! A small, honest shell tokenizer: words with their quotes removed and
//! their positions kept, commands split at newlines, `;`, `&&`, `||`, `|`
//! and `&`, line continuations, comments, `$(...)`/`${...}`/backticks kept
//! inside their word, and here-document bodies skipped. It does not expand
//! anything and knows only the keywords that decide whether a command's
//! status is looked at (`if`, `while`, `until`, `then`, `else`, `fi`, ...).

/// Where a fragment of text starts in its file, so that every position
/// found in the fragment can be reported at the file's own line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// The file line of the fragment's first line (1-based).
    pub line: usize,
    /// The file column of the fragment's first character (1-based).
    pub column: usize,
    /// Columns stripped from the start of each later line (a YAML block's indent).
    pub indent: usize,
}

impl Origin {
    /// A whole file: line 1, column 1.
    pub const FILE: Origin = Origin {
        line: 1,
        column: 1,
        indent: 0,
    };

    /// The file position of the fragment's `line`:`column` (both 1-based).
    pub fn map(self, line: usize, column: usize) -> (usize, usize) {
        if line == 1 {
            (self.line, self.column + column - 1)
        } else {
            (self.line + line - 1, self.indent + column)
        }
    }
}

/// One word of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word as written, quotes included.
    pub raw: String,
    /// The word with its quotes and escapes removed (nothing expanded).
    pub value: String,
    /// File line of its first character.
    pub line: usize,
    /// File column of its first character.
    pub column: usize,
}

/// What joins a command to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connector {
    /// A newline, `;` or the end of the text.
    #[default]
    End,
    /// `&&`: the next command runs only on success.
    And,
    /// `||`: the next command runs only on failure.
    Or,
    /// `|`: the output feeds the next command.
    Pipe,
    /// `&`: runs in the background.
    Background,
}

/// One simple command, its keywords taken off.
#[derive(Debug, Clone, Default)]
pub struct Command {
    /// The words after the keywords (`if`, `then`, `!` ...).
    pub words: Vec<Word>,
    /// What joins it to the previous command.
    pub before: Connector,
    /// What joins it to the next command.
    pub after: Connector,
    /// It is the condition of an `if`, `elif`, `while` or `until`: its status is looked at.
    pub condition: bool,
    /// How many `if`/loop bodies it sits in: it may not run at all.
    pub depth: usize,
}

impl Command {
    /// The position of the command's first word.
    pub fn position(&self) -> (usize, usize) {
        self.words.first().map_or((0, 0), |word| (word.line, word.column))
    }
}

/// A shell script: its commands and the options its interpreter line sets.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Every command, in order.
    pub commands: Vec<Command>,
    /// `bash -e` on the interpreter line (or `sh -ec` in a manifest).
    pub errexit_from_interpreter: bool,
}

/// Splits `text` into commands; positions are mapped through `origin`.
pub fn parse(text: &str, origin: Origin) -> Script {
    let mut tokenizer = Tokenizer::new(text, origin);
    tokenizer.run();
    let errexit_from_interpreter = text
        .lines()
        .next()
        .filter(|line| line.starts_with("#!"))
        .is_some_and(|line| {
            line.split_whitespace()
                .skip(1)
                .any(|flag| flag.starts_with('-') && flag.contains('e'))
        });
    Script {
        commands: tokenizer.finish(),
        errexit_from_interpreter,
    }
}

/// The raw commands, before keywords are taken off.
struct Tokenizer {
    characters: Vec<char>,
    index: usize,
    line: usize,
    column: usize,
    origin: Origin,
    word: Option<Word>,
    current: Vec<Word>,
    before: Connector,
    raw: Vec<(Vec<Word>, Connector, Connector)>,
    heredocs: Vec<String>,
}

impl Tokenizer {
    fn new(text: &str, origin: Origin) -> Self {
        Self {
            characters: text.chars().collect(),
            index: 0,
            line: 1,
            column: 1,
            origin,
            word: None,
            current: Vec::new(),
            before: Connector::End,
            raw: Vec::new(),
            heredocs: Vec::new(),
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.characters.get(self.index + ahead).copied()
    }

    fn advance(&mut self) -> Option<char> {
        let character = self.peek(0)?;
        self.index += 1;
        if character == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(character)
    }

    /// The word being built, started at the current position if none is.
    fn word(&mut self) -> &mut Word {
        let (line, column) = self.origin.map(self.line, self.column);
        self.word.get_or_insert_with(|| Word {
            raw: String::new(),
            value: String::new(),
            line,
            column,
        })
    }

    fn push(&mut self, character: char, literal: bool) {
        let word = self.word();
        word.raw.push(character);
        if literal {
            word.value.push(character);
        }
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            self.current.push(word);
        }
    }

    fn end_command(&mut self, after: Connector) {
        self.end_word();
        let words = std::mem::take(&mut self.current);
        if !words.is_empty() {
            self.raw.push((words, self.before, after));
        }
        self.before = after;
    }

    fn run(&mut self) {
        while let Some(character) = self.peek(0) {
            match character {
                ' ' | '\t' | '\r' => {
                    self.advance();
                    self.end_word();
                }
                '\n' => {
                    self.advance();
                    self.end_command(Connector::End);
                    self.skip_heredocs();
                }
                '\\' => self.backslash(),
                '#' if self.word.is_none() => self.skip_comment(),
                '\'' => self.single_quoted(),
                '"' => self.double_quoted(),
                '`' => self.nested('`', '`'),
                '$' if matches!(self.peek(1), Some('(') | Some('{')) => {
                    let close = if self.peek(1) == Some('(') { ')' } else { '}' };
                    self.push('$', true);
                    self.advance();
                    let open = self.peek(0).unwrap_or('(');
                    self.nested(open, close);
                }
                ';' => {
                    self.advance();
                    self.end_command(Connector::End);
                }
                '|' | '&' => self.operator(character),
                '<' if self.peek(1) == Some('<') && self.peek(2) != Some('<') => self.heredoc(),
                _ => {
                    self.word();
                    self.advance();
                    self.push(character, true);
                }
            }
        }
        self.end_command(Connector::End);
    }

    fn backslash(&mut self) {
        self.advance();
        match self.advance() {
            Some('\n') => {}
            Some(escaped) => {
                // The word starts at the backslash, one column back.
                let (line, column) = self.origin.map(self.line, self.column.saturating_sub(2).max(1));
                self.word.get_or_insert_with(|| Word {
                    raw: String::new(),
                    value: String::new(),
                    line,
                    column,
                });
                self.push('\\', false);
                self.push(escaped, true);
            }
            None => self.push('\\', true),
        }
    }

    fn skip_comment(&mut self) {
        while self.peek(0).is_some_and(|character| character != '\n') {
            self.advance();
        }
    }

    fn single_quoted(&mut self) {
        self.word();
        self.advance();
        self.push('\'', false);
        while let Some(character) = self.advance() {
            if character == '\'' {
                self.push('\'', false);
                return;
            }
            self.push(character, true);
        }
    }

    fn double_quoted(&mut self) {
        self.word();
        self.advance();
        self.push('"', false);
        while let Some(character) = self.advance() {
            match character {
                '"' => {
                    self.push('"', false);
                    return;
                }
                '\\' if matches!(self.peek(0), Some('"') | Some('\\') | Some('$') | Some('`')) => {
                    self.push('\\', false);
                    let escaped = self.advance().unwrap_or('\\');
                    self.push(escaped, true);
                }
                '\\' if self.peek(0) == Some('\n') => {
                    self.advance();
                }
                _ => self.push(character, true),
            }
        }
    }

    /// `$(...)`, `${...}` or a backtick command, kept whole inside the word.
    fn nested(&mut self, open: char, close: char) {
        self.word();
        self.advance();
        self.push(open, true);
        let mut depth = 1;
        while let Some(character) = self.advance() {
            self.push(character, true);
            if character == close && (open == close || depth == 1) {
                return;
            }
            if open != close {
                if character == open {
                    depth += 1;
                } else if character == close {
                    depth -= 1;
                }
            }
        }
    }

    fn operator(&mut self, character: char) {
        let doubled = self.peek(1) == Some(character);
        let in_redirection = self.word.as_ref().is_some_and(|word| word.raw.ends_with(['>', '<']));
        if character == '&' && (in_redirection || self.peek(1) == Some('>')) {
            self.word();
            self.advance();
            self.push('&', true);
            return;
        }
        self.advance();
        if doubled {
            self.advance();
        }
        let connector = match (character, doubled) {
            ('|', true) => Connector::Or,
            ('|', false) => Connector::Pipe,
            ('&', true) => Connector::And,
            _ => Connector::Background,
        };
        self.end_command(connector);
    }

    /// `<<WORD`, `<<-WORD`, `<<'WORD'`: the body, from the next line to WORD, is skipped.
    fn heredoc(&mut self) {
        self.end_word();
        self.advance();
        self.advance();
        if self.peek(0) == Some('-') {
            self.advance();
        }
        while self
            .peek(0)
            .is_some_and(|character| character == ' ' || character == '\t')
        {
            self.advance();
        }
        let mut delimiter = String::new();
        while let Some(character) = self.peek(0) {
            if character.is_whitespace() || matches!(character, ';' | '|' | '&' | '<' | '>') {
                break;
            }
            self.advance();
            if !matches!(character, '\'' | '"' | '\\') {
                delimiter.push(character);
            }
        }
        self.heredocs.push(delimiter);
    }

    fn skip_heredocs(&mut self) {
        for delimiter in std::mem::take(&mut self.heredocs) {
            while self.peek(0).is_some() {
                let mut line = String::new();
                while let Some(character) = self.advance() {
                    if character == '\n' {
                        break;
                    }
                    line.push(character);
                }
                if line.trim() == delimiter {
                    break;
                }
            }
        }
    }

    /// Takes keywords off each raw command and tracks the nesting of bodies.
    fn finish(self) -> Vec<Command> {
        let mut depth: usize = 0;
        let mut commands = Vec::new();
        for (mut words, before, after) in self.raw {
            let mut condition = false;
            let mut opens = 0;
            while let Some(first) = words.first() {
                match first.raw.as_str() {
                    "if" | "while" | "until" => {
                        condition = true;
                        opens += 1;
                    }
                    "elif" => condition = true,
                    "then" | "else" | "do" | "!" | "{" => {}
                    "fi" | "done" | "esac" | "}" => depth = depth.saturating_sub(1),
                    "for" | "case" => {
                        opens += 1;
                        words.clear();
                        break;
                    }
                    _ => break,
                }
                words.remove(0);
            }
            while words
                .last()
                .is_some_and(|word| matches!(word.raw.as_str(), "fi" | "done" | "esac" | "}"))
            {
                words.pop();
                depth = depth.saturating_sub(1);
            }
            if !words.is_empty() {
                commands.push(Command {
                    words,
                    before,
                    after,
                    condition,
                    depth,
                });
            }
            depth += opens;
        }
        commands
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(command: &Command) -> Vec<&str> {
        command.words.iter().map(|word| word.value.as_str()).collect()
    }

    #[test]
    fn quotes_continuations_and_comments_keep_their_positions() {
        let script = parse(
            "# comment\nmongodump \\\n    --out \"/backup/$NAME\" # trailing\necho 'a b'\n",
            Origin::FILE,
        );
        assert_eq!(script.commands.len(), 2);
        assert_eq!(values(&script.commands[0]), ["mongodump", "--out", "/backup/$NAME"]);
        let out = &script.commands[0].words[1];
        assert_eq!((out.line, out.column), (3, 5));
        assert_eq!(values(&script.commands[1]), ["echo", "a b"]);
    }

    #[test]
    fn connectors_conditions_and_bodies_are_told_apart() {
        let script = parse(
            "if mongodump --out x; then\n  echo ok\nfi\nmongodump 2>&1 || exit 1\ncat <<EOF | x\nmongodump --bogus\nEOF\n",
            Origin::FILE,
        );
        let commands = &script.commands;
        assert!(commands[0].condition);
        assert_eq!(commands[1].depth, 1);
        assert_eq!(values(&commands[2]), ["mongodump", "2>&1"]);
        assert_eq!(commands[2].after, Connector::Or);
        assert_eq!(commands[2].depth, 0);
        assert!(
            commands.iter().all(|command| !values(command).contains(&"--bogus")),
            "{commands:?}"
        );
    }

    #[test]
    fn an_origin_maps_fragment_positions_to_the_file() {
        let origin = Origin {
            line: 10,
            column: 15,
            indent: 14,
        };
        assert_eq!(origin.map(1, 1), (10, 15));
        assert_eq!(origin.map(3, 2), (12, 16));
    }
}
