//! Walks a parsed (spanned) scenario document against the schema and the
//! rules between keys, collecting every problem with its location instead
//! of stopping at the first one as serde would.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::Collector;
use super::model::{DisasterAction, MAX_NODES, StepKindName};
use super::schema::{self, Field, Kind};
use crate::measure::format_duration;
use crate::provider::ProviderKind;
use crate::uri::{MongoUri, redact};

pub(crate) use super::duration::parse_duration;

/// Checks a whole document; problems go to `out`.
pub(crate) fn check_document(root: &Spanned<DeTable<'_>>, out: &mut Collector<'_>) {
    let mut checker = Checker { out };
    checker.table(root.get_ref(), root.span(), "", schema::ROOT, "the top level");
    checker.rules(root.get_ref());
    checker.probe_rules(root.get_ref());
    if let Some((_, value)) = entry(root.get_ref(), "forecast")
        && let Some(table) = value.get_ref().as_table()
    {
        checker.forecast_rules(table, value.span());
    }
    checker.copy_step_rules(root.get_ref());
    checker.managed_step_rules(root.get_ref());
}

struct Checker<'c, 'a> {
    out: &'c mut Collector<'a>,
}

/// One step's table, where it is and its key path, for the rules between
/// its keys.
struct StepAt<'t, 'i> {
    /// The step's keys.
    table: &'t DeTable<'i>,
    /// The whole step, where a missing key is reported.
    span: Range<usize>,
    /// `steps[N]`.
    path: &'t str,
}

/// A key that holds a secret of an object store (or looks like one).
fn is_credential_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "access_key", "password", "token", "aws_"]
        .iter()
        .any(|part| name.contains(part))
}

/// `parent.key`, or `key` at the top.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The entry `key` of `table`.
fn entry<'t, 'i>(
    table: &'t DeTable<'i>,
    key: &str,
) -> Option<(&'t Spanned<std::borrow::Cow<'i, str>>, &'t Spanned<DeValue<'i>>)> {
    table.iter().find(|(name, _)| name.get_ref() == key)
}

fn string_at<'t>(table: &'t DeTable<'_>, key: &str) -> Option<&'t str> {
    entry(table, key).and_then(|(_, value)| value.get_ref().as_str())
}

fn bool_at(table: &DeTable<'_>, key: &str) -> Option<bool> {
    entry(table, key).and_then(|(_, value)| value.get_ref().as_bool())
}

/// The span of the key `key` of `table`, if present.
fn key_span(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
    entry(table, key).map(|(name, _)| name.span())
}

/// The closest of `candidates` to `unknown`, if close enough to be a typo.
pub(crate) fn closest<'n>(unknown: &str, candidates: impl IntoIterator<Item = &'n str>) -> Option<&'n str> {
    let limit = (unknown.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(unknown, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// A value as shown in a message: strings quoted (credentials redacted,
/// long ones cut), numbers as written, anything else by its type.
fn shown(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => {
            let text = redact(text);
            let mut cut: String = text.chars().take(40).collect();
            if cut.len() < text.len() {
                cut.push('…');
            }
            format!("{cut:?}")
        }
        DeValue::Integer(integer) => integer.to_string(),
        DeValue::Float(float) => float.to_string(),
        DeValue::Boolean(flag) => flag.to_string(),
        other => article(other.type_str()),
    }
}

/// `an integer`, `a string`.
fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

fn integer_value(value: &DeValue<'_>) -> Option<i128> {
    let integer = value.as_integer()?;
    i128::from_str_radix(integer.as_str(), integer.radix()).ok()
}

/// What is wrong with a connection string written in a scenario: it does
/// not parse, or it holds a password.
fn uri_problem(text: &str) -> Option<(String, Option<String>)> {
    match MongoUri::parse(text) {
        Err(error) => Some((error.to_string(), None)),
        Ok(uri) if uri.has_password() => Some((
            format!(
                "{uri} holds a password in the scenario text, where version control and every \
                 copy of the file keep it"
            ),
            Some(
                "name the connection string instead: `uri_env = \"VARIABLE\"` (read from the \
                 environment) or `uri_file = \"PATH\"` (a file holding it)"
                    .into(),
            ),
        )),
        Ok(_) => None,
    }
}

/// Whether the scenario names an external deployment without the
/// scenario's opt-in to write there.
fn writes_refused(root: &DeTable<'_>) -> bool {
    let topology = entry(root, "topology").and_then(|(_, value)| value.get_ref().as_table());
    topology.and_then(|table| string_at(table, "provider")) == Some("external")
        && topology.and_then(|table| bool_at(table, "allow_destructive")) != Some(true)
}

/// A slug: 1 to 64 lowercase letters, digits, `-` or `_`, starting with
/// a letter or digit.
fn is_slug(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && text.len() <= 64
}

/// A MongoDB database name: 1 to 63 bytes, none of `/ \ . " $`, space or NUL.
fn is_database_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '.' | ' ' | '"' | '$' | '\0'))
}

fn one_of(names: &[&str]) -> String {
    format!("one of {}", names.join(", "))
}

impl Checker<'_, '_> {
    fn push(&mut self, span: Range<usize>, path: &str, message: String, hint: Option<String>) {
        self.out.push(span, path, message, hint);
    }

    /// Checks the keys of one table: unknown keys, missing required keys,
    /// and each known key's value. `what` names the table in messages.
    fn table(&mut self, table: &DeTable<'_>, span: Range<usize>, path: &str, fields: &[Field], what: &str) {
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            match fields.iter().find(|field| field.name == name) {
                Some(field) => self.value(value, name, &join(path, name), field),
                None => self.unknown_key(key, path, fields, what),
            }
        }
        for field in fields.iter().filter(|field| field.required) {
            if entry(table, field.name).is_none() {
                self.missing(span.clone(), path, field);
            }
        }
    }

    fn unknown_key(&mut self, key: &Spanned<std::borrow::Cow<'_, str>>, path: &str, fields: &[Field], what: &str) {
        let name = key.get_ref().as_ref();
        if is_credential_key(name) {
            self.push(
                key.span(),
                &join(path, name),
                format!("`{name}` in {what}: credentials never go in a scenario file"),
                Some(
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or name a file with `credentials_file` or DRDRILL_S3_CREDENTIALS_FILE"
                        .into(),
                ),
            );
            return;
        }
        let names: Vec<&str> = fields.iter().map(|field| field.name).collect();
        match closest(name, names.iter().copied()) {
            Some(suggestion) => self.push(
                key.span(),
                &join(path, name),
                format!("unknown key `{name}` in {what}; did you mean `{suggestion}`?"),
                None,
            ),
            None => self.push(
                key.span(),
                &join(path, name),
                format!("unknown key `{name}` in {what}"),
                Some(format!("valid keys: {}", names.join(", "))),
            ),
        }
    }

    fn missing(&mut self, span: Range<usize>, path: &str, field: &Field) {
        let hint = match field.kind {
            Kind::Choice(names) => one_of(names),
            _ => format!("add `{}`", field.example),
        };
        let message = match field.kind {
            Kind::Table(_) => format!("missing table `[{}]`", field.name),
            Kind::Steps => "missing `[[steps]]`: a drill needs at least one step".to_owned(),
            Kind::NamedTables(_) => format!("missing table `[{}.NAME]`", field.name),
            _ => format!("missing field `{}`", field.name),
        };
        self.push(span, path, message, Some(hint));
    }

    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, path: &str, expected: &str, field: &Field) {
        self.push(
            value.span(),
            path,
            format!("expected {expected}, found {}", shown(value.get_ref())),
            Some(format!("for example `{}`", field.example)),
        );
    }

    /// Checks one known key's value against its field's kind.
    fn value(&mut self, value: &Spanned<DeValue<'_>>, key: &str, path: &str, field: &Field) {
        let span = value.span();
        match field.kind {
            Kind::Text => self.string(value, path, field, "a string", |text| {
                text.trim()
                    .is_empty()
                    .then(|| (format!("`{key}` must not be empty"), None))
            }),
            Kind::Slug => self.string(value, path, field, "a string", |text| {
                (!is_slug(text)).then(|| {
                    (
                        format!("invalid {key} {}", shown(value.get_ref())),
                        Some(
                            "use 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit".into(),
                        ),
                    )
                })
            }),
            Kind::DatabaseName => self.string(value, path, field, "a string", |text| {
                (!is_database_name(text)).then(|| {
                    (
                        format!("invalid database name {}", shown(value.get_ref())),
                        Some("1 to 63 bytes, none of / \\ . \" $ or space".into()),
                    )
                })
            }),
            Kind::Uri => self.string(value, path, field, "a connection string", uri_problem),
            Kind::Bool => {
                if value.get_ref().as_bool().is_none() {
                    self.wrong_type(value, path, "true or false", field);
                }
            }
            Kind::Integer { min, max } => self.integer(value, key, path, field, min, max),
            Kind::Duration { min, max } => self.duration(value, key, path, field, min, max),
            Kind::Choice(names) => self.choice(value, key, path, names),
            Kind::TextList => self.text_list(value, path, field),
            Kind::WriteConcern => match value.get_ref() {
                DeValue::String(text) if text == "majority" => {}
                DeValue::Integer(_) => self.integer(value, key, path, field, 1, MAX_NODES as i64),
                _ => self.push(
                    span,
                    path,
                    format!("invalid write concern {}", shown(value.get_ref())),
                    Some("\"majority\" or a number of nodes from 1 to 7".into()),
                ),
            },
            Kind::NodeTarget => match value.get_ref() {
                DeValue::String(text) if text == "primary" => {}
                DeValue::Integer(_) => self.integer(value, key, path, field, 0, MAX_NODES as i64 - 1),
                _ => self.push(
                    span,
                    path,
                    format!("invalid node {}", shown(value.get_ref())),
                    Some("a node index from 0 to 6, or \"primary\"".into()),
                ),
            },
            Kind::Table(fields) => match value.get_ref().as_table() {
                Some(table) => self.table(table, span, path, fields, &format!("[{path}]")),
                None => self.wrong_type(value, path, "a table", field),
            },
            Kind::Steps => self.steps(value, path, field),
            Kind::TableList(fields) => self.table_list(value, path, field, fields),
            Kind::Filter => {
                if value.get_ref().as_table().is_none() {
                    self.wrong_type(value, path, "a table", field);
                }
            }
            Kind::ChoiceList(names) => self.choice_list(value, key, path, field, names),
            Kind::NamedTables(fields) => self.named_tables(value, path, field, fields),
        }
    }

    /// An array of tables (`[[probes]]`), each checked against `fields`.
    fn table_list(&mut self, value: &Spanned<DeValue<'_>>, path: &str, field: &Field, fields: &[Field]) {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, path, "an array of tables", field);
            return;
        };
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            match item.get_ref().as_table() {
                Some(table) => self.table(table, item.span(), &item_path, fields, &format!("[[{path}]]")),
                None => self.wrong_type(item, &item_path, "a table", field),
            }
        }
    }

    /// An array of strings, each one of `names`.
    fn choice_list(&mut self, value: &Spanned<DeValue<'_>>, key: &str, path: &str, field: &Field, names: &[&str]) {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, path, "an array of strings", field);
            return;
        };
        for (index, item) in items.iter().enumerate() {
            self.choice(item, key, &format!("{path}[{index}]"), names);
        }
    }

    /// `[stores.NAME]`-like tables: each key a slug naming a table of `fields`.
    fn named_tables(&mut self, value: &Spanned<DeValue<'_>>, path: &str, field: &Field, fields: &[Field]) {
        let Some(tables) = value.get_ref().as_table() else {
            self.wrong_type(value, path, "a table", field);
            return;
        };
        for (key, inner) in tables.iter() {
            let name = key.get_ref().as_ref();
            let inner_path = join(path, name);
            if !is_slug(name) {
                self.push(
                    key.span(),
                    &inner_path,
                    format!("invalid name `{name}` for [{path}]"),
                    Some("use lowercase letters, digits, `-` or `_`".into()),
                );
            }
            match inner.get_ref().as_table() {
                Some(table) => self.table(table, inner.span(), &inner_path, fields, &format!("[{inner_path}]")),
                None => self.wrong_type(inner, &inner_path, "a table", field),
            }
        }
    }

    /// A string value: `problem` says what is wrong with the text (a
    /// message and a hint), if anything; a value of another type is
    /// reported as not `expected`.
    fn string(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        path: &str,
        field: &Field,
        expected: &str,
        problem: impl FnOnce(&str) -> Option<(String, Option<String>)>,
    ) {
        match value.get_ref().as_str() {
            Some(text) => {
                if let Some((message, hint)) = problem(text) {
                    self.push(value.span(), path, message, hint);
                }
            }
            None => self.wrong_type(value, path, expected, field),
        }
    }

    /// A duration string between `min` and `max` (the bounds).
    fn duration(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        key: &str,
        path: &str,
        field: &Field,
        min: Duration,
        max: Duration,
    ) {
        let span = value.span();
        let Some(text) = value.get_ref().as_str() else {
            self.push(
                span,
                path,
                format!("expected a duration string, found {}", shown(value.get_ref())),
                Some(format!("durations are strings with a unit: `{}`", field.example)),
            );
            return;
        };
        match parse_duration(text) {
            Ok(duration) if duration < min => self.push(
                span,
                path,
                format!("`{key} = {text:?}` is too short: the least is {}", format_duration(min)),
                duration
                    .is_zero()
                    .then(|| format!("a zero duration cannot be meant here: `{}`", field.example)),
            ),
            Ok(duration) if duration > max => self.push(
                span,
                path,
                format!("`{key} = {text:?}` is too long: the limit is {}", format_duration(max)),
                None,
            ),
            Ok(_) => {}
            Err(error) => self.push(
                span,
                path,
                format!("`{key} = {text:?}`: invalid duration: {error}"),
                Some(error.hint().into()),
            ),
        }
    }

    /// One of `names`, with the closest suggested for a typo.
    fn choice(&mut self, value: &Spanned<DeValue<'_>>, key: &str, path: &str, names: &[&str]) {
        match value.get_ref().as_str() {
            Some(text) if names.contains(&text) => {}
            Some(text) => {
                let message = match closest(text, names.iter().copied()) {
                    Some(suggestion) => format!("unknown {key} {text:?}; did you mean {suggestion:?}?"),
                    None => format!("unknown {key} {text:?}"),
                };
                self.push(value.span(), path, message, Some(one_of(names)));
            }
            None => self.push(
                value.span(),
                path,
                format!("expected a string, found {}", shown(value.get_ref())),
                Some(one_of(names)),
            ),
        }
    }

    /// An array of non-empty strings.
    fn text_list(&mut self, value: &Spanned<DeValue<'_>>, path: &str, field: &Field) {
        let Some(items) = value.get_ref().as_array() else {
            self.wrong_type(value, path, "an array of strings", field);
            return;
        };
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            match item.get_ref().as_str() {
                Some(text) if !text.trim().is_empty() => {}
                Some(_) => self.push(item.span(), &item_path, "empty string".into(), None),
                None => self.wrong_type(item, &item_path, "a string", field),
            }
        }
    }

    /// The `[[steps]]` array: at least one step, each checked.
    fn steps(&mut self, value: &Spanned<DeValue<'_>>, path: &str, field: &Field) {
        let Some(steps) = value.get_ref().as_array() else {
            self.wrong_type(value, path, "an array of tables", field);
            return;
        };
        if steps.is_empty() {
            self.push(
                value.span(),
                path,
                "no steps: a drill needs at least one step".into(),
                None,
            );
        }
        for (index, step) in steps.iter().enumerate() {
            self.step(step, &format!("{path}[{index}]"));
        }
    }

    fn integer(&mut self, value: &Spanned<DeValue<'_>>, key: &str, path: &str, field: &Field, min: i64, max: i64) {
        if let Some(integer) = value.get_ref().as_integer()
            && integer_value(value.get_ref()).is_none()
        {
            self.push(
                value.span(),
                path,
                format!("`{key} = {integer}` is out of range: expected {min} to {max}"),
                None,
            );
            return;
        }
        match integer_value(value.get_ref()) {
            Some(number) if number >= i128::from(min) && number <= i128::from(max) => {}
            Some(number) => self.push(
                value.span(),
                path,
                format!("`{key} = {number}` is out of range: expected {min} to {max}"),
                None,
            ),
            None => self.wrong_type(value, path, &format!("an integer from {min} to {max}"), field),
        }
    }

    /// Checks one step: its `kind` decides which keys it may have; a step
    /// without a usable kind is checked against every step key so that its
    /// other problems are still reported.
    fn step(&mut self, step: &Spanned<DeValue<'_>>, path: &str) {
        let Some(table) = step.get_ref().as_table() else {
            self.push(
                step.span(),
                path,
                format!("expected a table, found {}", shown(step.get_ref())),
                Some("write each step as a `[[steps]]` table".into()),
            );
            return;
        };
        let kind = string_at(table, "kind").and_then(schema::step_kind);
        let fields: Vec<Field> = match kind {
            Some(kind) => [schema::STEP_COMMON, schema::step_fields(kind)].concat(),
            None => schema::all_step_fields(),
        };
        let what = match kind {
            Some(kind) => format!("a {kind} step"),
            None => "a step".to_owned(),
        };
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if let Some(field) = fields.iter().find(|field| field.name == name) {
                self.value(value, name, &join(path, name), field);
                continue;
            }
            // A key of another step kind is a misplaced key, not a typo.
            let owners = schema::step_kinds_with_key(name);
            if owners.is_empty() {
                self.unknown_key(key, path, &fields, &what);
            } else {
                self.push(
                    key.span(),
                    &join(path, name),
                    format!("`{name}` is not a key of {what}"),
                    Some(format!("`{name}` belongs to {} steps", owners.join(", "))),
                );
            }
        }
        for field in fields.iter().filter(|field| field.required) {
            if entry(table, field.name).is_none() {
                self.missing(step.span(), path, field);
            }
        }
    }

    /// The rules between keys, checked on values that have the right type
    /// (a wrong type was reported already).
    fn rules(&mut self, root: &DeTable<'_>) {
        let topology = entry(root, "topology").and_then(|(_, value)| value.get_ref().as_table());
        let external = topology.and_then(|table| string_at(table, "provider")) == Some("external");
        let allow_destructive = topology.and_then(|table| bool_at(table, "allow_destructive")) == Some(true);
        let nodes = topology
            .and_then(|table| entry(table, "nodes"))
            .map(|(_, value)| integer_value(value.get_ref()))
            .unwrap_or(Some(1))
            // An out-of-range count was reported; do not judge node indexes by it.
            .filter(|count| (1..=i128::from(MAX_NODES)).contains(count));
        let replica_set = topology.and_then(|table| bool_at(table, "replica_set")) == Some(true);
        if let Some((_, value)) = entry(root, "topology")
            && let Some(table) = topology
        {
            self.topology_rules(table, value.span(), external);
        }

        let Some((_, steps_value)) = entry(root, "steps") else {
            return;
        };
        let Some(steps) = steps_value.get_ref().as_array() else {
            return;
        };
        let mut seen_backup = false;
        // A step whose kind is unusable could have been the backup: do not
        // add a rule violation on top of the problem already reported.
        let mut seen_unknown_kind = false;
        let mut seen_disaster = false;
        let mut kinds_present = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let path = format!("steps[{index}]");
            let Some(table) = step.get_ref().as_table() else {
                continue;
            };
            let Some(kind) = string_at(table, "kind").and_then(schema::step_kind) else {
                seen_unknown_kind = true;
                continue;
            };
            kinds_present.push(kind.as_str());
            self.step_rules(table, step.span(), &path, kind, nodes, replica_set);
            match kind {
                StepKindName::Backup => seen_backup = true,
                StepKindName::Disaster => {
                    if seen_disaster {
                        self.push(
                            step.span(),
                            &path,
                            "a second disaster step: a drill has one disaster instant T_d".into(),
                            Some(second_disaster_hint(steps, index)),
                        );
                    }
                    seen_disaster = true;
                }
                StepKindName::Restore if !seen_backup && !seen_unknown_kind && string_at(table, "store").is_none() => {
                    self.push(
                        step.span(),
                        &path,
                        "a restore step with no backup step before it".into(),
                        Some("add a `kind = \"backup\"` step earlier".into()),
                    )
                }
                _ => {}
            }
            // A restore into the ephemeral node (an external drill's default)
            // leaves the source alone; only one into the source itself is
            // destructive there.
            let destructive = match kind {
                StepKindName::Disaster => true,
                StepKindName::Restore => string_at(table, "target") == Some("same-node"),
                _ => false,
            };
            if destructive && external && !allow_destructive {
                self.push(
                    step.span(),
                    &path,
                    format!("a {kind} step against an external deployment needs the scenario's opt-in"),
                    Some("set `allow_destructive = true` in [topology]; the command line must opt in too".into()),
                );
            }
        }

        self.store_rules(root, steps);
        self.stream_rule(steps);
        if let Some((_, expect)) = entry(root, "expect")
            && let Some(table) = expect.get_ref().as_table()
            && let Some((_, fail)) = entry(table, "fail")
            && let Some(check) = fail.get_ref().as_str()
            && schema::step_kind(check).is_some()
            && !kinds_present.contains(&check)
        {
            self.push(
                fail.span(),
                "expect.fail",
                format!("expects the {check} step to fail, but the scenario has no {check} step"),
                None,
            );
        }
    }

    /// `[[probes]]`: each kind's own keys (and only those), a range with
    /// its ends in order, names that tell the checks apart; `[abort]`'s
    /// `probe_failures` needs a probe sampled during the drill.
    fn probe_rules(&mut self, root: &DeTable<'_>) {
        let probes = entry(root, "probes").and_then(|(_, value)| value.get_ref().as_array());
        let mut names: Vec<&str> = Vec::new();
        let mut sampled_during = false;
        for (index, probe) in probes.into_iter().flatten().enumerate() {
            let Some(table) = probe.get_ref().as_table() else {
                continue;
            };
            let path = format!("probes[{index}]");
            if let Some(name) = string_at(table, "name") {
                if names.contains(&name) {
                    let span = entry(table, "name").map_or(probe.span(), |(_, value)| value.span());
                    self.push(
                        span,
                        &join(&path, "name"),
                        format!("a second probe named {name:?}: its checks would share names"),
                        None,
                    );
                }
                names.push(name);
            }
            sampled_during |= match entry(table, "phases").and_then(|(_, value)| value.get_ref().as_array()) {
                Some(phases) => phases.iter().any(|phase| phase.get_ref().as_str() == Some("during")),
                None => true,
            };
            if let Some(kind) = string_at(table, "kind") {
                self.probe_kind_rules(table, probe.span(), &path, kind);
                if kind == "canary" && writes_refused(root) {
                    self.push(
                        probe.span(),
                        &path,
                        "a canary probe writes to the source, and this external deployment is only read".into(),
                        Some("set `allow_destructive = true` in [topology] (and --allow-destructive), or use a count or latency probe".into()),
                    );
                }
            }
        }
        if let Some((_, abort)) = entry(root, "abort")
            && let Some(table) = abort.get_ref().as_table()
            && let Some(span) = key_span(table, "probe_failures")
            && !sampled_during
        {
            self.push(
                span,
                "abort.probe_failures",
                "`probe_failures` can never fire: no probe is sampled during the drill".into(),
                Some("add a `[[probes]]` entry whose `phases` include \"during\"".into()),
            );
        }
    }

    /// The keys one probe kind needs and takes.
    fn probe_kind_rules(&mut self, table: &DeTable<'_>, span: Range<usize>, path: &str, kind: &str) {
        let (needed, taken): (&[&str], &[&str]) = match kind {
            "count" => (&["collection"], &["collection", "filter", "min", "max"]),
            "latency" => (&["collection", "p99"], &["collection", "filter", "p99", "window"]),
            "canary" => (&[], &[]),
            _ => return,
        };
        for key in needed {
            if entry(table, key).is_none() {
                self.push(span.clone(), path, format!("a {kind} probe needs `{key}`"), None);
            }
        }
        for key in ["collection", "filter", "min", "max", "p99", "window"] {
            if !taken.contains(&key)
                && let Some(key_span) = key_span(table, key)
            {
                self.push(
                    key_span,
                    &join(path, key),
                    format!("`{key}` is not a key of a {kind} probe"),
                    None,
                );
            }
        }
        let bound = |key| entry(table, key).and_then(|(_, value)| integer_value(value.get_ref()));
        if let (Some(min), Some(max)) = (bound("min"), bound("max"))
            && min > max
            && let Some(max_span) = entry(table, "max").map(|(_, value)| value.span())
        {
            self.push(
                max_span,
                &join(path, "max"),
                format!("`max = {max}` is below `min = {min}`: no count can hold"),
                None,
            );
        }
    }

    /// `failover`, `snapshot` and `restore-snapshot` drive the PostgreSQL
    /// storage of the managed provider: on any other provider they are a
    /// located error at validation, not a failed step at run time.
    fn managed_step_rules(&mut self, root: &DeTable<'_>) {
        let topology = entry(root, "topology").and_then(|(_, value)| value.get_ref().as_table());
        // A missing provider was reported already.
        let Some(provider) = topology.and_then(|table| string_at(table, "provider")) else {
            return;
        };
        if provider == "managed" {
            return;
        }
        let steps = entry(root, "steps").and_then(|(_, value)| value.get_ref().as_array());
        for (index, step) in steps.into_iter().flatten().enumerate() {
            let Some(table) = step.get_ref().as_table() else {
                continue;
            };
            if let Some(kind @ (StepKindName::Failover | StepKindName::Snapshot | StepKindName::RestoreSnapshot)) =
                string_at(table, "kind").and_then(schema::step_kind)
            {
                let span = key_span(table, "kind").unwrap_or(step.span());
                self.push(
                    span,
                    &format!("steps[{index}].kind"),
                    format!(
                        "a {kind} step needs provider = \"managed\" (it drives the PostgreSQL storage under FerretDB); this scenario's provider is {provider:?}"
                    ),
                    Some("set `provider = \"managed\"` in [topology], or use backup/restore steps".into()),
                );
            }
        }
    }

    /// `mask` and `pii` work on a copy: a restore into a fresh node must
    /// come before them (the source is never masked). An external
    /// deployment's restore goes into a fresh node unless it names a target.
    fn copy_step_rules(&mut self, root: &DeTable<'_>) {
        let steps = entry(root, "steps").and_then(|(_, value)| value.get_ref().as_array());
        let topology = entry(root, "topology").and_then(|(_, value)| value.get_ref().as_table());
        let external = topology.and_then(|table| string_at(table, "provider")) == Some("external");
        // A step whose kind is unusable could have been the restore.
        let mut copy_made = false;
        for (index, step) in steps.into_iter().flatten().enumerate() {
            let Some(table) = step.get_ref().as_table() else {
                continue;
            };
            let kind = string_at(table, "kind");
            let target = string_at(table, "target");
            copy_made |= match kind.and_then(schema::step_kind) {
                Some(StepKindName::Restore) => target == Some("fresh-node") || (external && target.is_none()),
                Some(_) => false,
                None => true,
            };
            if let Some(kind @ (StepKindName::Mask | StepKindName::Pii)) = kind.and_then(schema::step_kind)
                && !copy_made
            {
                self.push(
                    step.span(),
                    &format!("steps[{index}]"),
                    format!(
                        "a {kind} step with no restore into a fresh node before it: {kind} works on a copy, never on the source"
                    ),
                    Some("add a `kind = \"restore\"` step with `target = \"fresh-node\"` earlier".into()),
                );
            }
        }
    }

    /// An external deployment is named exactly once: `uri` (no password),
    /// `uri_env` (a variable's name) or `uri_file` (a file's path).
    fn uri_source_rules(&mut self, table: &DeTable<'_>, header: Range<usize>, external: bool) {
        let path = "topology";
        let given: Vec<&str> = ["uri", "uri_env", "uri_file"]
            .into_iter()
            .filter(|key| entry(table, key).is_some())
            .collect();
        if external && given.is_empty() {
            self.push(
                header,
                path,
                "missing field `uri`: an external deployment is named by its URI".into(),
                Some(
                    "add `uri_env = \"VARIABLE\"` or `uri_file = \"PATH\"` for a URI with a password, \
                     else `uri = \"mongodb://host:27017/\"`"
                        .into(),
                ),
            );
        }
        if external && given.len() > 1 {
            let second = given[1];
            if let Some(span) = key_span(table, second) {
                self.push(
                    span,
                    &join(path, second),
                    format!("`{}` and `{second}` both name the deployment", given[0]),
                    Some("keep one of uri, uri_env and uri_file".into()),
                );
            }
        }
        if let Some((_, name)) = entry(table, "uri_env")
            && let Some(text) = name.get_ref().as_str()
            && !is_variable_name(text)
        {
            self.push(
                name.span(),
                "topology.uri_env",
                format!("{text:?} is not an environment variable's name"),
                Some("letters, digits and `_`, not starting with a digit, e.g. `DRDRILL_SOURCE_URI`".into()),
            );
        }
    }

    /// `[forecast]` names the production size exactly once.
    fn forecast_rules(&mut self, table: &DeTable<'_>, header: Range<usize>) {
        let given: Vec<&str> = ["documents", "bytes", "uri_env"]
            .into_iter()
            .filter(|key| entry(table, key).is_some())
            .collect();
        match given.as_slice() {
            [] => self.push(
                header,
                "forecast",
                "missing field `documents`: the forecast needs the production size".into(),
                Some(
                    "add `documents = 1000000`, `bytes = 500000000000`, or `uri_env` (the name of a variable holding the URI) to read \
                     dbStats from the production deployment"
                        .into(),
                ),
            ),
            [first, second, ..] => {
                if let Some(span) = key_span(table, second) {
                    self.push(
                        span,
                        &join("forecast", second),
                        format!("`{first}` and `{second}` both give the production size"),
                        Some("keep one of documents, bytes and uri_env".into()),
                    );
                }
            }
            [_] => {}
        }
        if let Some((_, name)) = entry(table, "uri_env")
            && let Some(text) = name.get_ref().as_str()
            && !is_variable_name(text)
        {
            self.push(
                name.span(),
                "forecast.uri_env",
                format!("{text:?} is not an environment variable's name"),
                Some("letters, digits and `_`, not starting with a digit".into()),
            );
        }
    }

    /// The managed provider's keys mean nothing to the other providers.
    fn managed_rule(&mut self, table: &DeTable<'_>) {
        if string_at(table, "provider") == Some("managed") {
            return;
        }
        for key in [
            "standbys",
            "replication",
            "synchronous_commit",
            "link_bandwidth",
            "link_latency",
        ] {
            if let Some(span) = key_span(table, key) {
                self.push(
                    span,
                    &join("topology", key),
                    format!("`{key}` applies only to provider = \"managed\""),
                    None,
                );
            }
        }
    }

    fn topology_rules(&mut self, table: &DeTable<'_>, header: Range<usize>, external: bool) {
        let path = "topology";
        self.uri_source_rules(table, header.clone(), external);
        if !external {
            for key in ["uri", "uri_env", "uri_file", "allow_destructive", "ephemeral"] {
                if let Some(span) = key_span(table, key) {
                    self.push(
                        span,
                        &join(path, key),
                        format!("`{key}` applies only to provider = \"external\""),
                        None,
                    );
                }
            }
        }
        if string_at(table, "engine") == Some("mongodb")
            && let Some(span) = key_span(table, "backend")
        {
            self.push(
                span,
                "topology.backend",
                "`backend` applies only to engine = \"ferretdb\"".into(),
                None,
            );
        }
        if bool_at(table, "replica_set") != Some(true)
            && let Some(span) = key_span(table, "arbiter")
        {
            self.push(
                span,
                "topology.arbiter",
                "`arbiter` applies only to a replica set (`replica_set = true`)".into(),
                None,
            );
        }
        self.arbiter_rule(table);
        self.managed_rule(table);
        if !(string_at(table, "engine") == Some("mongodb") && string_at(table, "provider") == Some("containers"))
            && let Some(span) = key_span(table, "image_tag")
        {
            self.push(
                span,
                "topology.image_tag",
                "`image_tag` applies only to provider = \"containers\" with engine = \"mongodb\" (the `mongo` image)"
                    .into(),
                None,
            );
        }
    }

    /// An arbiter is a node the provider starts: a provider that starts
    /// nothing (an existing deployment) cannot honour `arbiter = true`.
    fn arbiter_rule(&mut self, table: &DeTable<'_>) {
        let provider = string_at(table, "provider").map_or(Some(ProviderKind::default()), ProviderKind::from_name);
        if let Some(provider) = provider
            && !provider.starts_its_deployment()
            && bool_at(table, "replica_set") == Some(true)
            && let Some(span) = key_span(table, "arbiter")
        {
            self.push(
                span,
                "topology.arbiter",
                format!(
                    "`arbiter` cannot apply to provider = \"{provider}\": the harness does not start that deployment's members"
                ),
                Some("remove `arbiter`; the drill sees the existing replica set as it is".into()),
            );
        }
    }

    /// `collection` / `collections` of a disaster step: drop-collection and
    /// corrupt-documents need one of them (not both); tamper-backup may name
    /// the one collection whose file it damages; other actions take none.
    fn disaster_collection_rules(&mut self, table: &DeTable<'_>, span: Range<usize>, path: &str, action: Option<&str>) {
        let names_collections = matches!(action, Some("drop-collection" | "corrupt-documents"));
        let (single, list) = (key_span(table, "collection"), key_span(table, "collections"));
        if let (Some(_), Some(list_span)) = (&single, &list) {
            self.push(
                list_span.clone(),
                &join(path, "collections"),
                "both `collection` and `collections`: name the collections once".into(),
                Some("keep `collections = [...]` and remove `collection`".into()),
            );
            return;
        }
        if names_collections && single.is_none() && list.is_none() {
            self.push(
                span,
                path,
                format!(
                    "missing field `collection`: action {:?} needs a collection",
                    action.unwrap_or_default()
                ),
                Some("name one with `collection = \"a\"` or several with `collections = [\"a\", \"b\"]`".into()),
            );
        }
        // tamper-backup may name the collection whose file it damages
        // (default: configurations); it never requires one.
        if !names_collections
            && action != Some("tamper-backup")
            && let Some(single) = single
        {
            self.push(
                single,
                &join(path, "collection"),
                "`collection` applies only to action = \"drop-collection\", \"corrupt-documents\" or \"tamper-backup\""
                    .into(),
                None,
            );
        }
        if !names_collections && let Some(list) = list {
            self.push(
                list,
                &join(path, "collections"),
                "`collections` applies only to action = \"drop-collection\" or \"corrupt-documents\"".into(),
                None,
            );
        }
        if let Some((_, value)) = entry(table, "collections")
            && value.get_ref().as_array().is_some_and(|names| names.is_empty())
        {
            self.push(
                value.span(),
                &join(path, "collections"),
                "`collections` is empty: name at least one collection".into(),
                None,
            );
        }
    }

    fn step_rules(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        path: &str,
        kind: StepKindName,
        nodes: Option<i128>,
        replica_set: bool,
    ) {
        let step = StepAt { table, span, path };
        match kind {
            StepKindName::Backup => self.backup_step_rules(&step),
            StepKindName::Disaster => self.disaster_step_rules(&step, nodes, replica_set),
            StepKindName::Wait => self.wait_step_rules(&step),
            _ => {}
        }
    }

    /// A key that only makes sense with one value of another key: missing
    /// when `needed` (reported with `missing_message`), misplaced when not
    /// (it applies only to `condition`).
    fn requires(&mut self, step: &StepAt<'_, '_>, key: &str, needed: bool, missing_message: String, condition: &str) {
        match (needed, key_span(step.table, key)) {
            (true, None) => self.push(step.span.clone(), step.path, missing_message, None),
            (false, Some(key_span)) => self.push(
                key_span,
                &join(step.path, key),
                format!("`{key}` applies only to {condition}"),
                None,
            ),
            _ => {}
        }
    }

    /// `command` goes with the command engine; `run_in = "container"` with
    /// the tools engine and the archive format.
    fn backup_step_rules(&mut self, step: &StepAt<'_, '_>) {
        let table = step.table;
        let command = string_at(table, "engine") == Some("command");
        self.requires(
            step,
            "command",
            command,
            "missing field `command`: a backup step with engine = \"command\" runs a command".into(),
            "engine = \"command\"",
        );
        if string_at(table, "run_in") != Some("container") {
            return;
        }
        let run_in = key_span(table, "run_in").unwrap_or(step.span.clone());
        if string_at(table, "engine") != Some("tools") {
            self.push(
                run_in.clone(),
                &join(step.path, "run_in"),
                "run_in = \"container\" runs mongodump inside the node's container: it needs engine = \"tools\"".into(),
                None,
            );
        }
        if string_at(table, "format") != Some("archive") {
            self.push(
                run_in,
                &join(step.path, "run_in"),
                "run_in = \"container\" copies one file out of the container: it needs format = \"archive\"".into(),
                None,
            );
        }
    }

    /// The keys each disaster action takes, and what the topology must
    /// have for it (`nodes` and `replica_set` from `[topology]`).
    fn disaster_step_rules(&mut self, step: &StepAt<'_, '_>, nodes: Option<i128>, replica_set: bool) {
        let (table, path) = (step.table, step.path);
        let action = string_at(table, "action");
        self.disaster_collection_rules(table, step.span.clone(), path, action);
        self.requires(
            step,
            "command",
            action == Some("command"),
            "missing field `command`: action = \"command\" runs a command".into(),
            "action = \"command\"",
        );
        if action != Some("corrupt-documents")
            && let Some(key_span) = key_span(table, "documents")
        {
            self.push(
                key_span,
                &join(path, "documents"),
                "`documents` applies only to action = \"corrupt-documents\"".into(),
                None,
            );
        }
        self.disaster_node_rules(step, action, nodes, replica_set);
    }

    /// `node` goes with the node actions and names a node the topology
    /// has; `kill-majority` needs a replica set.
    fn disaster_node_rules(
        &mut self,
        step: &StepAt<'_, '_>,
        action: Option<&str>,
        nodes: Option<i128>,
        replica_set: bool,
    ) {
        let (table, path) = (step.table, step.path);
        let targets_node = action
            .and_then(|name| serde_json::from_value::<DisasterAction>(serde_json::Value::String(name.into())).ok())
            .is_some_and(DisasterAction::targets_node);
        if !targets_node && let Some(key_span) = key_span(table, "node") {
            self.push(
                key_span,
                &join(path, "node"),
                "`node` applies only to the node actions (kill-node, stop-node, pause-node, wipe-data, disconnect-node, remove-node)".into(),
                None,
            );
        }
        if action == Some("kill-majority") && !replica_set {
            self.push(
                key_span(table, "action").unwrap_or(step.span.clone()),
                &join(path, "action"),
                "action = \"kill-majority\" needs a replica set: set `replica_set = true` in [topology]".into(),
                None,
            );
        }
        if let Some((_, node)) = entry(table, "node")
            && let Some(index) = integer_value(node.get_ref())
            && let Some(nodes) = nodes
            && index >= nodes
            && index < i128::from(MAX_NODES)
        {
            self.push(
                node.span(),
                &join(path, "node"),
                format!("`node = {index}` but the topology has {nodes} node(s), numbered from 0"),
                None,
            );
        }
    }

    /// A wait's `timeout` is not shorter than its `duration`.
    fn wait_step_rules(&mut self, step: &StepAt<'_, '_>) {
        let table = step.table;
        let duration = string_at(table, "duration").and_then(|text| parse_duration(text).ok());
        let timeout = entry(table, "timeout").and_then(|(_, value)| {
            value
                .get_ref()
                .as_str()
                .and_then(|text| parse_duration(text).ok())
                .map(|t| (value.span(), t))
        });
        if let (Some(duration), Some((timeout_span, timeout))) = (duration, timeout)
            && timeout < duration
        {
            self.push(
                timeout_span,
                &join(step.path, "timeout"),
                format!(
                    "the timeout {} is shorter than the wait {}",
                    format_duration(timeout),
                    format_duration(duration)
                ),
                None,
            );
        }
    }
}

/// `NAME_1`: what a shell accepts as a variable's name.
fn is_variable_name(text: &str) -> bool {
    let mut characters = text.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// The hint under a second disaster step: two `drop-collection` steps (or
/// two `corrupt-documents`) are one disaster over several collections;
/// other pairs are two drills.
fn second_disaster_hint(steps: &[Spanned<DeValue<'_>>], second: usize) -> String {
    let action_of = |step: &Spanned<DeValue<'_>>| {
        step.get_ref()
            .as_table()
            .filter(|table| string_at(table, "kind") == Some("disaster"))
            .and_then(|table| string_at(table, "action"))
            .map(str::to_owned)
    };
    let first = steps[..second].iter().find_map(action_of);
    let this = action_of(&steps[second]);
    match (first.as_deref(), this.as_deref()) {
        (Some(first), Some(this)) if first == this && matches!(this, "drop-collection" | "corrupt-documents") => {
            format!("one `{this}` step takes several collections at one T_d: `collections = [\"a\", \"b\"]`")
        }
        _ => "split the drill into two scenarios".into(),
    }
}

// ---------------------------------------------------------------- stores

impl Checker<'_, '_> {
    /// `stream` belongs to a restore from a store: without `store` there is
    /// nothing to stream, and a key that does nothing must not look as if
    /// it did.
    fn stream_rule(&mut self, steps: &[Spanned<DeValue<'_>>]) {
        for (index, step) in steps.iter().enumerate() {
            let Some(table) = step.get_ref().as_table() else {
                continue;
            };
            if string_at(table, "kind") == Some("restore")
                && entry(table, "stream").is_some()
                && entry(table, "store").is_none()
            {
                let span = key_span(table, "stream").unwrap_or(step.span());
                self.push(
                    span,
                    &format!("steps[{index}].stream"),
                    "`stream` applies to a restore from a store, and this restore names none".to_owned(),
                    Some("add `store = \"NAME\"`, or remove `stream`".to_owned()),
                );
            }
        }
    }
}

impl Checker<'_, '_> {
    /// Every `[stores.NAME]` names exactly one of `url`, `folder` or
    /// `gateway`; every step's `store`, `from` and `to` names a declared
    /// store; `region-outage` hits a store the harness started.
    fn store_rules(&mut self, root: &DeTable<'_>, steps: &[Spanned<DeValue<'_>>]) {
        let stores = entry(root, "stores").and_then(|(_, value)| value.get_ref().as_table());
        let mut declared: Vec<(String, bool)> = Vec::new();
        for (key, value) in stores.into_iter().flat_map(|stores| stores.iter()) {
            let name = key.get_ref().as_ref();
            let Some(table) = value.get_ref().as_table() else {
                continue;
            };
            let given: Vec<&str> = ["url", "folder", "gateway"]
                .into_iter()
                .filter(|key| entry(table, key).is_some())
                .collect();
            if given.len() != 1 {
                self.push(
                    value.span(),
                    &format!("stores.{name}"),
                    format!(
                        "[stores.{name}] needs exactly one of url, folder or gateway, found {}",
                        given.len()
                    ),
                    Some("`url = \"s3://bucket/prefix\"`, `folder = \"backups\"` or `gateway = \"versitygw\"`".into()),
                );
            }
            if let Some(url) = string_at(table, "url")
                && let Err(error) = crate::store::StoreAddress::parse(url)
            {
                let span = key_span(table, "url").unwrap_or(value.span());
                self.push(span, &format!("stores.{name}.url"), error.to_string(), None);
            }
            declared.push((name.to_owned(), given == ["gateway"]));
        }
        for (index, step) in steps.iter().enumerate() {
            let Some(table) = step.get_ref().as_table() else {
                continue;
            };
            for key in ["store", "from", "to"] {
                let Some(name) = string_at(table, key) else {
                    continue;
                };
                let span = key_span(table, key).unwrap_or(step.span());
                let path = format!("steps[{index}].{key}");
                match declared.iter().find(|(declared, _)| declared == name) {
                    None => self.push(
                        span,
                        &path,
                        format!("no store named `{name}`"),
                        Some(match closest(name, declared.iter().map(|(name, _)| name.as_str())) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => format!("declare it as a `[stores.{name}]` table"),
                        }),
                    ),
                    Some((_, false)) if string_at(table, "action") == Some("region-outage") => self.push(
                        span,
                        &path,
                        format!("region-outage stops a gateway the harness started; store `{name}` has none"),
                        Some(format!("give [stores.{name}] `gateway = \"versitygw\"`")),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
}
