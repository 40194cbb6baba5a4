//! The rules, run over one parsed script and the place it runs in. Each
//! returns [`Spot`]s; the input readers place them in their files.

use std::collections::BTreeMap;

use super::finding::{Rule, Spot};
use super::options::{self, Tool};
use super::shell::{Command, Connector, Script, Word};

/// Where a script runs, for the container-filesystem rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// On a host: its files outlive the script.
    Host,
    /// In a container (a Kubernetes container, a compose service) with these volume mount paths.
    Container {
        /// The container's or service's name.
        name: String,
        /// Mount paths of its volumes.
        mounts: Vec<String>,
    },
}

/// Volume mount paths of the containers that compose files name (by
/// `container_name` and by service name), so that `docker exec NAME
/// mongodump --out PATH` is judged by what the compose file mounts.
pub type KnownVolumes = BTreeMap<String, Vec<String>>;

/// What a command runs, wrappers (`sudo`, `docker exec C`, `kubectl exec P --`) taken off.
#[derive(Debug)]
struct Invocation<'a> {
    /// The program's name (basename; `${X:-default}` read as `default`).
    program: String,
    /// The tool, when the linter knows its options.
    tool: Option<Tool>,
    /// The words after the program's name.
    arguments: &'a [Word],
    /// `docker exec`/`podman exec`/`kubectl exec`/`compose exec`'s container.
    container: Option<String>,
}

impl Invocation<'_> {
    fn is_dump(&self) -> bool {
        self.tool == Some(Tool::Mongodump)
            || (self.program == "drdrill" && self.arguments.first().is_some_and(|word| word.value == "dump"))
    }
}

/// The program a word names: `"${MONGODUMP:-mongodump}"` names mongodump, `/usr/bin/mongodump` too.
fn program_name(value: &str) -> String {
    let value = value
        .strip_prefix("${")
        .and_then(|inner| inner.strip_suffix('}'))
        .and_then(|inner| inner.split_once(":-").or_else(|| inner.split_once('-')))
        .map_or(value, |(_, default)| default);
    value.rsplit('/').next().unwrap_or(value).to_string()
}

fn is_assignment(value: &str) -> bool {
    value.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || character == '_')
    })
}

/// Index of the container argument of `docker exec`, `kubectl exec` and alike, and of the command after it.
fn exec_target(words: &[Word], start: usize) -> Option<(String, usize)> {
    let taking_value = [
        "-e",
        "--env",
        "-u",
        "--user",
        "-w",
        "--workdir",
        "-c",
        "--container",
        "-n",
        "--namespace",
    ];
    let mut index = start;
    while let Some(word) = words.get(index) {
        let value = word.value.as_str();
        if value == "--" {
            index += 1;
            continue;
        }
        if taking_value.contains(&value) {
            index += 2;
            continue;
        }
        if value.starts_with('-') {
            index += 1;
            continue;
        }
        let after = index + 1;
        let after = if words.get(after).is_some_and(|word| word.value == "--") {
            after + 1
        } else {
            after
        };
        return Some((value.to_string(), after));
    }
    None
}

fn resolve(command: &Command) -> Option<Invocation<'_>> {
    let words = &command.words;
    let mut index = 0;
    let mut container = None;
    while let Some(word) = words.get(index) {
        let name = program_name(&word.value);
        let subcommand = words.get(index + 1).map(|word| word.value.as_str());
        match name.as_str() {
            _ if is_assignment(&word.value) => index += 1,
            // `command -v mongodump` asks whether it exists; it does not run it.
            "command" | "type" | "which" | "hash"
                if subcommand.is_some_and(|flag| flag.starts_with('-')) || name != "command" =>
            {
                return None;
            }
            "sudo" | "exec" | "time" | "nohup" | "env" | "nice" | "command" => index += 1,
            "docker" | "podman" | "kubectl" | "oc" if subcommand == Some("exec") => {
                let (target, next) = exec_target(words, index + 2)?;
                container = Some(target);
                index = next;
            }
            "docker" | "podman" if subcommand == Some("compose") && words.get(index + 2)?.value == "exec" => {
                let (target, next) = exec_target(words, index + 3)?;
                container = Some(target);
                index = next;
            }
            "docker-compose" | "podman-compose" if subcommand == Some("exec") => {
                let (target, next) = exec_target(words, index + 2)?;
                container = Some(target);
                index = next;
            }
            _ if word.value.starts_with('-') && index > 0 => index += 1,
            _ => {
                return Some(Invocation {
                    tool: Tool::from_name(&name),
                    program: name,
                    arguments: &words[index + 1..],
                    container,
                });
            }
        }
    }
    None
}

/// Runs every rule over `script`, which runs in `place`.
pub fn check(script: &Script, place: &Place, volumes: &KnownVolumes) -> Vec<Spot> {
    let mut spots = Vec::new();
    for command in &script.commands {
        let Some(invocation) = resolve(command) else {
            continue;
        };
        if let Some(tool) = invocation.tool {
            spots.extend(tool_flags(tool, &invocation));
            spots.extend(credentials(tool, &invocation));
        }
        spots.extend(uri_credentials(command));
        if invocation.is_dump() {
            spots.extend(container_filesystem(command, &invocation, place, volumes));
        }
    }
    spots.extend(unchecked_dumps(script));
    spots.extend(retention_by_age(script));
    spots.extend(existence_checks(script));
    spots
}

fn at(word: &Word) -> (usize, usize) {
    (word.line, word.column)
}

/// Unknown flags, `--archive PATH`, `--dryRun` as a verification, no `--oplog`.
fn tool_flags(tool: Tool, invocation: &Invocation<'_>) -> Vec<Spot> {
    let parsed = options::parse(tool, invocation.arguments);
    let mut spots = Vec::new();
    for option in &parsed.options {
        if !option.known {
            let hint = match options::closest(tool, &option.long) {
                Some(close) => format!("the option is `--{close}`"),
                None => format!("see `{} --help` (MongoDB Database Tools 100.x)", tool.name()),
            };
            spots.push(Spot::new(
                Rule::UnknownFlag,
                at(option.word),
                format!(
                    "{} has no option `{}`: it stops with a command-line error before doing anything",
                    tool.name(),
                    option.word.value
                ),
                hint,
            ));
        }
        if let Some(detached) = option.detached.filter(|_| option.long == "archive") {
            spots.push(Spot::new(
                Rule::ArchiveValue,
                at(option.word),
                format!(
                    "`--archive {}` with a space: {} takes the archive on standard {} and `{}` as a positional argument",
                    detached.value,
                    tool.name(),
                    if tool == Tool::Mongodump { "output" } else { "input" },
                    detached.value
                ),
                format!("write `--archive={}`", detached.value),
            ));
        }
    }
    let dry_run = parsed
        .options
        .iter()
        .find(|option| matches!(option.long.as_str(), "dryRun" | "dry-run"));
    if let (Tool::Mongorestore, Some(option)) = (tool, dry_run) {
        spots.push(Spot::new(
            Rule::HollowVerification,
            at(option.word),
            format!(
                "`mongorestore {}` verifies nothing: even spelled `--dryRun` it lists the files it would restore and prints `dry run completed` without reading a document, a count, a checksum or an index",
                option.word.value
            ),
            "restore into a scratch deployment and compare counts and checksums with the source (what `drdrill run` drills do)",
        ));
    }
    if tool == Tool::Mongodump && parsed.option("oplog").is_none() {
        let start = invocation.arguments.first().map_or((0, 0), at);
        let position = parsed.options.first().map_or(start, |option| at(option.word));
        spots.push(Spot::new(
            Rule::NotPointInTime,
            position,
            "mongodump without `--oplog`: a dump taken under writes is not a point-in-time copy",
            "dump the whole replica set with `--oplog` (it excludes `--db`) and restore with `--oplogReplay`, or dump a stopped secondary",
        ));
    }
    spots
}

fn credentials(tool: Tool, invocation: &Invocation<'_>) -> Vec<Spot> {
    let parsed = options::parse(tool, invocation.arguments);
    parsed
        .options
        .iter()
        .filter(|option| {
            matches!(option.long.as_str(), "password" | "sslPEMKeyPassword" | "tlsCertificateKeyFilePassword" | "awsSecretAccessKey")
                && option.value.as_deref().is_some_and(|value| !value.is_empty())
        })
        .map(|option| {
            Spot::new(
                Rule::CredentialsInArgv,
                at(option.word),
                format!("`{}` puts a secret on {}'s command line: every user of the machine reads it in `ps` and `/proc`", option.word.value, tool.name()),
                "use `--config` with a file readable only by the backup user (Database Tools 100.x read `password:` and `uri:` from it)",
            )
        })
        .collect()
}

/// Whether `text` holds a URI with a password (`scheme://user:password@`), a masked one (`****`) aside.
pub fn uri_has_password(text: &str) -> bool {
    let Some((_, rest)) = text.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let Some((credentials, _)) = authority.rsplit_once('@') else {
        return false;
    };
    credentials
        .split_once(':')
        .is_some_and(|(_, password)| !password.is_empty() && password != "****")
}

fn uri_credentials(command: &Command) -> Option<Spot> {
    let word = command.words.iter().find(|word| uri_has_password(&word.value))?;
    Some(Spot::new(
        Rule::CredentialsInArgv,
        at(word),
        "a connection string with a password on the command line: every user of the machine reads it in `ps` and `/proc`",
        "pass the URI in a `--config` file readable only by the backup user, or from a secret mounted as a file",
    ))
}

fn output_path(invocation: &Invocation<'_>) -> Option<(String, (usize, usize))> {
    let parsed = options::parse(invocation.tool?, invocation.arguments);
    if let Some(out) = parsed.option("out") {
        return Some((out.value.clone().unwrap_or_default(), at(out.word)));
    }
    if let Some(archive) = parsed.option("archive") {
        return archive
            .value
            .clone()
            .filter(|path| path != "-")
            .map(|path| (path, at(archive.word)));
    }
    let start = invocation.arguments.first().map_or((0, 0), at);
    Some(("dump".to_string(), start))
}

fn under_mount(path: &str, mounts: &[String]) -> bool {
    mounts.iter().any(|mount| {
        let mount = mount.trim_end_matches('/');
        path == mount || path.starts_with(&format!("{mount}/")) || mount.is_empty()
    })
}

fn container_filesystem(
    command: &Command,
    invocation: &Invocation<'_>,
    place: &Place,
    volumes: &KnownVolumes,
) -> Option<Spot> {
    let (name, mounts) = match (&invocation.container, place) {
        (Some(container), _) => (container.clone(), volumes.get(container).cloned().unwrap_or_default()),
        (None, Place::Container { name, mounts }) => (name.clone(), mounts.clone()),
        (None, Place::Host) => return None,
    };
    let (path, position) = output_path(invocation)?;
    if under_mount(&path, &mounts) {
        return None;
    }
    let position = if position == (0, 0) {
        command.position()
    } else {
        position
    };
    Some(Spot::new(
        Rule::ContainerFilesystem,
        position,
        format!(
            "the dump goes to `{path}` inside the container `{name}`, which mounts no volume there: it disappears with the container"
        ),
        format!(
            "mount a volume at the backup folder of `{name}` (or write the dump to the host, e.g. `--archive` to standard output)"
        ),
    ))
}

const SUCCESS_WORDS: [&str; 6] = ["complete", "success", "succeeded", "finished", "done", " ok"];

fn reports_success(command: &Command) -> bool {
    let Some(first) = command.words.first() else {
        return false;
    };
    if !matches!(
        program_name(&first.value).as_str(),
        "echo" | "printf" | "logger" | "notify-send"
    ) {
        return false;
    }
    let text = format!(
        " {}",
        command.words[1..]
            .iter()
            .map(|word| word.value.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
    );
    SUCCESS_WORDS.iter().any(|word| text.contains(word)) && !text.contains("fail")
}

fn sets_option(script: &Script, short: char, long: &str) -> Option<(usize, usize)> {
    script.commands.iter().find_map(|command| {
        let words = &command.words;
        let is_set = words.first().is_some_and(|word| word.value == "set");
        let found = is_set
            && words.iter().enumerate().skip(1).any(|(index, word)| {
                let value = word.value.as_str();
                (value.starts_with('-') && !value.starts_with("--") && value[1..].contains(short))
                    || (value.starts_with('-')
                        && value.ends_with('o')
                        && words.get(index + 1).is_some_and(|next| next.value == long))
            });
        found.then(|| command.position())
    })
}

/// Whether a dump's failure is looked at: a condition, `&&`/`||`, a `$?` test next, or `set -e` before it.
fn dump_checked(script: &Script, index: usize, errexit: Option<(usize, usize)>, pipefail: bool) -> bool {
    let command = &script.commands[index];
    let piped = command.after == Connector::Pipe;
    if command.condition || matches!(command.after, Connector::And | Connector::Or) {
        return !piped || pipefail;
    }
    let next_tests_status = script
        .commands
        .get(index + 1)
        .is_some_and(|next| next.words.iter().any(|word| word.value.contains("$?")));
    let errexit_before =
        errexit.is_some_and(|position| position < command.position()) || script.errexit_from_interpreter;
    next_tests_status || (errexit_before && (!piped || pipefail))
}

fn unchecked_dumps(script: &Script) -> Vec<Spot> {
    let errexit = sets_option(script, 'e', "errexit");
    let pipefail = sets_option(script, '\0', "pipefail").is_some();
    let mut spots = Vec::new();
    for (index, command) in script.commands.iter().enumerate() {
        if !resolve(command).is_some_and(|invocation| invocation.is_dump())
            || dump_checked(script, index, errexit, pipefail)
        {
            continue;
        }
        let Some(success) = script.commands[index + 1..]
            .iter()
            .find(|later| reports_success(later) && !later.condition)
        else {
            continue;
        };
        let (line, _) = success.position();
        let cause = if command.after == Connector::Pipe {
            "its pipe hides its status (no `set -o pipefail`)"
        } else {
            "nothing checks its status and there is no `set -e`"
        };
        spots.push(Spot::new(
            Rule::UncheckedDump,
            command.position(),
            format!("when this dump fails the script still reports success at line {line}: {cause}, so a failed backup logs a success and exits 0"),
            "start the script with `set -euo pipefail`, or write `mongodump ... || exit 1`",
        ));
    }
    spots
}

fn deletes_by_age(command: &Command) -> Option<&Word> {
    let words = &command.words;
    if words.first().is_none_or(|word| program_name(&word.value) != "find") {
        return None;
    }
    let age = words.iter().enumerate().find_map(|(index, word)| {
        let by_age = matches!(
            word.value.as_str(),
            "-mtime" | "-mmin" | "-ctime" | "-cmin" | "-atime" | "-amin"
        );
        let older = words.get(index + 1).is_some_and(|value| value.value.starts_with('+'));
        (by_age && older).then_some(word)
    })?;
    let deletes = words.iter().enumerate().any(|(index, word)| {
        word.value == "-delete"
            || (matches!(word.value.as_str(), "-exec" | "-execdir")
                && words
                    .get(index + 1)
                    .is_some_and(|next| program_name(&next.value) == "rm"))
    }) || command.after == Connector::Pipe;
    deletes.then_some(age)
}

fn checks_newer_backups(command: &Command) -> bool {
    command.words.iter().enumerate().any(|(index, word)| {
        word.value == "-newer"
            || (matches!(word.value.as_str(), "-mtime" | "-mmin")
                && command
                    .words
                    .get(index + 1)
                    .is_some_and(|next| next.value.starts_with('-')))
    })
}

fn retention_by_age(script: &Script) -> Vec<Spot> {
    let errexit = sets_option(script, 'e', "errexit").is_some() || script.errexit_from_interpreter;
    let mut spots = Vec::new();
    for (index, command) in script.commands.iter().enumerate() {
        let Some(age) = deletes_by_age(command) else {
            continue;
        };
        let earlier = &script.commands[..index];
        let dump_stops_script = errexit
            && earlier
                .iter()
                .any(|earlier| resolve(earlier).is_some_and(|invocation| invocation.is_dump()));
        let guarded = command.depth > 0 || command.before == Connector::And || earlier.iter().any(checks_newer_backups);
        if guarded || dump_stops_script {
            continue;
        }
        spots.push(Spot::new(
            Rule::RetentionByAge,
            at(age),
            "retention deletes backups by age whether or not a newer backup succeeded: after enough failed runs it deletes the last good one",
            "delete old backups only after this run's backup is verified (`set -e`, or `&&` after the check), and always keep the newest N",
        ));
    }
    spots
}

/// `if [ -f FILE ]; then echo "verified"`: a check that only tests the file exists.
fn existence_checks(script: &Script) -> Vec<Spot> {
    let mut spots = Vec::new();
    for (index, command) in script.commands.iter().enumerate() {
        let words = &command.words;
        let is_test = words
            .first()
            .is_some_and(|word| matches!(word.value.as_str(), "[" | "[[" | "test"));
        let tests_existence = words
            .iter()
            .any(|word| matches!(word.value.as_str(), "-f" | "-e" | "-s" | "-d"));
        if !(command.condition && is_test && tests_existence) {
            continue;
        }
        let body = script.commands.get(index + 1).filter(|next| next.depth > command.depth);
        let claims = body.is_some_and(|next| {
            reports_success(next)
                || next
                    .words
                    .iter()
                    .any(|word| word.value.to_lowercase().contains("verif"))
        });
        if claims {
            spots.push(Spot::new(
                Rule::HollowVerification,
                command.position(),
                "this verification only tests that the file exists: an empty or truncated backup passes it",
                "restore the backup into a scratch deployment and compare counts and checksums (or run `drdrill verify-backup` on it)",
            ));
        }
    }
    spots
}

#[cfg(test)]
mod tests;
