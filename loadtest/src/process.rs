//! What `/proc` says about the server under test: its memory (with a Node cluster's workers)
//! and the CPU time it used.

/// Resident set of process `pid` and its descendants (a Node cluster's workers), in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let own = field("VmRSS:").ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))?;
    Ok(own
        + children(pid)
            .into_iter()
            .map(|child| rss_kib(child).unwrap_or(0))
            .sum::<u64>())
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    // `pid (comm) state ppid …`; comm may hold spaces, so split after its `)`.
                    let after = &stat[stat.rfind(')')? + 2..];
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// CPU time (user + system) used so far by process `pid` and its descendants, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    own_cpu_seconds(pid) + children(pid).into_iter().map(cpu_seconds).sum::<f64>()
}

/// `sysconf(_SC_CLK_TCK)`, 100 on every Linux this runs on.
const CLOCK_TICKS: f64 = 100.0;

/// CPU time used so far by every process whose command name is `name` and whose command line
/// holds `args` (e.g. PostgreSQL's backends serving one database, whose title names it), in
/// seconds. Others' processes on a shared machine are left out that way.
pub fn cpu_seconds_named(name: &str, args: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|line| String::from_utf8_lossy(&line).contains(args))
        })
        .map(own_cpu_seconds)
        .sum()
}

/// CPU time (user + system) of one process, in seconds.
fn own_cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat, 12 and 13 after `(comm) `.
            Some(
                (fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
                    as f64
                    / CLOCK_TICKS,
            )
        })
        .unwrap_or(0.0)
}
