//! Idle connections: the server's memory per authenticated, subscribed, silent connection
//! (DESIGN §11 wants under 10 KiB).
//!
//! The server must run in a process of its own (the `qivr` binary, or a peer), so what is
//! measured is the server alone: the growth of its resident set while the connections are
//! opened, divided by their number.

use std::time::Duration;

use serde_json::json;

use crate::fanout::connect_all;
use crate::process::rss_kib;
use crate::report::Report;
use crate::target::HubTarget;

/// Opens `connections` idle connections to `target` and measures its memory.
pub async fn run(target: &HubTarget, connections: usize) -> anyhow::Result<Report> {
    // Warm the server up (first connection, first subscription) before the baseline.
    let warm = connect_all(target, 1, 1).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(target.pid)?;
    let clients = connect_all(target, connections, 256).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(target.pid)?;
    drop(clients);
    drop(warm);
    let mut report = Report::new("idle", target.name, json!({"connections": connections}));
    report
        .metric("connections", connections as f64, "")
        .metric("server RSS before", before as f64, "KiB")
        .metric("server RSS after", after as f64, "KiB")
        .metric(
            "memory per connection",
            (after.saturating_sub(before) * 1024) as f64 / connections.max(1) as f64 / 1024.0,
            "KiB",
        );
    Ok(report)
}
