//! `drdrill clean`: removes what killed runs left behind, found through the
//! run records the providers keep.

use drdrill::provider::local::{freezer, remove_dir_contents, stop_cluster_blocking};
use drdrill::provider::record::{RunRecord, is_same_process, process_state};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cli::Outcome;
use crate::cli::args::CleanArgs;
use crate::cli::output::print_json;

/// One thing removed (or that would be).
#[derive(Debug, serde::Serialize)]
struct Removed {
    run_id: String,
    what: String,
}

/// Kills recorded processes, stops recorded PostgreSQL clusters, removes
/// recorded folders and then the records.
pub async fn run(args: CleanArgs) -> anyhow::Result<Outcome> {
    let json = args.json;
    let mut removed = Vec::new();
    let mut problems = Vec::new();
    let mut skipped_live = 0;
    // Containers, volumes and networks first, found by their labels (no
    // container engine here means nothing to remove).
    let selection = drdrill::provider::containers::CleanSelection {
        run_id: args.run.clone(),
        all: args.all,
        dry_run: args.dry_run,
    };
    match drdrill::provider::containers::clean(&selection).await {
        Ok(items) => removed.extend(items.into_iter().map(|what| Removed {
            run_id: args.run.clone().unwrap_or_else(|| "by label".into()),
            what,
        })),
        Err(error) => problems.push(format!("containers: {error}")),
    }
    for record in RunRecord::load_all() {
        let record = match record {
            Ok(record) => record,
            Err((path, error)) => {
                problems.push(format!("{}: unreadable run record: {error}", path.display()));
                continue;
            }
        };
        if args.run.as_deref().is_some_and(|run| run != record.run_id) {
            continue;
        }
        if record.owner_alive() && !args.all && args.run.is_none() {
            skipped_live += 1;
            continue;
        }
        for process in &record.processes {
            if is_same_process(process.pid, process.start_time) {
                if !args.dry_run {
                    // A paused node: thawed (a v1-frozen process does not
                    // act on SIGKILL) or continued, then killed.
                    if let Some(cgroup) = &process.freezer {
                        freezer::thaw_now(cgroup);
                    }
                    let _ = kill(Pid::from_raw(process.pid), Signal::SIGCONT);
                    let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
                    wait_gone(process.pid, process.start_time);
                }
                removed.push(Removed {
                    run_id: record.run_id.clone(),
                    what: format!("process {} ({})", process.pid, process.what),
                });
            }
            if let Some(cgroup) = process.freezer.as_ref().filter(|cgroup| cgroup.exists()) {
                if !args.dry_run {
                    freezer::remove_cgroup(cgroup);
                }
                removed.push(Removed {
                    run_id: record.run_id.clone(),
                    what: format!("freezer cgroup {}", cgroup.display()),
                });
            }
        }
        for cluster in &record.postgres {
            if cluster.data_dir.join("postmaster.pid").exists() {
                if !args.dry_run {
                    stop_cluster_blocking(&cluster.data_dir, &cluster.bin_dir);
                }
                removed.push(Removed {
                    run_id: record.run_id.clone(),
                    what: format!("postgresql cluster {}", cluster.data_dir.display()),
                });
            }
        }
        for dir in &record.dirs {
            if dir.exists() {
                if !args.dry_run {
                    if let Err(error) = remove_dir_contents(dir).and_then(|()| {
                        std::fs::remove_dir(dir).map_err(|error| drdrill::provider::ProviderError::Io {
                            path: dir.clone(),
                            source: error,
                        })
                    }) {
                        problems.push(error.to_string());
                    }
                }
                removed.push(Removed {
                    run_id: record.run_id.clone(),
                    what: format!("folder {}", dir.display()),
                });
            }
        }
        if !args.dry_run {
            record.remove();
        }
    }
    if json {
        print_json(
            &serde_json::json!({ "removed": removed, "problems": problems, "live_runs_skipped": skipped_live }),
        )?;
    } else {
        let verb = if args.dry_run { "would remove" } else { "removed" };
        for item in &removed {
            println!("{verb} {} [{}]", item.what, item.run_id);
        }
        if removed.is_empty() {
            println!("nothing to clean");
        }
        if skipped_live > 0 {
            println!("{skipped_live} run(s) still owned by a live drdrill process were left alone (use --all)");
        }
        for problem in &problems {
            eprintln!("problem: {problem}");
        }
    }
    Ok(if problems.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Waits up to 5 s for a killed process to disappear.
fn wait_gone(pid: i32, start_time: Option<u64>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while is_same_process(pid, start_time) && std::time::Instant::now() < deadline {
        // A zombie whose parent died is reaped by init; poll until it is.
        std::thread::sleep(std::time::Duration::from_millis(20));
        if process_state(pid) == Some('Z') {
            return;
        }
    }
}
