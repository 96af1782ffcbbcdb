//! What every benchmark reads from where it runs: its settings (`CAIRN_BENCH_*` numbers)
//! and the machine's load, which the figures are printed beside so that a busy machine's
//! slower ones are read as such.

/// The number in environment variable `name`, else `default` (unset or not a number).
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// The 1, 5 and 15 minute load averages, as `uptime` prints them; `unknown` where
/// /proc/loadavg cannot be read.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The folder a benchmark generates its clusters in: `CAIRN_BENCH_KEEP`'s, which is kept
/// after the run for a look or a profile, else `temporary`.
pub fn workspace_folder(temporary: &std::path::Path) -> std::path::PathBuf {
    std::env::var("CAIRN_BENCH_KEEP")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| temporary.to_path_buf())
}

/// Copies the folder `from` to `to`, recursively (the example modules a generated spec
/// loads).
pub fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("a copy");
        }
    }
}
