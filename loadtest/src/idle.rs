//! Idle connections: the hub's memory per authenticated, subscribed, silent connection
//! (DESIGN §11 wants under 10 KiB).
//!
//! The hub runs in a child process (this binary's `hub` subcommand), so what is measured is
//! the hub alone: the growth of its resident set while the connections are opened, divided by
//! their number. Each connection authenticates and subscribes to two channels, then idles.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug)]
pub struct IdleReport {
    pub connections: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
}

impl IdleReport {
    pub fn bytes_per_connection(&self) -> f64 {
        (self.rss_after_kib.saturating_sub(self.rss_before_kib) * 1024) as f64
            / self.connections.max(1) as f64
    }
}

impl std::fmt::Display for IdleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "idle: {} connections; hub RSS {} KiB → {} KiB: {:.1} KiB per connection",
            self.connections,
            self.rss_before_kib,
            self.rss_after_kib,
            self.bytes_per_connection() / 1024.0
        )
    }
}

/// Resident set of process `pid`, in KiB (Linux).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

/// Opens `connections` idle connections to the hub at `url` (process `hub_pid`) and measures.
pub async fn run(
    url: &str,
    hub_pid: u32,
    token: &str,
    user_id: uuid::Uuid,
    connections: usize,
) -> anyhow::Result<IdleReport> {
    // Warm the hub up (first connection, first subscription) before the baseline.
    let warm = connect_idle(url, token, user_id).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before_kib = rss_kib(hub_pid)?;
    let clients: Vec<_> = futures::stream::iter(0..connections)
        .map(|_| connect_idle(url, token, user_id))
        .buffer_unordered(128)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_kib = rss_kib(hub_pid)?;
    drop(clients);
    drop(warm);
    Ok(IdleReport {
        connections,
        rss_before_kib,
        rss_after_kib,
    })
}

async fn connect_idle(
    url: &str,
    token: &str,
    user_id: uuid::Uuid,
) -> anyhow::Result<crate::fanout::Ws> {
    let config = WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    let frames = [
        json!({"op": "auth", "id": 1, "token": token}),
        json!({"op": "subscribe", "id": 2, "channel": "evaluations"}),
        json!({"op": "subscribe", "id": 3, "channel": format!("user:{user_id}")}),
    ];
    for frame in frames {
        ws.send(Message::text(frame.to_string())).await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(30), ws.next()).await? {
                Some(Ok(Message::Text(text))) if text.contains(r#""op":"error""#) => {
                    anyhow::bail!("{text}")
                }
                Some(Ok(Message::Text(_))) => break,
                Some(Ok(_)) => continue,
                other => anyhow::bail!("connection ended: {other:?}"),
            }
        }
    }
    Ok(ws)
}
