//! The validation pipeline: bytes → UTF-8 text → spanned TOML tree (a
//! syntax error stops here, reported alone) → schema walk collecting every
//! problem → wire structs (serde) → model.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::check::check_document;
use super::convert::convert;
use super::diagnostic::{Collector, ScenarioErrors};
use super::model::Scenario;
use super::wire::ScenarioFile;

/// Reads and validates the scenario file at `path`.
pub fn validate_file(path: &Path) -> Result<Scenario, ScenarioErrors> {
    match std::fs::read(path) {
        Ok(bytes) => validate_bytes(&bytes, path),
        Err(error) => {
            let mut collector = Collector::new(path, "");
            collector.push(0..0, "", format!("cannot read the scenario file: {error}"), None);
            Err(ScenarioErrors {
                file: path.to_path_buf(),
                diagnostics: collector.finish(),
                source: Some(error),
            })
        }
    }
}

/// Validates scenario file contents that may not be text; `path` is used in
/// messages only.
pub fn validate_bytes(bytes: &[u8], path: &Path) -> Result<Scenario, ScenarioErrors> {
    match std::str::from_utf8(bytes) {
        Ok(text) => validate_str(text, path),
        Err(error) => {
            // Locate the first bad byte within the valid prefix.
            let valid = std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or_default();
            let mut collector = Collector::new(path, valid);
            collector.push(
                valid.len()..valid.len(),
                "",
                "the file is not UTF-8 text".into(),
                Some("a scenario is a TOML text file".into()),
            );
            Err(errors(path, collector))
        }
    }
}

/// Validates the text of a scenario file; `path` is used in messages and
/// recorded in the model.
pub fn validate_str(text: &str, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let mut collector = Collector::new(path, text);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(error) => {
            // After a syntax error the rest of the file cannot be trusted:
            // report that one problem only.
            collector.push(
                error.span().unwrap_or(0..0),
                "",
                format!("invalid TOML: {}", error.message().trim_end_matches('.').trim()),
                None,
            );
            return Err(errors(path, collector));
        }
    };
    check_document(&root, &mut collector);
    if !collector.is_empty() {
        return Err(errors(path, collector));
    }
    let deserializer = toml::de::Deserializer::from(root.clone());
    let file: ScenarioFile = match serde_path_to_error::deserialize(deserializer) {
        Ok(file) => file,
        Err(error) => {
            let key_path = error.path().to_string();
            collector.push(
                locate(&root, &key_path),
                key_path.trim_start_matches('.'),
                error.inner().message().trim_end_matches('.').to_owned(),
                None,
            );
            return Err(errors(path, collector));
        }
    };
    convert(path, file).map_err(|(key_path, message)| {
        collector.push(locate(&root, &key_path), &key_path, message, None);
        errors(path, collector)
    })
}

fn errors(path: &Path, collector: Collector<'_>) -> ScenarioErrors {
    ScenarioErrors {
        file: path.to_path_buf(),
        diagnostics: collector.finish(),
        source: None,
    }
}

/// The span of the deepest node of `root` on `key_path` (`steps[2].kind`).
pub(crate) fn locate(root: &Spanned<DeTable<'_>>, key_path: &str) -> Range<usize> {
    let mut span = root.span();
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    for segment in key_path.split('.').filter(|segment| !segment.is_empty()) {
        let (key, indexes) = match segment.find('[') {
            Some(bracket) => (&segment[..bracket], &segment[bracket..]),
            None => (segment, ""),
        };
        let Some(found) = table.and_then(|table| table.iter().find(|(name, _)| name.get_ref() == key)) else {
            return span;
        };
        span = found.0.span();
        let mut current: Option<&Spanned<DeValue<'_>>> = Some(found.1);
        for index in indexes
            .split(['[', ']'])
            .filter(|part| !part.is_empty())
            .filter_map(|part| part.parse::<usize>().ok())
        {
            match current
                .and_then(|value| value.get_ref().as_array())
                .and_then(|items| items.get(index))
            {
                Some(item) => {
                    span = item.span();
                    current = Some(item);
                }
                None => return span,
            }
        }
        table = current.and_then(|value| value.get_ref().as_table());
    }
    span
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::measure::RtoAppliesTo;
    use crate::provider::{Backend, Engine, ProviderKind};
    use crate::scenario::model::{
        BackupEngine, DisasterAction, NodeTarget, ReplicaSetTopology, StepKind, WriteConcern,
    };

    const VALID: &str = r#"name = "weekly-dev-restore"
tags = ["weekly"]

[topology]
provider = "local"
engine = "ferretdb"

[dataset]
profile = "shepherd-cms"
documents = 20000
seed = 42

[objectives]
rto = "60m"
rpo = "15m"

[[steps]]
kind = "seed"

[[steps]]
kind = "backup"
engine = "builtin"

[[steps]]
kind = "disaster"
action = "drop-database"

[[steps]]
kind = "restore"

[[steps]]
kind = "verify"
"#;

    fn problems(text: &str) -> Vec<String> {
        match validate_str(text, Path::new("scenarios/x.toml")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.diagnostics.iter().map(ToString::to_string).collect(),
        }
    }

    /// `VALID` with `from` replaced by `to` (which must occur).
    fn edited(from: &str, to: &str) -> String {
        assert!(VALID.contains(from), "{from:?} not in the valid scenario");
        VALID.replacen(from, to, 1)
    }

    #[test]
    fn managed_steps_on_another_provider_are_located_errors() {
        let text = edited(
            "kind = \"restore\"\n",
            "kind = \"restore-snapshot\"\n\n[[steps]]\nkind = \"failover\"\n",
        );
        let found = problems(&text);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains("x.toml:29:") && found[0].contains("step 4, kind:"),
            "{found:#?}"
        );
        assert!(
            found[0].contains("restore-snapshot step needs provider = \"managed\"") && found[0].contains("\"local\""),
            "{found:#?}"
        );
        assert!(
            found[1].contains("step 5, kind:") && found[1].contains("failover step needs"),
            "{found:#?}"
        );
        let managed = text.replace("provider = \"local\"", "provider = \"managed\"");
        assert!(
            !problems(&managed)
                .iter()
                .any(|problem| problem.contains("needs provider")),
            "{:#?}",
            problems(&managed)
        );
    }

    #[test]
    fn a_valid_file_becomes_a_model_with_defaults() {
        let scenario = validate_str(VALID, Path::new("x.toml")).unwrap();
        assert_eq!(scenario.name, "weekly-dev-restore");
        assert_eq!(scenario.topology.provider, ProviderKind::Local);
        assert_eq!(scenario.topology.engine, Engine::Ferretdb);
        assert_eq!(scenario.topology.backend, Some(Backend::Sqlite));
        assert_eq!(scenario.topology.nodes, 1);
        assert_eq!(scenario.dataset.database, "shepherd_cms");
        assert_eq!(scenario.workload.tick_interval, Duration::from_millis(100));
        assert_eq!(scenario.workload.probe_interval, Duration::from_millis(250));
        assert_eq!(scenario.workload.write_concern, WriteConcern::Majority);
        assert_eq!(scenario.objectives.rto, Some(Duration::from_secs(3_600)));
        assert_eq!(scenario.objectives.rpo, Some(Duration::from_secs(900)));
        assert_eq!(scenario.objectives.rto_applies_to, RtoAppliesTo::Service);
        assert_eq!(scenario.steps.len(), 5);
        assert_eq!(scenario.steps[1].name, "backup");
        assert_eq!(scenario.steps[1].timeout, Duration::from_secs(30 * 60));
        assert!(matches!(
            scenario.steps[1].kind,
            StepKind::Backup(crate::scenario::BackupStep {
                engine: BackupEngine::Builtin,
                ..
            })
        ));
        assert!(matches!(
            scenario.steps[2].kind,
            StepKind::Disaster(crate::scenario::DisasterStep {
                action: DisasterAction::DropDatabase,
                ..
            })
        ));
    }

    #[test]
    fn the_documented_example_is_valid() {
        let source = include_str!("mod.rs");
        let start = source.find("//! ```toml\n").expect("example start") + "//! ```toml\n".len();
        let end = start + source[start..].find("//! ```\n").expect("example end");
        let example: String = source[start..end]
            .lines()
            .map(|line| line.strip_prefix("//!").unwrap_or(line).strip_prefix(' ').unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let scenario = validate_str(&example, Path::new("example.toml")).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(scenario.steps.len(), 7);
        assert_eq!(scenario.steps[2].timeout, Duration::from_secs(65));
        assert_eq!(scenario.expect.unwrap().check, "rpo");
    }

    #[test]
    fn a_syntax_error_is_reported_alone_with_line_and_column() {
        let text = edited("seed = 42", "seed = 42 43\ndocumnts = 1");
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("scenarios/x.toml:11:8: invalid TOML: "),
            "{found:?}"
        );
    }

    #[test]
    fn a_typo_a_bad_duration_and_a_missing_step_field_give_three_located_messages() {
        let text = edited("[objectives]", "[objectivs]")
            .replacen(
                "tags = [\"weekly\"]",
                "tags = [\"weekly\"]\n\n[workload]\ntick_interval = \"100 parsecs\"",
                1,
            )
            .replacen("kind = \"verify\"", "name = \"check\"", 1);
        let found = problems(&text);
        assert_eq!(
            found,
            vec![
                "scenarios/x.toml:5:17: workload.tick_interval: `tick_interval = \"100 parsecs\"`: invalid duration: \
                 unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, \
                 years (and few variations) (hint: use forms like 60m, 15m, 250ms, 1h30m)",
                "scenarios/x.toml:16:2: objectivs: unknown key `objectivs` in the top level; did you mean `objectives`?",
                "scenarios/x.toml:34:1: step 5: missing field `kind` (hint: one of seed, backup, disaster, restore, \
                 verify, wait, exec, mask, pii, failover, copy, snapshot, restore-snapshot)",
            ]
        );
    }

    #[test]
    fn unknown_keys_suggest_the_closest_valid_key_or_list_them() {
        let found = problems(&edited("seed = 42", "sed = 42"));
        assert_eq!(
            found,
            vec!["scenarios/x.toml:11:1: dataset.sed: unknown key `sed` in [dataset]; did you mean `seed`?"]
        );
        let found = problems(&edited("seed = 42", "colour = \"blue\""));
        assert_eq!(
            found,
            vec![
                "scenarios/x.toml:11:1: dataset.colour: unknown key `colour` in [dataset] (hint: valid keys: profile, \
                 documents, seed, database)"
            ]
        );
    }

    #[test]
    fn a_key_of_another_step_kind_is_named_as_misplaced() {
        let found = problems(&edited("kind = \"restore\"", "kind = \"restore\"\ncommand = \"x\""));
        assert_eq!(
            found,
            vec![
                "scenarios/x.toml:30:1: step 4, command: `command` is not a key of a restore step (hint: `command` \
                 belongs to backup, disaster, exec steps)"
            ]
        );
    }

    #[test]
    fn wrong_types_name_what_was_expected_and_found() {
        let found = problems(&edited("documents = 20000", "documents = \"20k\""));
        assert_eq!(
            found,
            vec![
                "scenarios/x.toml:10:13: dataset.documents: expected an integer from 1 to 100000000, found \"20k\" \
                 (hint: for example `documents = 20000`)"
            ]
        );
        let found = problems(&edited("rto = \"60m\"", "rto = 60"));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("objectives.rto: expected a duration string, found 60"),
            "{found:?}"
        );
        let found = problems(&edited("[topology]", "topology = 3\n[other]"));
        assert!(found[0].contains("topology: expected a table, found 3"), "{found:?}");
    }

    #[test]
    fn missing_fields_and_tables_are_reported_at_their_table() {
        let found = problems(&edited("profile = \"shepherd-cms\"\n", ""));
        assert_eq!(
            found,
            vec!["scenarios/x.toml:8:1: dataset: missing field `profile` (hint: add `profile = \"shepherd-cms\"`)"]
        );
        let found = problems("name = \"x\"\n");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found
                .iter()
                .all(|line| line.starts_with("scenarios/x.toml:1:1: missing")),
            "{found:?}"
        );
    }

    #[test]
    fn an_ambiguous_unit_and_a_zero_objective_are_located_errors_with_hints() {
        let found = problems(&edited("rto = \"60m\"", "rto = \"5M\""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("scenarios/x.toml:14:7: "), "{found:?}");
        assert!(
            found[0].contains("the unit `M` is ambiguous (months or minutes?)"),
            "{found:?}"
        );
        assert!(found[0].contains("hint: write minutes as `m` (5m)"), "{found:?}");
        let found = problems(&edited("rto = \"60m\"", "rto = \"0s\""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`rto = \"0s\"` is too short: the least is 1ms"),
            "{found:?}"
        );
        assert!(
            found[0].contains("hint: a zero duration cannot be meant here"),
            "{found:?}"
        );
    }

    #[test]
    fn bad_durations_say_how_to_write_them() {
        let found = problems(&edited("rto = \"60m\"", "rto = \"sixty minutes\""));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("objectives.rto: `rto = \"sixty minutes\"`: invalid duration: "),
            "{found:?}"
        );
        assert!(
            found[0].ends_with("(hint: use forms like 60m, 15m, 250ms, 1h30m)"),
            "{found:?}"
        );
    }

    #[test]
    fn absurd_values_are_refused() {
        for (from, to, expected) in [
            (
                "documents = 20000",
                "documents = 0",
                "`documents = 0` is out of range: expected 1 to 100000000",
            ),
            (
                "documents = 20000",
                "documents = 100000001",
                "`documents = 100000001` is out of range",
            ),
            (
                "engine = \"ferretdb\"",
                "engine = \"ferretdb\"\nnodes = 8",
                "`nodes = 8` is out of range: expected 1 to 7",
            ),
            (
                "engine = \"ferretdb\"",
                "engine = \"ferretdb\"\nnodes = 0",
                "`nodes = 0` is out of range",
            ),
            (
                "seed = 42",
                "seed = 42\n[workload]\ntick_interval = \"0ms\"",
                "`tick_interval = \"0ms\"` is too short: the least is 1ms",
            ),
            (
                "kind = \"seed\"",
                "kind = \"seed\"\ntimeout = \"25h\"",
                "`timeout = \"25h\"` is too long: the limit is 24h",
            ),
            (
                "documents = 20000",
                "documents = 99999999999999999999999999999999999999999",
                "`documents = 99999999999999999999999999999999999999999` is out of range",
            ),
        ] {
            let found = problems(&edited(from, to));
            assert_eq!(found.len(), 1, "{to}: {found:?}");
            assert!(found[0].contains(expected), "{to}: {found:?}");
        }
    }

    #[test]
    fn unknown_choices_suggest_the_closest() {
        let found = problems(&edited("kind = \"backup\"", "kind = \"backpu\""));
        // The step's own keys are still checked against every step key.
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("step 2, kind: unknown kind \"backpu\"; did you mean \"backup\"?"),
            "{found:?}"
        );
    }

    #[test]
    fn a_forecast_names_the_production_size_once() {
        let found = problems(&format!("{VALID}\n[forecast]\nfail = true\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("forecast: missing field `documents`"), "{found:?}");
        let found = problems(&format!("{VALID}\n[forecast]\ndocuments = 5\nbytes = 9\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`documents` and `bytes` both give the production size"),
            "{found:?}"
        );
        assert!(problems(&format!("{VALID}\n[forecast]\nuri_env = \"PROD_URI\"\n")).is_empty());
    }

    #[test]
    fn conditional_requirements_are_checked() {
        let found = problems(&edited("engine = \"builtin\"", "engine = \"command\""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("step 2: missing field `command`: a backup step with engine = \"command\""),
            "{found:?}"
        );
        let found = problems(&edited("engine = \"builtin\"", "command = \"x.sh\""));
        assert!(
            found[0].contains("`command` applies only to engine = \"command\""),
            "{found:?}"
        );
        let found = problems(&edited("action = \"drop-database\"", "action = \"drop-collection\""));
        assert!(found[0].contains("missing field `collection`"), "{found:?}");
        // On an external deployment the restore goes into an ephemeral
        // node by default: only the disaster needs the opt-in.
        let found = problems(&edited("provider = \"local\"", "provider = \"external\""));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("missing field `uri`"), "{found:?}");
        assert!(
            found[1].contains("a disaster step against an external deployment"),
            "{found:?}"
        );
        // A restore into the source itself does.
        let into_source = edited("provider = \"local\"", "provider = \"external\"").replacen(
            "kind = \"restore\"",
            "kind = \"restore\"\ntarget = \"same-node\"",
            1,
        );
        let found = problems(&into_source);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[2].contains("a restore step against an external deployment"),
            "{found:?}"
        );
    }

    #[test]
    fn replica_sets_node_targets_and_failover_are_modelled() {
        let failover = VALID
            .replace(
                "engine = \"ferretdb\"",
                "engine = \"mongodb\"\nnodes = 3\nreplica_set = true\narbiter = true",
            )
            .replace(
                "action = \"drop-database\"",
                "action = \"kill-node\"\nnode = \"primary\"",
            )
            .replace("[[steps]]\nkind = \"restore\"\n\n", "");
        let scenario = validate_str(&failover, Path::new("x.toml")).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(
            scenario.topology.replica_set,
            Some(ReplicaSetTopology { arbiter: true })
        );
        assert!(scenario.is_failover());
        assert!(matches!(
            scenario.steps[2].kind,
            StepKind::Disaster(crate::scenario::DisasterStep {
                action: DisasterAction::KillNode,
                node: Some(NodeTarget::Primary),
                ..
            })
        ));
        // With a restore after the disaster it is a restore drill.
        let restore = validate_str(
            &VALID.replace("engine = \"ferretdb\"", "engine = \"mongodb\"\nreplica_set = true"),
            Path::new("x.toml"),
        )
        .unwrap();
        assert!(!restore.is_failover());
        // And on FerretDB it is not run at all.
        let on_ferretdb = scenario.on_engine(crate::provider::Engine::Ferretdb);
        assert_eq!(on_ferretdb.topology.backend, Some(crate::provider::Backend::Sqlite));
        assert!(
            crate::runner::drill::unsupported_reason(&on_ferretdb, crate::provider::ProviderKind::Local)
                .is_some_and(|reason| reason.starts_with("not supported by engine ferretdb"))
        );
    }

    #[test]
    fn node_faults_are_checked_against_the_topology() {
        let found = problems(&edited(
            "action = \"drop-database\"",
            "action = \"pause-node\"\nnode = \"leader\"",
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("step 3, node: invalid node \"leader\""), "{found:?}");
        assert!(found[0].contains("or \"primary\""), "{found:?}");
        let found = problems(&edited("action = \"drop-database\"", "action = \"kill-majority\""));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("needs a replica set"), "{found:?}");
        let found = problems(&edited(
            "action = \"drop-database\"",
            "action = \"drop-database\"\nnode = 0",
        ));
        assert!(
            found[0].contains("`node` applies only to the node actions"),
            "{found:?}"
        );
        let found = problems(&edited(
            "engine = \"ferretdb\"",
            "engine = \"ferretdb\"\narbiter = true\nimage_tag = \"7.0\"",
        ));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].contains("`arbiter` applies only to a replica set"),
            "{found:?}"
        );
        assert!(
            found[1].contains("`image_tag` applies only to provider = \"containers\""),
            "{found:?}"
        );
        for action in ["stop-node", "pause-node", "disconnect-node", "remove-node"] {
            let text = edited(
                "action = \"drop-database\"",
                &format!("action = \"{action}\"\nnode = 0"),
            );
            assert!(problems(&text).is_empty(), "{action}: {:?}", problems(&text));
        }
    }

    #[test]
    fn backups_inside_a_container_need_the_tools_and_an_archive() {
        let found = problems(&edited(
            "engine = \"builtin\"",
            "engine = \"builtin\"\nrun_in = \"container\"",
        ));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("step 2, run_in: run_in = \"container\" runs mongodump inside the node's container: it needs engine = \"tools\""), "{found:?}");
        assert!(found[1].contains("it needs format = \"archive\""), "{found:?}");
        let text = edited(
            "engine = \"builtin\"",
            "engine = \"tools\"\nformat = \"archive\"\nrun_in = \"container\"",
        );
        let scenario = validate_str(&text, Path::new("x.toml")).unwrap_or_else(|errors| panic!("{errors}"));
        assert!(matches!(
            scenario.steps[1].kind,
            StepKind::Backup(crate::scenario::BackupStep {
                run_in: crate::scenario::RunIn::Container,
                ..
            })
        ));
    }

    #[test]
    fn one_disaster_drops_several_collections_and_they_are_the_touched_ones() {
        let several = edited(
            "action = \"drop-database\"",
            "action = \"drop-collection\"\ncollections = [\"configurations\", \"users\"]",
        )
        .replace(
            "kind = \"restore\"\n",
            "kind = \"restore\"\ncollections = [\"users\", \"configurations\"]\n",
        );
        let scenario = validate_str(&several, Path::new("x.toml")).unwrap_or_else(|errors| panic!("{errors}"));
        assert!(matches!(
            &scenario.steps[2].kind,
            StepKind::Disaster(crate::scenario::DisasterStep { collections, .. })
                if collections == &["configurations".to_string(), "users".to_string()]
        ));
        assert_eq!(scenario.touched_collections(), ["configurations", "users"]);
        // `collection = "a"` still works, and a corrupted one is touched too.
        let one = edited(
            "action = \"drop-database\"",
            "action = \"corrupt-documents\"\ncollection = \"users\"",
        );
        let scenario = validate_str(&one, Path::new("x.toml")).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(scenario.touched_collections(), ["users"]);
        // A whole-database drill touches no collection by name.
        assert!(
            validate_str(VALID, Path::new("x.toml"))
                .unwrap()
                .touched_collections()
                .is_empty()
        );
    }

    #[test]
    fn collection_and_collections_together_empty_or_misplaced_are_located_errors() {
        let both = problems(&edited(
            "action = \"drop-database\"",
            "action = \"drop-collection\"\ncollection = \"users\"\ncollections = [\"users\"]",
        ));
        assert_eq!(both.len(), 1, "{both:?}");
        assert!(
            both[0].starts_with("scenarios/x.toml:28:1: step 3, collections: both `collection` and `collections`"),
            "{both:?}"
        );
        let empty = problems(&edited(
            "action = \"drop-database\"",
            "action = \"drop-collection\"\ncollections = []",
        ));
        assert_eq!(empty.len(), 1, "{empty:?}");
        assert!(empty[0].contains("`collections` is empty"), "{empty:?}");
        let misplaced = problems(&edited(
            "action = \"drop-database\"",
            "action = \"drop-database\"\ncollections = [\"users\"]",
        ));
        assert_eq!(misplaced.len(), 1, "{misplaced:?}");
        assert!(
            misplaced[0].contains("step 3, collections: `collections` applies only to action = \"drop-collection\""),
            "{misplaced:?}"
        );
        assert!(!misplaced[0].contains("belongs to restore steps"), "{misplaced:?}");
    }

    #[test]
    fn a_second_drop_collection_disaster_is_pointed_to_collections() {
        let two = edited(
            "action = \"drop-database\"",
            "action = \"drop-collection\"\ncollection = \"users\"\n\n[[steps]]\nkind = \"disaster\"\naction = \"drop-collection\"\ncollection = \"configurations\"",
        );
        let found = problems(&two);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("a second disaster step"), "{found:?}");
        assert!(
            found[0].contains("(hint: one `drop-collection` step takes several collections at one T_d: `collections = [\"a\", \"b\"]`)"),
            "{found:?}"
        );
        assert!(!found[0].contains("split the drill"), "{found:?}");
    }

    #[test]
    fn rules_between_steps_are_checked() {
        let found = problems(&edited(
            "kind = \"verify\"",
            "kind = \"disaster\"\naction = \"kill-node\"",
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("a second disaster step"), "{found:?}");
        let found = problems(&edited("kind = \"backup\"\nengine = \"builtin\"", "kind = \"seed\""));
        assert!(
            found[0].contains("a restore step with no backup step before it"),
            "{found:?}"
        );
        let found = problems(&edited("tags = [\"weekly\"]", "expect = { fail = \"exec\" }"));
        assert!(found[0].contains("no exec step"), "{found:?}");
    }

    #[test]
    fn credentials_never_appear_in_messages() {
        let text = edited(
            "provider = \"local\"",
            "provider = \"local\"\nuri = \"mongodb://admin:hunter2@db:27017/\"",
        );
        let found = problems(&text);
        assert!(!found.is_empty());
        assert!(found.iter().all(|line| !line.contains("hunter2")), "{found:?}");
        let text = edited("documents = 20000", "documents = \"mongodb://admin:hunter2@db/\"");
        assert!(problems(&text).iter().all(|line| !line.contains("hunter2")));
    }

    #[test]
    fn binary_garbage_is_located_and_refused() {
        let errors = validate_bytes(b"name = \"x\"\n\xff\xfe\x00", Path::new("g.toml")).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "g.toml:2:1: the file is not UTF-8 text (hint: a scenario is a TOML text file)"
        );
    }

    #[test]
    fn an_unreadable_file_keeps_the_io_error_as_source() {
        let errors = validate_file(Path::new("/nonexistent/x.toml")).unwrap_err();
        assert!(errors.source.is_some());
        assert!(errors.to_string().contains("cannot read the scenario file"));
    }

    #[test]
    fn locate_finds_nested_paths() {
        let root = DeTable::parse(VALID).unwrap();
        let (line, _) = crate::scenario::diagnostic::line_column(VALID, locate(&root, "steps[2].action").start);
        assert_eq!(line, 26);
        assert_eq!(locate(&root, "nowhere"), root.span());
    }
}
