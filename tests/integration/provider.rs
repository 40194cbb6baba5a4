//! The local provider against real FerretDB processes: start, faults,
//! restart on the same data, wipe, and that nothing it started is left
//! behind after a clean stop, a panic, an interrupted `serve`, or a SIGKILL
//! of the harness followed by `drdrill clean`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use bson::{Document, doc};
use drdrill::provider::local::{NodeState, PauseWith, freezer};
use drdrill::provider::{Backend, LocalDeployment, LocalSpec};

use crate::ctx::{self, TestServer, process_alive, wait_until};

async fn insert_marker(server: &TestServer) {
    server
        .client
        .database("t")
        .collection::<Document>("c")
        .insert_one(doc! {"_id": 1, "marker": "before"})
        .await
        .unwrap();
}

async fn count_markers(uri: &str) -> u64 {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    client
        .database("t")
        .collection::<Document>("c")
        .count_documents(doc! {})
        .await
        .unwrap()
}

async fn faults_on(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    insert_marker(&server).await;
    let uri = server.uri.clone();

    // Kill: the process is gone and the server does not answer.
    let pid = server.deployment().describe()[0].pid.unwrap();
    server.deployment().kill(0).await.unwrap();
    assert!(!process_alive(pid), "node still alive after kill");
    assert_eq!(server.deployment().describe()[0].state, NodeState::Down);
    let probe = drdrill::provider::ready::probe_client(&uri).await.unwrap();
    assert!(drdrill::provider::ready::hello(&probe).await.is_err());

    // Restart on the same data: the document written before is there.
    server.deployment().restart(0).await.unwrap();
    assert_eq!(count_markers(&uri).await, 1);

    // Pause: hello times out; resume: it answers again.
    let how = server.deployment().pause(0).await.unwrap();
    assert_eq!(server.deployment().describe()[0].state, NodeState::Paused);
    assert_silent(&mut server, &probe, &how, "a paused node answered hello").await;
    server.deployment().resume(0).await.unwrap();
    wait_answers(&probe).await;

    // Wipe needs the node down; after a wipe and restart the data is gone.
    assert!(server.deployment().wipe_data(0).await.is_err(), "wiped a running node");
    server.deployment().stop(0).await.unwrap();
    server.deployment().wipe_data(0).await.unwrap();
    server.deployment().restart(0).await.unwrap();
    assert_eq!(count_markers(&uri).await, 0);

    let run_dir = server.deployment().run_dir().to_path_buf();
    server.teardown().await;
    assert!(!run_dir.exists(), "teardown left {}", run_dir.display());
}

/// Waits until `hello` answers through `probe`.
async fn wait_answers(probe: &mongodb::Client) {
    let resumed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if drdrill::provider::ready::hello(probe).await.is_ok() {
                break;
            }
        }
    })
    .await;
    assert!(resumed.is_ok(), "node did not answer after resume");
}

/// Asserts that node 0, paused as `how` says, does not answer `hello`
/// through `probe` within 800 ms; panics with `what` and what to know then:
/// how it was paused, what the kernel says of its threads, and which
/// process answered.
async fn assert_silent(server: &mut TestServer, probe: &mongodb::Client, how: &str, what: &str) {
    let answered = tokio::time::timeout(Duration::from_millis(800), drdrill::provider::ready::hello(probe)).await;
    if let Ok(Ok(_)) = answered {
        let node = &server.deployment().describe()[0];
        let pid = node.pid.unwrap();
        let states: String = freezer::thread_states(pid).into_iter().collect();
        let answering = drdrill::provider::ready::server_pid(&node.uri).await;
        panic!(
            "{what}\npaused how: {how}\nnode pid {pid}, thread states {states:?}\nserverStatus pid of the answering server: {answering:?}"
        );
    }
}

#[tokio::test]
async fn faults_on_sqlite_backend() {
    faults_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn faults_on_postgresql_backend() {
    faults_on(Backend::Postgresql).await;
}

/// Where a cgroup freezer can be written (root, as here and in CI), a
/// pause freezes the node in a cgroup of its own, which only the harness
/// ends; the cgroup is gone after the resume.
#[tokio::test]
async fn a_pause_freezes_the_node_in_a_cgroup_of_its_own() {
    let Some(found) = freezer::Freezer::find() else {
        panic!("no cgroup file system is mounted: this test needs one (as every Linux machine with Podman has)");
    };
    let mut server = TestServer::start(Backend::Sqlite).await;
    let pid = server.deployment().describe()[0].pid.unwrap();
    let how = server.deployment().pause(0).await.unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(how.contains("cgroup freezer"), "root did not use the freezer: {how}");
        let cgroup = found.mount.join("drdrill");
        let inside = std::fs::read_dir(&cgroup).unwrap().flatten().any(|entry| {
            std::fs::read_to_string(entry.path().join("cgroup.procs"))
                .is_ok_and(|procs| procs.lines().any(|line| line == pid.to_string()))
        });
        assert!(inside, "node {pid} is not in a cgroup under {}", cgroup.display());
        // A SIGCONT from anyone does not end a freeze.
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT).unwrap();
        let probe = drdrill::provider::ready::probe_client(&server.uri).await.unwrap();
        assert_silent(&mut server, &probe, &how, "a frozen node answered after a SIGCONT").await;
    }
    server.deployment().resume(0).await.unwrap();
    let probe = drdrill::provider::ready::probe_client(&server.uri).await.unwrap();
    wait_answers(&probe).await;
    let dir = how
        .split_once('(')
        .map(|(_, rest)| rest.trim_end_matches(')').to_string())
        .unwrap_or_default();
    assert!(
        dir.is_empty() || !std::path::Path::new(&dir).exists(),
        "resume left cgroup {dir}"
    );
    server.teardown().await;
}

/// The SIGSTOP fallback (no writable freezer) returns only once every
/// thread of the node has stopped (the provider polls `/proc` for it and
/// fails the pause otherwise), and SIGCONT ends it.
#[tokio::test]
async fn a_pause_by_signal_returns_once_every_thread_has_stopped() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    let how = server.deployment().pause_with(0, PauseWith::Signal).await.unwrap();
    assert!(how.contains("SIGSTOP"), "{how}");
    assert_eq!(server.deployment().describe()[0].state, NodeState::Paused);
    server.deployment().resume(0).await.unwrap();
    assert_eq!(server.deployment().describe()[0].state, NodeState::Running);
    let probe = drdrill::provider::ready::probe_client(&server.uri).await.unwrap();
    wait_answers(&probe).await;
    server.teardown().await;
}

/// A node restarted on a port another server took while it was down must
/// not pass for ready because that server answers.
#[tokio::test]
async fn a_restart_on_a_port_another_server_took_fails_and_says_so() {
    let mut server = TestServer::start(Backend::Sqlite).await;
    let port = server
        .uri
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    server.deployment().kill(0).await.unwrap();
    let (_, work) = ctx::test_dirs();
    let squatter_dir = tempfile::tempdir_in(work).unwrap();
    let mut squatter = std::process::Command::new(ctx::ferretdb_binary())
        .args([
            "--handler=sqlite".to_string(),
            format!("--sqlite-url=file:{}/", squatter_dir.path().display()),
            format!("--listen-addr=127.0.0.1:{port}"),
            format!("--state-dir={}", squatter_dir.path().display()),
            "--debug-addr=-".into(),
            "--telemetry=disable".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let squatting = drdrill::provider::ready::wait_for_hello(&server.uri, Duration::from_secs(30), || Ok(())).await;
    let restarted = server.deployment().restart(0).await;
    let _ = squatter.kill();
    let _ = squatter.wait();
    squatting.expect("the squatter did not come up");
    let error = restarted
        .expect_err("a node whose port another server holds was reported ready")
        .to_string();
    assert!(
        error.contains("another server took the port") || error.contains("address already in use"),
        "{error}"
    );
    server.teardown().await;
}

#[tokio::test]
async fn several_nodes_are_independent_servers_on_distinct_ports() {
    let mut server = TestServer::start_nodes(Backend::Sqlite, 3).await;
    let nodes = server.deployment().describe();
    assert_eq!(nodes.len(), 3);
    let mut uris: Vec<&str> = nodes.iter().map(|node| node.uri.as_str()).collect();
    uris.dedup();
    assert_eq!(uris.len(), 3);
    for node in &nodes {
        let client = mongodb::Client::with_uri_str(&node.uri).await.unwrap();
        drdrill::provider::ready::hello(&client).await.unwrap();
    }
    server.teardown().await;
    for node in &nodes {
        assert!(!process_alive(node.pid.unwrap()));
    }
}

#[tokio::test]
async fn a_node_that_never_answers_fails_with_its_log_tail() {
    // A stand-in "server" that prints a line and exits: the provider must
    // say that the process exited and show what it printed.
    let (_, work) = ctx::test_dirs();
    let folder = tempfile::tempdir_in(work).unwrap();
    let script = folder.path().join("broken-ferretdb.sh");
    std::fs::write(&script, "#!/bin/sh\necho 'fatal: cannot open sqlite dir' >&2\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = ctx::drdrill()
        .env("DRDRILL_FERRETDB", &script)
        .args(["serve"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (_, stderr) = ctx::text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("node-0 did not come up"), "{stderr}");
    assert!(stderr.contains("exited"), "{stderr}");
    assert!(stderr.contains("fatal: cannot open sqlite dir"), "{stderr}");
}

#[tokio::test]
async fn a_panicking_owner_leaves_no_process_or_folder() {
    let (_, work) = ctx::test_dirs();
    let mut spec = LocalSpec::new(ctx::run_id("panic"));
    spec.work_dir = work.clone();
    let run_dir = work.join(&spec.run_id);
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut deployment = LocalDeployment::start(spec).await.unwrap();
        // Paused, as in the middle of a drill: a frozen process would not
        // act on the SIGKILL of `Drop` unless it is thawed first.
        let how = deployment.pause(0).await.unwrap();
        sender.send((deployment.describe()[0].pid.unwrap(), how)).unwrap();
        panic!("a test failing halfway through a drill");
    });
    let (pid, how) = receiver.await.unwrap();
    assert!(task.await.unwrap_err().is_panic());
    assert!(
        !process_alive(pid),
        "the panicking owner left ferretdb {pid} running ({how})"
    );
    assert!(!run_dir.exists(), "the panicking owner left {}", run_dir.display());
    if let Some(found) = freezer::Freezer::find() {
        let cgroup = found
            .mount
            .join("drdrill")
            .join(format!("{}-node-0", run_dir.file_name().unwrap().to_string_lossy()));
        assert!(!cgroup.exists(), "the panicking owner left cgroup {}", cgroup.display());
    }
}

/// Starts `drdrill serve --json` and returns the child and the node pids
/// and folders it printed.
fn start_serve(args: &[&str]) -> (std::process::Child, Vec<i32>, Vec<String>) {
    let mut child = ctx::drdrill()
        .args(["serve", "--json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut text = String::new();
    let mut reader = BufReader::new(stdout);
    // `serve --json` prints one pretty JSON object, then waits.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("serve exited before printing its URI: {stderr}");
        }
        text.push_str(&line);
        if line.starts_with('}') {
            break;
        }
    }
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let nodes = value["nodes"].as_array().unwrap();
    let pids = nodes.iter().map(|node| node["pid"].as_i64().unwrap() as i32).collect();
    let dirs = nodes
        .iter()
        .map(|node| node["data_dir"].as_str().unwrap().to_string())
        .collect();
    (child, pids, dirs)
}

fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let mut status = None;
    wait_until("drdrill to exit", timeout, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

#[test]
fn serve_stops_cleanly_on_ctrl_c_and_sigterm() {
    for (signal, backend) in [(libc::SIGINT, "sqlite"), (libc::SIGTERM, "postgresql")] {
        let (mut child, pids, dirs) = start_serve(&["--backend", backend]);
        assert!(pids.iter().all(|pid| process_alive(*pid)));
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = wait_exit(&mut child, Duration::from_secs(20));
        assert!(status.success(), "serve exited with {status} on signal {signal}");
        for pid in &pids {
            assert!(!process_alive(*pid), "node {pid} left running after signal {signal}");
        }
        for dir in &dirs {
            assert!(!std::path::Path::new(dir).exists(), "{dir} left after signal {signal}");
        }
    }
}

#[test]
fn clean_removes_what_a_killed_harness_left() {
    let (mut child, pids, dirs) = start_serve(&["--backend", "postgresql", "--nodes", "2"]);
    // SIGKILL: the harness gets no chance to tear down.
    child.kill().unwrap();
    child.wait().unwrap();
    for pid in &pids {
        assert!(
            process_alive(*pid),
            "node {pid} died with the harness: clean would prove nothing"
        );
    }
    let output = ctx::run_drdrill(&["clean"]);
    let (stdout, stderr) = ctx::text(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("removed process"), "{stdout}");
    assert!(stdout.contains("postgresql cluster"), "{stdout}");
    for pid in &pids {
        assert!(!process_alive(*pid), "clean left node {pid} running");
    }
    for dir in &dirs {
        assert!(!std::path::Path::new(dir).exists(), "clean left {dir}");
    }
    let postgres_left = std::process::Command::new("pgrep")
        .args([
            "-f",
            &format!(
                "postgres -D {}",
                std::path::Path::new(&dirs[0]).parent().unwrap().display()
            ),
        ])
        .output()
        .unwrap();
    assert!(
        postgres_left.stdout.is_empty(),
        "postgres left running: {}",
        String::from_utf8_lossy(&postgres_left.stdout)
    );
    // A second clean finds nothing.
    let again = ctx::run_drdrill(&["clean"]);
    assert!(ctx::text(&again).0.contains("nothing to clean"));
}

/// `arbiter = true` through `drdrill validate`, on each provider: the
/// local and containers providers start the arbiter (the file is valid);
/// an external deployment's members are not the harness's to start, so
/// there it is a located error, exit 2.
#[test]
fn arbiter_is_honoured_where_the_harness_starts_the_members_and_refused_where_it_does_not() {
    let folder = tempfile::tempdir().unwrap();
    for (provider, extra, valid) in [
        ("local", "", true),
        ("containers", "", true),
        ("external", "uri = \"mongodb://db.example:27017/\"\n", false),
    ] {
        let file = folder.path().join(format!("{provider}.toml"));
        std::fs::write(
            &file,
            format!(
                "name = \"arbiter-{provider}\"\n\n[topology]\nprovider = \"{provider}\"\n{extra}engine = \"mongodb\"\n\
                 nodes = 2\nreplica_set = true\narbiter = true\n\n[dataset]\nprofile = \"shepherd-cms\"\n\
                 documents = 10\n\n[objectives]\nrto = \"60m\"\nrpo = \"15m\"\n\n[[steps]]\nkind = \"seed\"\n"
            ),
        )
        .unwrap();
        let output = ctx::drdrill().arg("validate").arg(&file).output().unwrap();
        let (stdout, stderr) = ctx::text(&output);
        if valid {
            assert_eq!(output.status.code(), Some(0), "{provider}: {stdout}{stderr}");
        } else {
            assert_eq!(output.status.code(), Some(2), "{provider}: {stdout}{stderr}");
            assert!(
                stderr.contains(&format!(
                    "{provider}.toml:9:1: topology.arbiter: `arbiter` cannot apply to provider = \"external\""
                )),
                "{stderr}"
            );
        }
    }
}
