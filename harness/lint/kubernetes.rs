//! Kubernetes manifests (CronJob, Job, Pod, Deployment): every container's
//! command and arguments, read as the shell would run them, judged in the
//! container they run in (its volume mounts).

use super::finding::Spot;
use super::rules::{self, KnownVolumes, Place};
use super::shell::{self, Command, Script, Word};
use super::yaml::Node;

/// The kinds whose pod templates the linter reads.
pub const KINDS: [&str; 4] = ["CronJob", "Job", "Pod", "Deployment"];

/// Whether a YAML document is a manifest of one of [`KINDS`].
pub fn is_manifest(document: &Node) -> bool {
    document.get("apiVersion").is_some()
        && document
            .get("kind")
            .and_then(Node::text)
            .is_some_and(|kind| KINDS.contains(&kind))
}

/// Every map under `node` that is an item of a `containers` or `initContainers` list.
fn containers<'a>(node: &'a Node, found: &mut Vec<&'a Node>) {
    match node {
        Node::Map(entries) => {
            for (key, value) in entries {
                if matches!(key.as_str(), "containers" | "initContainers") {
                    found.extend(value.items().into_iter().filter(|item| matches!(item, Node::Map(_))));
                } else {
                    containers(value, found);
                }
            }
        }
        Node::Seq(items) => items.iter().for_each(|item| containers(item, found)),
        _ => {}
    }
}

/// The script a command line runs: the `-c` text of a shell, or the command line itself.
pub fn argv_script(argv: &[&Node]) -> Script {
    let words: Vec<Word> = argv
        .iter()
        .filter_map(|node| match node {
            Node::Scalar(text, origin) => Some(Word {
                raw: text.clone(),
                value: text.clone(),
                line: origin.line,
                column: origin.column,
            }),
            _ => None,
        })
        .collect();
    let is_shell = words.first().is_some_and(|word| {
        matches!(
            word.value.rsplit('/').next(),
            Some("sh" | "bash" | "dash" | "ash" | "zsh" | "ksh")
        )
    });
    let flag_of = |word: &Word| word.value.starts_with('-') && !word.value.starts_with("--");
    let script_index = words
        .iter()
        .position(|word| flag_of(word) && word.value.contains('c'))
        .map(|index| index + 1);
    if let (true, Some(index)) = (is_shell, script_index) {
        let errexit = words[1..index]
            .iter()
            .any(|word| flag_of(word) && word.value.contains('e'));
        if let Some(Node::Scalar(text, origin)) = argv.get(index) {
            let mut script = shell::parse(text, *origin);
            script.errexit_from_interpreter |= errexit;
            return script;
        }
    }
    let command = Command {
        words,
        ..Command::default()
    };
    Script {
        commands: if command.words.is_empty() {
            Vec::new()
        } else {
            vec![command]
        },
        errexit_from_interpreter: false,
    }
}

/// Findings of one manifest document.
pub fn check(document: &Node, volumes: &KnownVolumes) -> Vec<Spot> {
    let mut found = Vec::new();
    containers(document, &mut found);
    let mut spots = Vec::new();
    for container in found {
        let name = container
            .get("name")
            .and_then(Node::text)
            .unwrap_or("container")
            .to_string();
        let mounts = container
            .get("volumeMounts")
            .map(Node::items)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|mount| mount.get("mountPath").and_then(Node::text).map(str::to_string))
            .collect();
        let mut argv = container.get("command").map(Node::items).unwrap_or_default();
        argv.extend(container.get("args").map(Node::items).unwrap_or_default());
        let script = argv_script(&argv);
        spots.extend(rules::check(&script, &Place::Container { name, mounts }, volumes));
    }
    spots
}
