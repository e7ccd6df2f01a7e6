//! Fan-out: N connections subscribed to one channel, M events published to it.
//!
//! Each event carries its publish time (nanoseconds since the run's start, in `data.t`), so
//! every client measures delivery latency on receipt without parsing whole frames. Throughput
//! is all deliveries over the time from the first publish to the last delivery.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Subscription, Ws};
use crate::report::{progress, Deliveries, Report, Samples};
use crate::target::HubTarget;

#[derive(Debug, Clone)]
pub struct FanoutOptions {
    pub connections: usize,
    pub events: usize,
    /// Events per second; `None` publishes as fast as the broker takes them.
    pub rate: Option<f64>,
    /// Extra bytes of padding in each event.
    pub payload_bytes: usize,
    /// Connections opened at once while setting up.
    pub connect_concurrency: usize,
}

impl Default for FanoutOptions {
    fn default() -> Self {
        Self {
            connections: 1000,
            events: 100,
            rate: None,
            payload_bytes: 64,
            connect_concurrency: 128,
        }
    }
}

/// The channel every fan-out client subscribes to.
pub const CHANNEL: &str = "evaluations";

pub async fn run(target: &HubTarget, options: &FanoutOptions) -> anyhow::Result<Report> {
    let clients = connect_all(target, options.connections, options.connect_concurrency).await?;
    let start = Instant::now();
    let events = options.events;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|ws| tokio::spawn(read_events(ws, start, events)))
        .collect();

    let published = publish(target, start, events, options.rate, options.payload_bytes).await?;

    let mut deliveries = Deliveries::default();
    for reader in readers {
        deliveries.add(&reader.await?);
    }
    let expected = (options.connections * events) as u64;
    let mut report = Report::new(
        "fanout",
        target.name,
        json!({"connections": options.connections, "events": events, "rate": options.rate, "payload_bytes": options.payload_bytes}),
    );
    report
        .metric("connections", options.connections as f64, "")
        .metric("events", events as f64, "")
        .metric(
            "publish rate",
            events as f64 / published.as_secs_f64().max(1e-9),
            "events/s",
        )
        .metric("deliveries", deliveries.count() as f64, "")
        .metric(
            "missing",
            expected.saturating_sub(deliveries.count()) as f64,
            "",
        )
        .metric("deliveries/s", deliveries.rate_since(0), "/s")
        .deliveries(&deliveries);
    Ok(report)
}

/// Opens `n` subscribed connections, with a progress bar.
pub async fn connect_all(
    target: &HubTarget,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Ws>> {
    let bar = progress(n as u64, "connecting");
    let clients = futures::stream::iter(0..n)
        .map(|_| {
            let bar = &bar;
            async move {
                let ws = target.connect(&[Subscription::new(CHANNEL)]).await?;
                bar.inc(1);
                anyhow::Ok(ws)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>();
    bar.finish_and_clear();
    clients
}

/// Publishes `events` events carrying their publish time and sequence number (`n`), at
/// `rate` per second, or (with no rate) as fast as they go: then several publishes are in
/// flight at once, as the peers' publishers (one WebSocket send each, never waiting) are.
/// Returns how long publishing took.
pub async fn publish(
    target: &HubTarget,
    start: Instant,
    events: usize,
    rate: Option<f64>,
    payload_bytes: usize,
) -> anyhow::Result<Duration> {
    let padding = "x".repeat(payload_bytes);
    let interval = rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    let began = Instant::now();
    let one = |n: usize| {
        let padding = &padding;
        async move {
            if let Some(interval) = interval {
                tokio::time::sleep_until((began + interval * n as u32).into()).await;
            }
            let t = start.elapsed().as_nanos() as u64;
            target
                .publish(json!({"t": t, "n": n, "pad": padding}))
                .await
                .context("publishing")
        }
    };
    let in_flight = if interval.is_some() {
        1
    } else {
        PEAK_PUBLISHES_IN_FLIGHT
    };
    futures::stream::iter(0..events)
        .map(one)
        .buffered(in_flight)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(began.elapsed())
}

/// Publishes in flight at once when publishing as fast as possible.
const PEAK_PUBLISHES_IN_FLIGHT: usize = 32;

/// Reads until `events` events arrived, the connection ends, or nothing comes for a while.
async fn read_events(mut ws: Ws, start: Instant, events: usize) -> Samples {
    let mut samples = Samples::with_capacity(events);
    while samples.len() < events {
        let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await
        else {
            break;
        };
        let Message::Text(text) = message else {
            continue;
        };
        if let Some(sent) = client::sent_at(&text) {
            samples.record(start, Instant::now(), sent);
        }
    }
    samples
}
