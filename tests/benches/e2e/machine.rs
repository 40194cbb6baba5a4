//! The machine a run measured on, printed above the table: ratios from a
//! two-core shared box and from a workstation are not comparable otherwise.

/// `nproc`, the CPU model and the load average when the run started.
pub fn describe() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_string());
    format!("machine: nproc {cores}, cpu {cpu}, load average at start {load}")
}
