//! The drill history end to end: real `drdrill run`s of a short shipped
//! scenario on FerretDB recorded in a real SQLite file and in a real
//! PostgreSQL cluster (started once for this test binary, stopped when it
//! exits), then `history`, `status`, `gate` and `metrics` read back, checked
//! against the reports, by `promtool` and by headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use drdrill::history::{DrillRecord, HistoryLocation, HistoryStore};
use drdrill::provider::local::PostgresCluster;
use serde_json::Value;

use crate::ctx::{self, text, wait_until};

/// A PostgreSQL cluster shared by every history test of this binary: its
/// URL and the next free database number. Stopped at exit (`atexit`: the
/// test harness has no hook after the last test).
struct SharedPostgres {
    port: u16,
    data_dir: PathBuf,
    bin_dir: PathBuf,
}

static POSTGRES: OnceLock<SharedPostgres> = OnceLock::new();

extern "C" fn stop_shared_postgres() {
    if let Some(postgres) = POSTGRES.get() {
        drdrill::provider::local::stop_cluster_blocking(&postgres.data_dir, &postgres.bin_dir);
        let _ = std::fs::remove_dir_all(&postgres.data_dir);
    }
}

/// A fresh PostgreSQL database on the shared cluster, as a `--history` URL.
fn postgres_history(name: &str) -> String {
    let postgres = POSTGRES.get_or_init(|| {
        let (state, _) = ctx::test_dirs();
        let bin_dir = drdrill::provider::tools::postgres_bin()
            .unwrap_or_else(|error| panic!("{error}: run scripts/setup (it installs postgresql)"));
        let data_dir = state.join("history-postgres");
        let cluster = runtime()
            .block_on(PostgresCluster::start(data_dir, bin_dir))
            .unwrap_or_else(|error| panic!("cannot start PostgreSQL: {error}"));
        // SAFETY: registers a plain function, run once at process exit.
        unsafe { libc::atexit(stop_shared_postgres) };
        let shared = SharedPostgres {
            port: cluster.port,
            data_dir: cluster.data_dir.clone(),
            bin_dir: cluster.bin_dir.clone(),
        };
        // The cluster is stopped by `stop_shared_postgres`, not by a drop.
        std::mem::forget(cluster);
        shared
    });
    let cluster_url = format!("postgres://postgres@127.0.0.1:{}", postgres.port);
    let database = format!("history_{name}");
    let created = std::process::Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(postgres.bin_dir.join("createdb"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &postgres.port.to_string(),
            "-U",
            "postgres",
            &database,
        ])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "createdb: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    format!("{cluster_url}/{database}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh SQLite history file.
fn sqlite_history(folder: &Path) -> String {
    folder.join("history.db").display().to_string()
}

/// The shipped quick scenario, renamed and tagged weekly, with `extra`
/// lines appended to its top level and `before_restore` as steps inserted
/// before its restore.
fn scenario_copy(folder: &Path, name: &str, top: &str, before_restore: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(ctx::project_root().join("scenarios/ci-release-gate.toml")).unwrap();
    let text = shipped
        .replace("name = \"ci-release-gate\"", &format!("name = \"{name}\"\n{top}"))
        .replace("tags = [\"ci-gate\"]", "tags = [\"ci-gate\", \"weekly\"]")
        .replace(
            "[[steps]]\nkind = \"restore\"",
            &format!("{before_restore}[[steps]]\nkind = \"restore\""),
        );
    assert!(text.contains(&format!("name = \"{name}\"")) && text.contains("\"weekly\""));
    let path = folder.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `drdrill run FILE --history HISTORY`: its exit status and report.
fn run_drill(file: &Path, out: &Path, history: &str) -> (i32, Value) {
    let output = ctx::drdrill()
        .args(["run", "--quiet", "--history", history, "--out"])
        .arg(out)
        .arg(file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(
        !stderr.contains("not recorded") && !stderr.contains("will not be recorded"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).unwrap_or_else(|_| panic!("no report:\n{stdout}\n{stderr}")),
    )
    .unwrap();
    (output.status.code().unwrap_or(-1), report["drills"][0].clone())
}

fn drdrill(args: &[&str], history: &str) -> Output {
    ctx::drdrill().args(args).args(["--history", history]).output().unwrap()
}

fn json_of(output: &Output) -> Value {
    let (stdout, stderr) = text(output);
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"))
}

/// `promtool check metrics` accepts `metrics`, or the panic shows what it
/// said.
fn promtool_check_metrics(metrics: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("promtool: {error}: run scripts/setup (it installs prometheus)"));
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "promtool refused the metrics:\n{stdout}{stderr}\n{metrics}"
    );
}

/// Three runs, then every command reads the same figures the reports hold.
fn three_runs_agree_with_the_reports(history: &str, name: &str) {
    let folder = tempfile::tempdir().unwrap();
    let file = scenario_copy(folder.path(), name, "", "");
    let mut reports = Vec::new();
    for index in 0..3 {
        let (code, report) = run_drill(&file, &folder.path().join(format!("out-{index}")), history);
        assert_eq!(code, 0, "drill {index} did not pass: {report:#}");
        reports.push(report);
    }
    let listed = json_of(&drdrill(&["history", "--json", name], history));
    let runs = listed[name].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{listed:#}");
    for (run, report) in runs.iter().zip(&reports) {
        assert_eq!(run["run_id"], report["run_id"]);
        assert_eq!(run["verdict"], "passed");
        for figure in ["rto_service_ms", "rto_verified_ms", "rpo_ms"] {
            assert_eq!(run[figure], report["measurements"][figure], "{figure}");
        }
        assert_eq!(run["duration_ms"], report["duration_ms"]);
        assert_eq!(run["cadence_ms"], 8 * 86_400_000u64, "weekly: 8 days");
        assert!(run["backup_bytes"].as_u64().unwrap() > 0, "{run:#}");
    }
    let table = text(&drdrill(&["history", name], history)).0;
    assert!(table.contains(reports[2]["run_id"].as_str().unwrap()), "{table}");

    let status = drdrill(&["status", "--json", name], history);
    assert_eq!(status.status.code(), Some(0), "{:?}", text(&status));
    let status = json_of(&status);
    assert_eq!(status["scenarios"][0]["last_run"]["run_id"], reports[2]["run_id"]);
    assert_eq!(status["scenarios"][0]["overdue"], false);

    // Wide margins: this checks that the gate reads the same runs, not the
    // machine's jitter (the regression test below checks the arithmetic).
    let junit = folder.path().join("gate.xml");
    let gate = drdrill(
        &[
            "gate",
            name,
            "--tolerance",
            "100",
            "--slack",
            "10s",
            "--junit",
            junit.to_str().unwrap(),
        ],
        history,
    );
    assert_eq!(gate.status.code(), Some(0), "{:?}", text(&gate));
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains(&format!("name=\"{name}\"")) && !junit.contains("<failure"),
        "{junit}"
    );

    let textfile = folder.path().join("drdrill.prom");
    let metrics = drdrill(&["metrics", "--textfile", textfile.to_str().unwrap()], history);
    assert_eq!(metrics.status.code(), Some(0), "{:?}", text(&metrics));
    let metrics = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        metrics.contains(&format!(
            "drdrill_drills_total{{scenario=\"{name}\",verdict=\"passed\"}} 3"
        )),
        "{metrics}"
    );
    let rto = reports[2]["measurements"]["rto_service_ms"].as_u64().unwrap() as f64 / 1000.0;
    let line = format!("drdrill_rto_service_seconds{{scenario=\"{name}\"}} ");
    let shown: f64 = metrics
        .lines()
        .find_map(|text| text.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line} in {metrics}"))
        .parse()
        .unwrap();
    assert!((shown - rto).abs() < 1e-9, "{shown} against the report's {rto}");
    promtool_check_metrics(&metrics);
}

#[test]
fn three_runs_give_history_status_gate_and_metrics_that_agree_with_the_reports_on_sqlite() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    three_runs_agree_with_the_reports(&sqlite_history(folder.path()), "history-sqlite");
}

#[test]
fn three_runs_give_history_status_gate_and_metrics_that_agree_with_the_reports_on_postgresql() {
    ctx::test_dirs();
    three_runs_agree_with_the_reports(&postgres_history("agree"), "history-postgres");
}

#[test]
fn a_slowed_restore_fails_the_gate_naming_the_figure_the_median_and_the_tolerance() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    let history = sqlite_history(folder.path());
    let name = "history-regression";
    let normal = scenario_copy(folder.path(), name, "", "");
    for index in 0..2 {
        let (code, report) = run_drill(&normal, &folder.path().join(format!("out-{index}")), &history);
        assert_eq!(code, 0, "{report:#}");
    }
    // The same scenario with a wait in its restore path: the outage, and
    // so both RTOs, grow by six seconds.
    let slowed_folder = folder.path().join("slowed");
    std::fs::create_dir_all(&slowed_folder).unwrap();
    let slowed = scenario_copy(
        &slowed_folder,
        name,
        "",
        "[[steps]]\nkind = \"wait\"\nduration = \"6s\"\n\n",
    );
    let (code, report) = run_drill(&slowed, &folder.path().join("out-slowed"), &history);
    assert_eq!(code, 0, "the slowed drill still meets its 2m objective: {report:#}");

    let gate = drdrill(
        &["gate", name, "--runs", "5", "--tolerance", "20", "--slack", "2s"],
        &history,
    );
    let (stdout, stderr) = text(&gate);
    assert_eq!(gate.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|line| line.contains("rto_service regressed"))
        .unwrap_or_else(|| panic!("no rto_service line: {stdout}"));
    let latest = report["measurements"]["rto_service_ms"].as_u64().unwrap();
    assert!(
        line.contains(&format!("to {latest} ms in {}", report["run_id"].as_str().unwrap())),
        "{line}"
    );
    assert!(line.contains("(median of 2 passing runs: "), "{line}");
    assert!(line.contains("tolerance of 20% and 2000 ms"), "{line}");
}

#[test]
fn an_overdue_cadence_fails_status_and_gate() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    let history = sqlite_history(folder.path());
    let name = "history-overdue";
    let file = scenario_copy(folder.path(), name, "cadence = \"2s\"", "");
    let (code, report) = run_drill(&file, &folder.path().join("out"), &history);
    assert_eq!(code, 0, "{report:#}");
    // Right after the pass it may still be due; the cadence then elapses.
    wait_until("the scenario to be overdue", Duration::from_secs(30), || {
        drdrill(&["status", name], &history).status.code() == Some(1)
    });
    let (stdout, _) = text(&drdrill(&["status", name], &history));
    assert!(stdout.contains("OVERDUE"), "{stdout}");
    let gate = drdrill(&["gate", name], &history);
    let (stdout, stderr) = text(&gate);
    assert_eq!(gate.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{name}: FAILED: overdue since ")), "{stdout}");
}

/// Several writers with their own connections, each recording many drills
/// into one store at once.
fn recorders_at_once(history: &str) {
    let location = HistoryLocation::resolve(Some(history)).unwrap();
    let sample = drdrill::report::sample::sample_report(drdrill::report::sample::SampleKind::Passed);
    let base = DrillRecord::from_report(&sample, Path::new("reports"), None);
    let writers = 6;
    let each = 20;
    runtime().block_on(async {
        let tasks: Vec<_> = (0..writers)
            .map(|writer| {
                let location = location.clone();
                let base = base.clone();
                tokio::spawn(async move {
                    let store = HistoryStore::open(&location).await.unwrap();
                    for index in 0..each {
                        let mut record = base.clone();
                        record.run_id = format!("writer-{writer}-{index}");
                        store.record(&record).await.unwrap();
                    }
                    store.close().await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let store = HistoryStore::open(&location).await.unwrap();
        assert_eq!(store.drills().await.unwrap().len(), writers * each);
        store.close().await;
    });
}

#[test]
fn concurrent_recorders_lose_no_record_on_sqlite_and_postgresql() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    recorders_at_once(&sqlite_history(folder.path()));
    recorders_at_once(&postgres_history("concurrent"));
}

#[test]
fn drills_run_at_once_are_all_recorded() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    let history = sqlite_history(folder.path());
    let file = scenario_copy(folder.path(), "history-parallel", "", "");
    let children: Vec<_> = (0..3)
        .map(|index| {
            ctx::drdrill()
                .args(["run", "--quiet", "--history", &history, "--out"])
                .arg(folder.path().join(format!("out-{index}")))
                .arg(&file)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("not recorded"), "{stderr}");
    }
    let listed = json_of(&drdrill(&["history", "--json"], &history));
    assert_eq!(listed["history-parallel"].as_array().unwrap().len(), 3, "{listed:#}");
}

/// A history of sample drills (one failed), written through the library.
fn sample_history(folder: &Path) -> String {
    use drdrill::report::sample::{SampleKind, sample_report};
    let history = sqlite_history(folder);
    let location = HistoryLocation::resolve(Some(&history)).unwrap();
    runtime().block_on(async {
        let store = HistoryStore::open(&location).await.unwrap();
        for (index, kind) in [SampleKind::Passed, SampleKind::Failed, SampleKind::Passed]
            .into_iter()
            .enumerate()
        {
            let mut record = DrillRecord::from_report(&sample_report(kind), Path::new("reports"), Some(3_600_000));
            record.run_id = format!("sample-{index}");
            record.backup_bytes = Some(1_000_000 + 1_000 * index as u64);
            record.scenario = "sample".into();
            record.started += chrono::Duration::hours(index as i64);
            record.finished += chrono::Duration::hours(index as i64);
            store.record(&record).await.unwrap();
        }
        store.close().await;
    });
    history
}

/// The metrics server, killed if the test fails before it stops it.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn metrics_served_on_listen_and_written_as_a_textfile_pass_promtool() {
    use std::io::{BufRead, Read, Write};
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    let history = sample_history(folder.path());
    let textfile = folder.path().join("metrics.prom");
    let written = drdrill(&["metrics", "--textfile", textfile.to_str().unwrap()], &history);
    assert_eq!(written.status.code(), Some(0), "{:?}", text(&written));
    promtool_check_metrics(&std::fs::read_to_string(&textfile).unwrap());

    let mut server = Server(
        ctx::drdrill()
            .args(["metrics", "--listen", "127.0.0.1:0", "--history", &history])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = std::io::BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("serving http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    let get = |accept: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: {address}\r\n{accept}\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        (head.to_owned(), body.to_owned())
    };
    // What Prometheus asks for: OpenMetrics.
    let (head, body) = get("Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n");
    assert!(head.contains("Content-Type: application/openmetrics-text"), "{head}");
    assert!(
        body.contains("drdrill_drills_total{scenario=\"sample\",verdict=\"failed\"} 1"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    // What promtool and curl get without asking: the text format.
    let (head, body) = get("");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
    assert!(
        body.contains("drdrill_drills_total{scenario=\"sample\",verdict=\"failed\"} 1"),
        "{body}"
    );
    promtool_check_metrics(&body);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = server.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM ends the server cleanly");
}

#[test]
fn the_shipped_alert_rules_pass_promtool() {
    let rules = ctx::project_root().join("fixtures/prometheus/drdrill-alerts.yml");
    let output = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap_or_else(|error| panic!("promtool: {error}: run scripts/setup (it installs prometheus)"));
    assert!(output.status.success(), "{:?}", text(&output));
    let monitor = std::fs::read_to_string(ctx::project_root().join("fixtures/prometheus/servicemonitor.yml")).unwrap();
    assert!(
        monitor.contains("kind: ServiceMonitor") && monitor.contains("path: /metrics"),
        "{monitor}"
    );
}

#[test]
fn the_history_page_renders_its_charts_in_headless_chromium_without_console_errors() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    let history = sample_history(folder.path());
    let page = folder.path().join("history.html");
    let written = drdrill(&["history", "--html", page.to_str().unwrap()], &history);
    assert_eq!(written.status.code(), Some(0), "{:?}", text(&written));
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .env("HOME", folder.path())
        .output()
        .unwrap_or_else(|error| panic!("chromium: {error}: run scripts/setup (it installs chromium)"));
    let (dom, log) = text(&output);
    assert!(output.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|line| line.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.contains("data-charts-drawn=\"2\""),
        "two charts drawn for one scenario:\n{dom}"
    );
}

/// A local webhook receiver: answers `statuses` in turn, one connection
/// each, and hands back every request body it read.
fn webhook_receiver(statuses: &'static [&'static str]) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/drills", listener.local_addr().unwrap());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = std::io::BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = sender.send(String::from_utf8_lossy(&body).into_owned());
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (url, receiver)
}

#[test]
fn an_overdue_scenario_is_posted_to_the_webhook_with_retries() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    // The sample drills ran days ago with an hourly cadence: overdue now.
    let history = sample_history(folder.path());
    let (url, bodies) = webhook_receiver(&["500 Internal Server Error", "200 OK"]);
    let status = drdrill(&["status", "--notify", &url], &history);
    let (stdout, stderr) = text(&status);
    assert_eq!(status.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        !stderr.contains("not sent"),
        "the second attempt is delivered: {stderr}"
    );
    let first = bodies.recv_timeout(Duration::from_secs(30)).unwrap();
    let second = bodies.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(first, second, "the same message, retried");
    let message: Value = serde_json::from_str(&second).unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(text.starts_with("drdrill: sample is overdue since "), "{text}");
    assert!(text.contains("last reports: reports"), "{text}");
}

#[test]
fn an_unreachable_webhook_is_a_warning_and_never_changes_the_exit_status() {
    ctx::test_dirs();
    let folder = tempfile::tempdir().unwrap();
    let history = sample_history(folder.path());
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let status = drdrill(&["status", "--notify", &format!("http://127.0.0.1:{port}/")], &history);
    let (_, stderr) = text(&status);
    assert_eq!(status.status.code(), Some(1), "overdue, as without a webhook");
    assert!(
        stderr.contains("warning: notification not sent: webhook http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("refused the message 3 times"), "{stderr}");
}
