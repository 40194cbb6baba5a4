//! One failing and one clean example per rule.

use super::*;
use crate::lint::compose;
use crate::lint::kubernetes;
use crate::lint::shell::{self, Origin};
use crate::lint::yaml;

fn host(text: &str) -> Vec<Spot> {
    check(&shell::parse(text, Origin::FILE), &Place::Host, &KnownVolumes::new())
}

fn of(spots: &[Spot], rule: Rule) -> Vec<(usize, usize)> {
    spots
        .iter()
        .filter(|spot| spot.rule == rule)
        .map(|spot| spot.position)
        .collect()
}

#[test]
fn unknown_flag_names_the_real_one_and_known_flags_pass() {
    let spots = host("mongorestore --dry-run --host h:1 /backup/x\n");
    assert_eq!(of(&spots, Rule::UnknownFlag), [(1, 14)]);
    let unknown = spots.iter().find(|spot| spot.rule == Rule::UnknownFlag).unwrap();
    assert!(unknown.hint.contains("--dryRun"), "{unknown:?}");
    let clean = host(
        "mongorestore --uri=\"$URI\" -d shepherd_cms --drop --nsInclude 'a.*' -j 2 /backup/x >log 2>&1\nmongosh --quiet --eval 'db.stats()'\n",
    );
    assert_eq!(of(&clean, Rule::UnknownFlag), [], "{clean:?}");
}

#[test]
fn archive_with_a_space_is_an_error_and_with_an_equals_sign_is_not() {
    assert_eq!(
        of(
            &host("mongodump --oplog --archive /b/x.gz --gzip\n"),
            Rule::ArchiveValue
        ),
        [(1, 19)]
    );
    assert_eq!(
        of(
            &host("mongodump --oplog --archive=/b/x.gz --gzip\n"),
            Rule::ArchiveValue
        ),
        []
    );
    assert_eq!(
        of(
            &host("mongodump --oplog --archive --gzip > /b/x.gz\n"),
            Rule::ArchiveValue
        ),
        []
    );
}

#[test]
fn an_unchecked_dump_before_a_success_message_is_found_and_set_e_or_a_check_clears_it() {
    let flawed = "mongodump --out /b/x\ntar -czf x.tgz /b/x\necho \"Backup completed\"\n";
    assert_eq!(of(&host(flawed), Rule::UncheckedDump), [(1, 1)]);
    assert_eq!(
        of(&host(&format!("set -euo pipefail\n{flawed}")), Rule::UncheckedDump),
        []
    );
    assert_eq!(
        of(
            &host("mongodump --out /b/x || exit 1\necho done\n"),
            Rule::UncheckedDump
        ),
        []
    );
    assert_eq!(
        of(
            &host("if mongodump --out /b/x; then echo \"success\"; fi\n"),
            Rule::UncheckedDump
        ),
        []
    );
    // A pipe hides the dump's status even under `set -e`, unless pipefail is set.
    assert_eq!(
        of(
            &host("set -e\nmongodump --archive | gzip > x\necho completed\n"),
            Rule::UncheckedDump
        ),
        [(2, 1)]
    );
    assert_eq!(
        of(
            &host("set -eo pipefail\nmongodump --archive | gzip > x\necho completed\n"),
            Rule::UncheckedDump
        ),
        []
    );
}

#[test]
fn retention_by_age_is_found_unless_a_newer_backup_is_checked() {
    let flawed = "find /b -name 'x_*' -mtime +30 -delete\nfind /b -mtime +7 -exec rm -f {} \\;\n";
    assert_eq!(of(&host(flawed), Rule::RetentionByAge), [(1, 21), (2, 9)]);
    let clean =
        "if [ -n \"$(find /b -mtime -1)\" ]; then\n  find /b -mtime +30 -delete\nfi\nfind /b -mtime +30 -print\n";
    assert_eq!(of(&host(clean), Rule::RetentionByAge), []);
    assert_eq!(
        of(
            &host("set -e\nmongodump --out /b/x\nfind /b -mtime +30 -delete\n"),
            Rule::RetentionByAge
        ),
        []
    );
}

#[test]
fn passwords_on_a_command_line_are_found_and_a_config_file_or_a_prompt_is_not() {
    let spots = host(
        "mongodump -u admin -p s3cret --out x\nmongosh mongodb://admin:hunter2@db:27017/admin\nmongorestore --password=\"$PW\" x\n",
    );
    assert_eq!(of(&spots, Rule::CredentialsInArgv), [(1, 20), (2, 9), (3, 14)]);
    let clean = host(
        "mongodump --config /etc/dump.yaml --out x\nmongosh -u admin -p --eval 1\nmongosh \"mongodb://admin:****@db/\"\n",
    );
    assert_eq!(of(&clean, Rule::CredentialsInArgv), []);
}

#[test]
fn a_dump_inside_a_container_without_a_volume_is_found_and_one_onto_a_volume_is_not() {
    let script = shell::parse(
        "docker exec -i mongo-primary mongodump --db x --out /backup/y\n",
        Origin::FILE,
    );
    let none = KnownVolumes::new();
    assert_eq!(
        of(&check(&script, &Place::Host, &none), Rule::ContainerFilesystem),
        [(1, 47)]
    );
    let compose_file = "services:\n  mongo:\n    image: mongo:7.0\n    container_name: mongo-primary\n    volumes:\n      - ./backups:/backup:rw\n";
    let mut volumes = KnownVolumes::new();
    yaml::parse_documents(compose_file, 1)
        .iter()
        .for_each(|document| compose::collect_volumes(document, &mut volumes));
    assert_eq!(
        of(&check(&script, &Place::Host, &volumes), Rule::ContainerFilesystem),
        []
    );
    // A pod: the mount path decides.
    let manifest = |mount: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: b\n    command: [\"mongodump\", \"--out=/backup/x\"]\n    volumeMounts:\n    - mountPath: {mount}\n"
        )
    };
    let flawed = &yaml::parse_documents(&manifest("/data"), 1)[0];
    assert_eq!(
        of(&kubernetes::check(flawed, &none), Rule::ContainerFilesystem),
        [(6, 29)]
    );
    let clean = &yaml::parse_documents(&manifest("/backup"), 1)[0];
    assert_eq!(of(&kubernetes::check(clean, &none), Rule::ContainerFilesystem), []);
}

#[test]
fn a_compose_service_dumping_outside_its_volumes_is_found() {
    let text = "services:\n  backup:\n    image: mongo:7.0\n    command: mongodump --uri mongodb://mongo --oplog --out /dump\n    volumes:\n      - type: volume\n        target: /srv\n";
    let document = &yaml::parse_documents(text, 1)[0];
    assert_eq!(
        of(
            &compose::check(document, &KnownVolumes::new()),
            Rule::ContainerFilesystem
        ),
        [(4, 54)]
    );
    let fixed = text.replace("/srv", "/dump");
    let document = &yaml::parse_documents(&fixed, 1)[0];
    assert_eq!(
        of(
            &compose::check(document, &KnownVolumes::new()),
            Rule::ContainerFilesystem
        ),
        []
    );
}

#[test]
fn dry_run_and_existence_tests_as_verification_are_found_and_a_real_restore_is_not() {
    let spots = host(
        "if mongorestore --dryRun /b/x; then echo ok; fi\nif [ -f /b/x.tgz ]; then\n  echo \"Backup verified\"\nfi\n",
    );
    assert_eq!(of(&spots, Rule::HollowVerification), [(1, 17), (2, 4)]);
    let clean =
        host("mongorestore --uri=\"$SCRATCH\" --drop /b/x\nif [ -f /b/x.tgz ]; then\n  tar -tzf /b/x.tgz\nfi\n");
    assert_eq!(of(&clean, Rule::HollowVerification), []);
}

#[test]
fn a_dump_without_oplog_is_a_note_and_with_it_is_not() {
    let spots = host("mongodump --db x --out y\n");
    assert_eq!(of(&spots, Rule::NotPointInTime), [(1, 11)]);
    assert!(!Rule::NotPointInTime.severity().fails());
    assert_eq!(of(&host("mongodump --oplog --out y\n"), Rule::NotPointInTime), []);
}

#[test]
fn the_runbook_copy_of_the_script_has_its_known_flaws_located() {
    let text = include_str!("../../../fixtures/runbook/backup-mongo.sh");
    let spots = host(text);
    assert_eq!(of(&spots, Rule::UncheckedDump), [(30, 5), (35, 5)]);
    assert_eq!(of(&spots, Rule::RetentionByAge), [(46, 53)]);
}
