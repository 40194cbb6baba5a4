//! `drdrill clean`: removes what killed runs left behind, found through the
//! run records the providers keep.

use drdrill::provider::local::{freezer, remove_dir_contents, stop_cluster_blocking};
use drdrill::provider::record::{RecordedProcess, RunRecord, is_same_process, process_state};
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
    let mut cleaning = Cleaning {
        dry_run: args.dry_run,
        removed: Vec::new(),
        problems: Vec::new(),
        skipped_live: 0,
    };
    cleaning.containers(&args).await;
    for record in RunRecord::load_all() {
        let record = match record {
            Ok(record) => record,
            Err((path, error)) => {
                cleaning
                    .problems
                    .push(format!("{}: unreadable run record: {error}", path.display()));
                continue;
            }
        };
        if args.run.as_deref().is_some_and(|run| run != record.run_id) {
            continue;
        }
        if record.owner_alive() && !args.all && args.run.is_none() {
            cleaning.skipped_live += 1;
            continue;
        }
        cleaning.record(&record);
    }
    if args.json {
        print_json(&serde_json::json!({
            "removed": cleaning.removed,
            "problems": cleaning.problems,
            "live_runs_skipped": cleaning.skipped_live,
        }))?;
    } else {
        cleaning.print();
    }
    Ok(if cleaning.problems.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// What one `clean` removed, could not remove and left alone.
struct Cleaning {
    /// `--dry-run`: say what would be removed, remove nothing.
    dry_run: bool,
    /// What was removed (or would be).
    removed: Vec<Removed>,
    /// What could not be read or removed, one line each.
    problems: Vec<String>,
    /// Runs whose owning `drdrill` still lives, left alone.
    skipped_live: usize,
}

impl Cleaning {
    /// Containers, volumes and networks first, found by their labels (no
    /// container engine here means nothing to remove).
    async fn containers(&mut self, args: &CleanArgs) {
        let selection = drdrill::provider::containers::CleanSelection {
            run_id: args.run.clone(),
            all: args.all,
            dry_run: args.dry_run,
        };
        match drdrill::provider::containers::clean(&selection).await {
            Ok(items) => self.removed.extend(items.into_iter().map(|what| Removed {
                run_id: args.run.clone().unwrap_or_else(|| "by label".into()),
                what,
            })),
            Err(error) => self.problems.push(format!("containers: {error}")),
        }
    }

    /// Everything one run record names, then the record.
    fn record(&mut self, record: &RunRecord) {
        for process in &record.processes {
            self.process(record, process);
        }
        for cluster in &record.postgres {
            if cluster.data_dir.join("postmaster.pid").exists() {
                if !self.dry_run {
                    stop_cluster_blocking(&cluster.data_dir, &cluster.bin_dir);
                }
                self.note(record, format!("postgresql cluster {}", cluster.data_dir.display()));
            }
        }
        for dir in record.dirs.iter().filter(|dir| dir.exists()) {
            if !self.dry_run
                && let Err(error) = remove_dir(dir)
            {
                self.problems.push(error.to_string());
            }
            self.note(record, format!("folder {}", dir.display()));
        }
        if !self.dry_run {
            record.remove();
        }
    }

    /// A recorded process, if it still runs, and its freezer cgroup.
    fn process(&mut self, record: &RunRecord, process: &RecordedProcess) {
        if is_same_process(process.pid, process.start_time) {
            if !self.dry_run {
                // A paused node: thawed (a v1-frozen process does not
                // act on SIGKILL) or continued, then killed.
                if let Some(cgroup) = &process.freezer {
                    freezer::thaw_now(cgroup);
                }
                let _ = kill(Pid::from_raw(process.pid), Signal::SIGCONT);
                let _ = kill(Pid::from_raw(process.pid), Signal::SIGKILL);
                wait_gone(process.pid, process.start_time);
            }
            self.note(record, format!("process {} ({})", process.pid, process.what));
        }
        if let Some(cgroup) = process.freezer.as_ref().filter(|cgroup| cgroup.exists()) {
            if !self.dry_run {
                freezer::remove_cgroup(cgroup);
            }
            self.note(record, format!("freezer cgroup {}", cgroup.display()));
        }
    }

    /// Notes `what` of `record` as removed.
    fn note(&mut self, record: &RunRecord, what: String) {
        self.removed.push(Removed {
            run_id: record.run_id.clone(),
            what,
        });
    }

    /// The human report: what was removed, what was left alone, problems.
    fn print(&self) {
        let verb = if self.dry_run { "would remove" } else { "removed" };
        for item in &self.removed {
            println!("{verb} {} [{}]", item.what, item.run_id);
        }
        if self.removed.is_empty() {
            println!("nothing to clean");
        }
        if self.skipped_live > 0 {
            println!(
                "{} run(s) still owned by a live drdrill process were left alone (use --all)",
                self.skipped_live
            );
        }
        for problem in &self.problems {
            eprintln!("problem: {problem}");
        }
    }
}

/// Removes a recorded folder: its contents, then the folder.
fn remove_dir(dir: &std::path::Path) -> Result<(), drdrill::provider::ProviderError> {
    remove_dir_contents(dir).and_then(|()| {
        std::fs::remove_dir(dir).map_err(|error| drdrill::provider::ProviderError::Io {
            path: dir.to_path_buf(),
            source: error,
        })
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
