//! Drills as Kubernetes jobs (issue 14, item 7): the manifests under
//! `deploy/kubernetes/` are Kubernetes YAML that keeps its promises (every
//! CronJob runs the Job's pod template, non-root, read-only, no
//! capabilities, no API token, the URI only as a mounted file), and they run:
//! the image `scripts/build-image` makes runs a passing external drill
//! against a FerretDB container on a shared Podman network, and the Job's
//! pod template does the same under `podman kube play`.
//!
//! The Podman test requires the engine and Debian's `catatonit` (the pause
//! process `podman kube play` needs): without them it fails with a message
//! naming `scripts/setup` and `scripts/podman-service`, never skips.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use drdrill::provider::containers::{ContainerDeployment, ContainerSpec, engine};
use serde_json::{Value, json};

use crate::ctx;

/// The folder of the manifests.
fn manifests_dir() -> PathBuf {
    ctx::project_root().join("deploy/kubernetes")
}

/// Every YAML document of `path`, parsed by a YAML parser (not the
/// linter's manifest reader), as JSON values.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The one document of `kind` named `name` in `file` of the manifests.
fn manifest(file: &str, kind: &str, name: &str) -> Value {
    documents(&manifests_dir().join(file))
        .into_iter()
        .find(|document| document["kind"] == kind && document["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {file}"))
}

/// Every manifest file, sorted.
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    files.sort();
    files
}

/// The Job's pod template, with its container's arguments taken out.
fn without_arguments(template: &Value) -> Value {
    let mut template = template.clone();
    for container in template["spec"]["containers"].as_array_mut().unwrap() {
        container.as_object_mut().unwrap().remove("args");
    }
    template
}

/// Every pod spec of the manifests, named by the manifest it is in.
fn pod_specs() -> Vec<(String, Value)> {
    let mut specs = Vec::new();
    for file in manifest_files() {
        for document in documents(&file) {
            let name = format!("{} {}", document["kind"], document["metadata"]["name"]);
            let spec = match document["kind"].as_str() {
                Some("Job" | "Deployment") => &document["spec"]["template"]["spec"],
                Some("CronJob") => &document["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                _ => continue,
            };
            specs.push((name, spec.clone()));
        }
    }
    specs
}

#[test]
fn every_manifest_is_kubernetes_yaml_with_an_api_version_and_a_kind() {
    let expected = [
        ("batch/v1", "CronJob"),
        ("batch/v1", "Job"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
    ];
    let mut listed = Vec::new();
    for file in manifest_files() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for document in documents(&file) {
            let api_version = document["apiVersion"].as_str().unwrap_or_default().to_string();
            let kind = document["kind"].as_str().unwrap_or_default().to_string();
            assert!(
                expected.contains(&(api_version.as_str(), kind.as_str())),
                "{name}: unexpected apiVersion {api_version:?} / kind {kind:?}"
            );
            if kind != "Kustomization" {
                assert!(
                    document["metadata"]["name"].is_string(),
                    "{name}: {kind} without a name"
                );
            }
            listed.push(name.clone());
        }
    }
    // The kustomization names every other file, so `kubectl apply -k` applies them all.
    let kustomization = &documents(&manifests_dir().join("kustomization.yaml"))[0];
    let mut resources: Vec<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource.as_str().unwrap())
        .collect();
    resources.sort();
    listed.retain(|name| name != "kustomization.yaml");
    listed.dedup();
    assert_eq!(resources, listed);
    let kinds: Vec<String> = pod_specs().into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        kinds,
        [
            "\"CronJob\" \"drdrill-weekly\"",
            "\"CronJob\" \"drdrill-monthly\"",
            "\"CronJob\" \"drdrill-quarterly\"",
            "\"Job\" \"drdrill-once\"",
            "\"Deployment\" \"drdrill-metrics\""
        ]
    );
}

#[test]
fn each_cadence_has_a_cronjob_running_the_jobs_pod_template_with_its_tag() {
    let job = manifest("job.yaml", "Job", "drdrill-once");
    let template = &job["spec"]["template"];
    assert_eq!(
        template["spec"]["containers"][0]["args"],
        json!(["run", "/etc/drdrill/scenarios", "--out", "/var/lib/drdrill/reports"])
    );
    for cadence in ["weekly", "monthly", "quarterly"] {
        let cronjob = manifest("cronjobs.yaml", "CronJob", &format!("drdrill-{cadence}"));
        let job_spec = &cronjob["spec"]["jobTemplate"]["spec"];
        let cron_template = &job_spec["template"];
        assert_eq!(
            without_arguments(cron_template),
            without_arguments(template),
            "{cadence}"
        );
        assert_eq!(
            cron_template["spec"]["containers"][0]["args"],
            json!([
                "run",
                "--tag",
                cadence,
                "/etc/drdrill/scenarios",
                "--out",
                "/var/lib/drdrill/reports"
            ])
        );
        for key in ["backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"] {
            assert_eq!(job_spec[key], job["spec"][key], "{cadence}: {key}");
        }
        assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
        assert!(cronjob["spec"]["schedule"].is_string());
    }
    // Every cadence selects at least one scenario of the ConfigMap.
    let scenarios = manifest("scenarios.yaml", "ConfigMap", "drdrill-scenarios");
    for cadence in ["weekly", "monthly", "quarterly"] {
        let tagged = scenarios["data"].as_object().unwrap().values().any(|text| {
            let scenario: toml::Table = text.as_str().unwrap().parse().unwrap();
            scenario["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|tag| tag.as_str() == Some(cadence))
        });
        assert!(tagged, "no scenario of the ConfigMap is tagged {cadence}");
    }
}

#[test]
fn every_pod_runs_as_non_root_read_only_without_capabilities_or_an_api_token() {
    for (name, spec) in pod_specs() {
        assert_eq!(spec["serviceAccountName"], "drdrill", "{name}");
        assert_eq!(spec["automountServiceAccountToken"], false, "{name}");
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(spec["securityContext"]["runAsUser"], 10001, "{name}");
        for container in spec["containers"].as_array().unwrap() {
            let context = &container["securityContext"];
            assert_eq!(context["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(context["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(context["capabilities"]["drop"], json!(["ALL"]), "{name}");
            assert!(context["capabilities"].get("add").is_none(), "{name}");
            // What drdrill writes goes to volumes: its state and reports, and /tmp.
            let mounts: Vec<&str> = container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|mount| mount["mountPath"].as_str().unwrap())
                .collect();
            assert!(
                mounts.contains(&"/var/lib/drdrill") && mounts.contains(&"/tmp"),
                "{name}: {mounts:?}"
            );
        }
    }
    // drdrill needs no Kubernetes API access: the Role grants nothing.
    assert_eq!(manifest("rbac.yaml", "Role", "drdrill")["rules"], json!([]));
    let account = manifest("rbac.yaml", "ServiceAccount", "drdrill");
    assert_eq!(account["automountServiceAccountToken"], false);
    let binding = manifest("rbac.yaml", "RoleBinding", "drdrill");
    assert_eq!(binding["roleRef"]["name"], "drdrill");
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "drdrill"}])
    );
}

#[test]
fn the_uri_reaches_drdrill_only_as_the_secrets_mounted_file() {
    let secret = manifest("secret.yaml", "Secret", "drdrill-source");
    assert!(secret["stringData"]["uri"].is_string());
    let job = manifest("job.yaml", "Job", "drdrill-once");
    let spec = &job["spec"]["template"]["spec"];
    let volume = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|volume| volume["secret"]["secretName"] == "drdrill-source")
        .expect("the Secret as a volume");
    // Podman 4.3 dereferences a missing `optional` of a Secret volume.
    assert_eq!(volume["secret"]["optional"], false);
    let mount = spec["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|mount| mount["name"] == volume["name"])
        .expect("the Secret mounted");
    assert_eq!(mount["readOnly"], true);
    let uri_file = format!("{}/uri", mount["mountPath"].as_str().unwrap());
    let scenarios = manifest("scenarios.yaml", "ConfigMap", "drdrill-scenarios");
    for (key, text) in scenarios["data"].as_object().unwrap() {
        let scenario: toml::Table = text.as_str().unwrap().parse().unwrap();
        let topology = scenario["topology"].as_table().unwrap();
        assert_eq!(topology["provider"].as_str(), Some("external"), "{key}");
        assert_eq!(topology["uri_file"].as_str(), Some(uri_file.as_str()), "{key}");
        assert!(
            topology.get("uri").is_none() && topology.get("uri_env").is_none(),
            "{key}"
        );
    }
    for (name, spec) in pod_specs() {
        let shown = serde_json::to_string(&spec["containers"]).unwrap();
        assert!(
            !shown.contains("mongodb://") && !shown.contains("secretKeyRef"),
            "{name}: {shown}"
        );
    }
}

#[test]
fn the_metrics_service_and_service_monitor_are_the_fixtures() {
    let fixture = documents(&ctx::project_root().join("fixtures/prometheus/servicemonitor.yml"));
    let monitor = manifest("metrics.yaml", "ServiceMonitor", "drdrill");
    assert_eq!(
        &monitor,
        fixture
            .iter()
            .find(|document| document["kind"] == "ServiceMonitor")
            .unwrap()
    );
    let mut service = manifest("metrics.yaml", "Service", "drdrill-metrics");
    // The one difference: drill pods carry the same name label and must
    // never be among the Service's endpoints.
    let selector = service["spec"]["selector"].as_object_mut().unwrap();
    assert_eq!(selector.remove("app.kubernetes.io/component"), Some(json!("metrics")));
    assert_eq!(
        &service,
        fixture.iter().find(|document| document["kind"] == "Service").unwrap()
    );
    let deployment = manifest("metrics.yaml", "Deployment", "drdrill-metrics");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"], json!(["metrics", "--listen", "0.0.0.0:9464"]));
    assert_eq!(container["ports"][0], json!({"name": "metrics", "containerPort": 9464}));
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"],
        "metrics"
    );
}

/// The shipped scenarios are valid, and the runbook linter finds nothing
/// in the manifests (no credentials on a command line, no backup written
/// to the container's own file system).
#[test]
fn the_configmaps_scenarios_validate_and_the_linter_finds_nothing_in_the_manifests() {
    let folder = tempfile::tempdir().unwrap();
    write_scenarios(
        folder.path(),
        &manifest("scenarios.yaml", "ConfigMap", "drdrill-scenarios"),
    );
    let output = ctx::drdrill().arg("validate").arg(folder.path()).output().unwrap();
    let (stdout, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let output = ctx::drdrill().arg("lint").arg(manifests_dir()).output().unwrap();
    let (stdout, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
}

/// Writes each key of the ConfigMap's `data` as a file in `folder`.
fn write_scenarios(folder: &Path, config_map: &Value) {
    for (key, text) in config_map["data"].as_object().unwrap() {
        std::fs::write(folder.join(key), text.as_str().unwrap()).unwrap();
    }
}

/// A `podman` command for the engine the harness talks to: the service
/// `DOCKER_HOST` names (as `scripts/build-image` does), else the local one.
fn podman() -> Command {
    let mut command = Command::new("podman");
    if let Some(host) = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|host| host.starts_with("unix://"))
    {
        command.arg("--url").arg(host);
    }
    command
}

/// Runs `podman ARGS`, failing the test (with its output) unless it succeeds.
fn podman_ok(args: &[&str]) -> Output {
    let output = podman().args(args).output().expect("run podman");
    let (stdout, stderr) = ctx::text(&output);
    assert!(output.status.success(), "podman {}: {stdout}{stderr}", args.join(" "));
    output
}

/// Fails the test, naming the fix, without Podman's service or catatonit.
async fn require_podman_and_catatonit() {
    ctx::test_dirs();
    if let Err(error) = engine::connect_and_ping().await {
        panic!("the kube tests need Podman: run scripts/setup, then `eval \"$(scripts/podman-service)\"` ({error})");
    }
    let catatonit = [
        "/usr/libexec/podman/catatonit",
        "/usr/bin/catatonit",
        "/usr/local/bin/catatonit",
    ];
    assert!(
        catatonit.iter().any(|path| Path::new(path).exists()),
        "`podman kube play` needs Debian's catatonit (its pause process): run scripts/setup"
    );
}

/// Removes, also when the test fails, what the test made in the engine:
/// the image, the container it ran, the pods `kube play` started and the
/// ConfigMap's volume. Each removal is best effort (the thing may never
/// have been made).
#[derive(Default)]
struct EngineLeftovers {
    /// The image `scripts/build-image` built, named for this test.
    image: Option<String>,
    /// The name the `podman run`s of the image use.
    container: Option<String>,
    /// The pods played and not yet brought down.
    pods: Vec<String>,
    /// The volumes `kube play` keeps a ConfigMap's data in (named after it).
    volumes: Vec<String>,
}

impl Drop for EngineLeftovers {
    fn drop(&mut self) {
        let quietly = |args: &[&str]| {
            let _ = podman().args(args).output();
        };
        if let Some(container) = &self.container {
            quietly(&["rm", "--force", container]);
        }
        // By name: the played file may be gone with its temporary folder.
        for pod in &self.pods {
            quietly(&["pod", "rm", "--force", pod]);
        }
        for volume in &self.volumes {
            quietly(&["volume", "rm", "--force", volume]);
        }
        if let Some(image) = &self.image {
            quietly(&["rmi", "--force", image]);
        }
    }
}

/// What the test's drills share: the source, its URI as seen from the
/// shared network, and host folders standing in for the pod's volumes.
struct DrillSite {
    /// The FerretDB container; torn down at the end of the test.
    deployment: ContainerDeployment,
    /// The source's URI on the published port, for the test itself.
    host_uri: String,
    /// The deployment's network, which the drill containers join.
    network: String,
    /// The ConfigMap's scenarios, as files.
    scenarios: tempfile::TempDir,
    /// The Secret's file `uri`, as the pod sees it.
    source: tempfile::TempDir,
}

impl DrillSite {
    /// Starts FerretDB on its own network, seeds it, and writes the
    /// ConfigMap's scenarios and a Secret-like file with the URI the
    /// containers reach it at.
    async fn start() -> Self {
        let deployment = ContainerDeployment::start(ContainerSpec::new(ctx::run_id("kube")))
            .await
            .unwrap_or_else(|error| panic!("cannot start the FerretDB container: {error}"));
        let host_uri = deployment.uri().expose_secret().to_string();
        let output = ctx::run_drdrill(&["seed", "--uri", &host_uri, "--docs", "300"]);
        assert!(output.status.success(), "{:?}", ctx::text(&output));
        let address = deployment.describe().await[0]
            .address
            .clone()
            .expect("a pinned address");
        let network = deployment.network_name();
        let scenarios = readable_tempdir();
        write_scenarios(
            scenarios.path(),
            &manifest("scenarios.yaml", "ConfigMap", "drdrill-scenarios"),
        );
        let source = readable_tempdir();
        let uri = format!("mongodb://{address}:27017/?directConnection=true\n");
        std::fs::write(source.path().join("uri"), uri).unwrap();
        Self {
            deployment,
            host_uri,
            network,
            scenarios,
            source,
        }
    }

    /// The source's checksums, to show that the drills never wrote to it.
    fn checksums(&self) -> String {
        let output = ctx::run_drdrill(&["checksum", "--uri", &self.host_uri, "--json"]);
        assert!(output.status.success(), "{:?}", ctx::text(&output));
        String::from_utf8(output.stdout).unwrap()
    }
}

/// A temporary folder the container's user (10001) can read, or, for the
/// state and reports, write: a bind mount keeps the host's permissions.
fn readable_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let folder = tempfile::tempdir().unwrap();
    std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    folder
}

/// The verdicts of the combined `report.json` under `data`, each with what
/// its RTO ran from (`restore-start`: the drill restored and verified a
/// copy, with no disaster), and its exit code.
fn verdicts(data: &Path) -> (Vec<String>, i64) {
    let text = std::fs::read_to_string(data.join("reports/report.json")).expect("the combined report");
    let report: Value = serde_json::from_str(&text).unwrap();
    let verdicts = report["drills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|drill| {
            let rto_from = &drill["measurements"]["rto_from"];
            format!("{}: {} from {rto_from}", drill["scenario"], drill["verdict"]["kind"])
        })
        .collect();
    (verdicts, report["exit_code"].as_i64().unwrap())
}

const PASSED: [&str; 2] = [
    "\"source-archive-monthly\": \"passed\" from \"restore-start\"",
    "\"source-backup-weekly\": \"passed\" from \"restore-start\"",
];

/// `podman run` of the image as the pod would run it: non-root (the image's
/// user), read-only root, no capabilities, the Secret-like file and the
/// scenarios mounted read-only, state and reports on a writable folder.
fn run_the_image(site: &DrillSite, image: &str, name: &str, data: &Path) {
    let mount = |host: &Path, at: &str| format!("{}:{at}:ro", host.display());
    let args = [
        "run",
        "--name",
        name,
        "--network",
        &site.network,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--tmpfs",
        "/tmp",
        "--volume",
        &mount(site.scenarios.path(), "/etc/drdrill/scenarios"),
        "--volume",
        &mount(site.source.path(), "/etc/drdrill/source"),
        "--volume",
        &format!("{}:/var/lib/drdrill", data.display()),
        image,
        "run",
        "/etc/drdrill/scenarios",
        "--out",
        "/var/lib/drdrill/reports",
    ];
    podman_drill(&args, "2 drills: 2 passed");
    assert_eq!(verdicts(data), (PASSED.map(String::from).to_vec(), 0));
    // It ran as the image's unprivileged user: the reports are that user's.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(data.join("reports/report.json")).unwrap().uid(),
        10001
    );
}

/// A pod template of the manifests as a Pod for `podman kube play` (Podman
/// 4.3 plays Pods, not Jobs), after the ConfigMap it mounts if any, as JSON
/// documents (YAML holds JSON). What changes, and why:
/// - the image is the one this test built, the pod and the ConfigMap are
///   named for this test (`kube play` keeps a ConfigMap's data in a volume
///   of its name);
/// - the Secret's volume is a host folder holding the same `uri` file:
///   Podman 4.3 writes a Secret volume's `data` values still base64-encoded
///   and drops `stringData`, so no Secret it plays can stand in for one;
/// - the PersistentVolumeClaim is a host folder: Podman ignores `fsGroup`,
///   so a new named volume is root's and the non-root user could not write
///   its history there; the folder also lets the test read the reports.
fn pod_documents(site: &DrillSite, image: &str, template: &Value, pod: &str, data: &Path) -> String {
    let config_map = format!("{pod}-scenarios");
    let mut documents = Vec::new();
    let mut spec = template["spec"].clone();
    spec["containers"][0]["image"] = json!(image);
    let host_folder = |path: &Path| json!({"path": path.display().to_string(), "type": "Directory"});
    for volume in spec["volumes"].as_array_mut().unwrap() {
        let volume = volume.as_object_mut().unwrap();
        if let Some(source) = volume.get_mut("configMap") {
            source["name"] = json!(config_map);
            let mut scenarios = manifest("scenarios.yaml", "ConfigMap", "drdrill-scenarios");
            scenarios["metadata"]["name"] = json!(config_map);
            documents.push(scenarios);
        } else if volume.remove("secret").is_some() {
            volume.insert("hostPath".into(), host_folder(site.source.path()));
        } else if volume.remove("persistentVolumeClaim").is_some() {
            volume.insert("hostPath".into(), host_folder(data));
        }
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod, "labels": template["metadata"]["labels"]},
        "spec": spec,
    });
    documents.push(pod);
    let texts: Vec<String> = documents
        .iter()
        .map(|document| serde_json::to_string_pretty(document).unwrap())
        .collect();
    texts.join("\n---\n") + "\n"
}

/// Waits (`podman wait`, bounded by `timeout`) until `container` exits;
/// its exit code.
async fn exit_code(container: &str, timeout: Duration) -> i32 {
    let mut command = tokio::process::Command::from(podman());
    command
        .args(["wait", "--condition", "exited", container])
        .kill_on_drop(true);
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("{container} did not exit within {timeout:?}"))
        .expect("run podman wait");
    let (stdout, stderr) = ctx::text(&output);
    assert!(output.status.success(), "podman wait {container}: {stdout}{stderr}");
    stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("podman wait printed {stdout:?}"))
}

/// A pod played from a template of the manifests; `down` removes it.
struct PlayedPod {
    /// The pod's name.
    name: String,
    /// The file played, kept for `kube down`.
    file: PathBuf,
    /// The folder holding `file`.
    _folder: tempfile::TempDir,
}

impl PlayedPod {
    /// Plays `template` as the pod `name` on the source's network, with the
    /// data volume at `data`; the pod and its ConfigMap's volume are noted
    /// in `leftovers` before anything is made.
    fn play(
        site: &DrillSite,
        image: &str,
        template: &Value,
        name: &str,
        data: &Path,
        leftovers: &mut EngineLeftovers,
    ) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("pod.yaml");
        std::fs::write(&file, pod_documents(site, image, template, name, data)).unwrap();
        leftovers.pods.push(name.to_string());
        let mounts_config_map = template["spec"]["volumes"]
            .as_array()
            .is_some_and(|volumes| volumes.iter().any(|volume| volume.get("configMap").is_some()));
        if mounts_config_map {
            leftovers.volumes.push(format!("{name}-scenarios"));
        }
        podman_ok(&["kube", "play", "--network", &site.network, &file.display().to_string()]);
        Self {
            name: name.to_string(),
            file,
            _folder: folder,
        }
    }

    /// Its one container: `kube play` names it `<pod>-<container>`.
    fn container(&self) -> String {
        format!("{}-drdrill", self.name)
    }

    /// The container's output so far.
    fn logs(&self) -> (String, String) {
        ctx::text(&podman_ok(&["logs", &self.container()]))
    }

    /// `podman kube down` of the played file.
    fn down(self, leftovers: &mut EngineLeftovers) {
        podman_ok(&["kube", "down", &self.file.display().to_string()]);
        leftovers.pods.retain(|pod| *pod != self.name);
    }
}

/// Plays the Job's pod on the source's network and checks that its drill
/// passed: exit status 0, the logs, the reports in `data`.
async fn play_the_jobs_pod(site: &DrillSite, image: &str, unique: &str, data: &Path, leftovers: &mut EngineLeftovers) {
    let template = &manifest("job.yaml", "Job", "drdrill-once")["spec"]["template"];
    let pod = PlayedPod::play(site, image, template, unique, data, leftovers);
    let code = exit_code(&pod.container(), Duration::from_secs(300)).await;
    let (stdout, stderr) = pod.logs();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 drills: 2 passed"), "{stdout}");
    assert_eq!(verdicts(data), (PASSED.map(String::from).to_vec(), 0));
    pod.down(leftovers);
}

/// Plays the metrics Deployment's pod on the history in `data` and scrapes
/// it from the shared network: the drills the Job's pod ran are there.
fn play_the_metrics_pod(site: &DrillSite, image: &str, unique: &str, data: &Path, leftovers: &mut EngineLeftovers) {
    let template = &manifest("metrics.yaml", "Deployment", "drdrill-metrics")["spec"]["template"];
    let pod = PlayedPod::play(site, image, template, &format!("{unique}-metrics"), data, leftovers);
    ctx::wait_until("the metrics listener", Duration::from_secs(60), || {
        pod.logs().1.contains("serving http://")
    });
    let infra = podman_ok(&["pod", "inspect", &pod.name, "--format", "{{.InfraContainerID}}"]);
    let infra = ctx::text(&infra).0.trim().to_string();
    let address = podman_ok(&[
        "inspect",
        &infra,
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    ]);
    let body = scrape(&format!("{}:9464", ctx::text(&address).0.trim()));
    for scenario in ["source-archive-monthly", "source-backup-weekly"] {
        let passed = format!("drdrill_last_run_passed{{scenario=\"{scenario}\"}} 1");
        assert!(body.contains(&passed), "{passed} not in {body}");
    }
    pod.down(leftovers);
}

/// `GET /metrics` at `address`, the body.
fn scrape(address: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap_or_else(|error| panic!("{address}: {error}"));
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The shipped `ci-release-gate` scenario run whole inside the image: the
/// FerretDB binary the image holds serves as the local provider's node,
/// started by the non-root user on a read-only root file system.
fn run_a_shipped_scenario_inside_the_image(image: &str, name: &str) {
    let args = [
        "run",
        "--rm",
        "--name",
        name,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--tmpfs",
        "/tmp",
        // `U`: the tmpfs belongs to the container's user, as fsGroup makes
        // a Kubernetes volume writable.
        "--tmpfs",
        "/var/lib/drdrill:U",
        image,
        "run",
        "/usr/share/drdrill/scenarios/ci-release-gate.toml",
    ];
    podman_drill(&args, "1 drill: 1 passed");
}

/// Runs `podman ARGS`, a drill in the image, and checks that it passed:
/// exit status 0 and `summary` in its output.
fn podman_drill(args: &[&str], summary: &str) {
    let output = podman().args(args).output().expect("run podman");
    let (stdout, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(summary), "{stdout}");
}

/// Builds the image with `scripts/build-image` from the binary these tests
/// already built: the debug build, not `target/release/drdrill`, which
/// would cost CI a second, release compile of the whole crate. What the
/// image holds does not depend on the build profile.
fn build_image(unique: &str, leftovers: &mut EngineLeftovers) -> String {
    let image = format!("localhost/drdrill:{unique}");
    leftovers.image = Some(image.clone());
    let output = Command::new(ctx::project_root().join("scripts/build-image"))
        .args(["--binary", env!("CARGO_BIN_EXE_drdrill"), "--tag", &image])
        .output()
        .expect("run scripts/build-image");
    let (stdout, stderr) = ctx::text(&output);
    assert!(output.status.success(), "scripts/build-image: {stdout}{stderr}");
    assert_eq!(stdout.trim(), image);
    image
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_and_the_jobs_pod_template_run_a_passing_drill_under_podman() {
    require_podman_and_catatonit().await;
    let unique = format!("kube-test-{}", std::process::id());
    let site = DrillSite::start().await;
    // Declared after the site: on a panic, the containers go before the
    // deployment's network they are attached to.
    let mut leftovers = EngineLeftovers::default();
    let image = build_image(&unique, &mut leftovers);
    let before = site.checksums();

    let data = readable_tempdir();
    let container = format!("{unique}-run");
    leftovers.container = Some(container.clone());
    run_the_image(&site, &image, &container, data.path());
    podman_ok(&["rm", &container]);
    run_a_shipped_scenario_inside_the_image(&image, &container);
    let data = readable_tempdir();
    play_the_jobs_pod(&site, &image, &unique, data.path(), &mut leftovers).await;
    play_the_metrics_pod(&site, &image, &unique, data.path(), &mut leftovers);

    // External drills without a disaster step never write to the source.
    assert_eq!(site.checksums(), before, "a drill wrote to the source");
    drop(leftovers);
    assert_eq!(site.deployment.teardown().await, None);
}
