//! Slow consumers: N clients read normally while S more stop reading. DESIGN §6: a slow client
//! never slows anyone else; its queue overflows and it is closed with 4008.
//!
//! Two phases with the same events at the same rate: the N normal clients alone, then with
//! the S slow ones connected (small kernel receive buffers, so they back up into the server in
//! seconds rather than after megabytes). Compared: the normal clients' p99 in each phase; and
//! how many slow clients were closed with 4008.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Subscription, Ws};
use crate::fanout::{self, CHANNEL};
use crate::report::{progress, Deliveries, Latency, Report, Samples};
use crate::target::HubTarget;

#[derive(Debug, Clone)]
pub struct SlowOptions {
    pub connections: usize,
    pub slow: usize,
    /// Events per phase.
    pub events: usize,
    pub rate: f64,
    pub payload_bytes: usize,
}

impl Default for SlowOptions {
    fn default() -> Self {
        Self {
            connections: 1000,
            slow: 100,
            events: 1000,
            rate: 200.0,
            payload_bytes: 4096,
        }
    }
}

pub async fn run(target: &HubTarget, options: &SlowOptions) -> anyhow::Result<Report> {
    let mut clients = fanout::connect_all(target, options.connections, 256).await?;
    let start = Instant::now();

    let (alone, returned) = phase(target, clients, start, options).await?;
    clients = returned;

    let bar = progress(options.slow as u64, "slow ones");
    let mut slow = Vec::with_capacity(options.slow);
    for _ in 0..options.slow {
        slow.push(
            target
                .connect_with(&[Subscription::new(CHANNEL)], Some(4096))
                .await?
                .0,
        );
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (with_slow, _) = phase(target, clients, start, options).await?;

    // The slow clients read at last: what ended their connection?
    let closes = futures::future::join_all(slow.into_iter().map(close_code)).await;
    let closed_4008 = closes.iter().filter(|c| **c == Some(4008)).count();

    let expected = (options.connections * options.events) as u64;
    let (a, b) = (
        Latency::of(&alone.latency_us),
        Latency::of(&with_slow.latency_us),
    );
    let mut report = Report::new(
        "slow",
        target.name,
        json!({"connections": options.connections, "slow": options.slow, "events": options.events, "rate": options.rate, "payload_bytes": options.payload_bytes}),
    );
    report
        .metric("normal clients", options.connections as f64, "")
        .metric("slow clients", options.slow as f64, "")
        .metric("p50 without slow clients", a.p50_ms, "ms")
        .metric("p50 with slow clients", b.p50_ms, "ms")
        .metric("p99 without slow clients", a.p99_ms, "ms")
        .metric("p99 with slow clients", b.p99_ms, "ms")
        .metric(
            "p99 ratio (with / without)",
            b.p99_ms / a.p99_ms.max(1e-6),
            "×",
        )
        .metric(
            "normal clients' missing events",
            (2 * expected).saturating_sub(alone.count() + with_slow.count()) as f64,
            "",
        )
        .metric("slow clients closed 4008", closed_4008 as f64, "")
        .deliveries(&with_slow);
    Ok(report)
}

/// Publishes the phase's events while the normal clients read them; hands the clients back.
async fn phase(
    target: &HubTarget,
    clients: Vec<Ws>,
    start: Instant,
    options: &SlowOptions,
) -> anyhow::Result<(Deliveries, Vec<Ws>)> {
    let events = options.events;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|ws| tokio::spawn(read(ws, start, events)))
        .collect();
    fanout::publish(
        target,
        start,
        events,
        Some(options.rate),
        options.payload_bytes,
    )
    .await?;
    let mut deliveries = Deliveries::default();
    let mut clients = Vec::with_capacity(readers.len());
    for reader in readers {
        let (ws, samples) = reader.await?;
        deliveries.add(&samples);
        clients.extend(ws);
    }
    Ok((deliveries, clients))
}

/// Reads `events` events; returns the connection unless it ended.
async fn read(mut ws: Ws, start: Instant, events: usize) -> (Option<Ws>, Samples) {
    let mut samples = Samples::with_capacity(events);
    while samples.len() < events {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let Some(sent) = client::sent_at(&text) {
                    samples.record(start, Instant::now(), sent);
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return (None, samples),
        }
    }
    (Some(ws), samples)
}

/// Drains a connection to its end; the close code it ended with, if any.
async fn close_code(mut ws: Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}
