//! Fan-out: N connections subscribed to one channel, M events published to it.
//!
//! Each event carries its publish time (nanoseconds since the run's start, in `data.t`), so
//! every client measures delivery latency on receipt without parsing whole frames. Throughput
//! is all deliveries over the time from the first publish to the last delivery.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::setup::{BrokerChoice, Identity, LocalHub};

#[derive(Debug, Clone)]
pub struct FanoutOptions {
    pub connections: usize,
    pub events: usize,
    /// Events per second; `None` publishes as fast as the broker takes them.
    pub rate: Option<f64>,
    pub broker: BrokerChoice,
    /// Extra bytes of padding in each event.
    pub payload_bytes: usize,
    /// Connections opened at once while setting up.
    pub connect_concurrency: usize,
    /// The hub's per-connection queue (`realtime.send_queue_capacity`).
    pub queue: usize,
}

impl Default for FanoutOptions {
    fn default() -> Self {
        Self {
            connections: 1000,
            events: 100,
            rate: None,
            broker: BrokerChoice::Memory,
            payload_bytes: 64,
            connect_concurrency: 128,
            queue: 1024,
        }
    }
}

#[derive(Debug)]
pub struct FanoutReport {
    pub connections: usize,
    pub events: usize,
    pub deliveries: u64,
    /// Deliveries that should have happened and did not (closed or timed-out clients).
    pub missing: u64,
    pub elapsed: Duration,
    /// Publish → receipt, in microseconds.
    pub latency_us: Histogram<u64>,
}

impl FanoutReport {
    pub fn deliveries_per_second(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for FanoutReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = &self.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        write!(
            f,
            "fanout: {} connections × {} events = {} deliveries ({} missing) in {:.3} s\n  \
             {:.0} deliveries/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.connections,
            self.events,
            self.deliveries,
            self.missing,
            self.elapsed.as_secs_f64(),
            self.deliveries_per_second(),
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        )
    }
}

/// What one client saw.
struct Received {
    latencies_us: Vec<u32>,
    last: Option<Instant>,
}

pub async fn run(identity: &Identity, options: &FanoutOptions) -> anyhow::Result<FanoutReport> {
    let hub = LocalHub::start(&identity.auth, &options.broker, |config| {
        config.realtime.send_queue_capacity = options.queue;
        config.realtime.client_frames_per_second = 1000;
    })
    .await?;
    let url = hub.url();

    let clients: Vec<_> = futures::stream::iter(0..options.connections)
        .map(|_| connect(&url, &identity.token))
        .buffer_unordered(options.connect_concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;

    let base = Instant::now();
    let events = options.events;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|ws| tokio::spawn(read_events(ws, base, events)))
        .collect();

    let publisher = hub.hub.publisher();
    let padding = "x".repeat(options.payload_bytes);
    let interval = options
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    let started = Instant::now();
    for n in 0..events {
        if let Some(interval) = interval {
            tokio::time::sleep_until((started + interval * n as u32).into()).await;
        }
        let t = base.elapsed().as_nanos() as u64;
        publisher
            .publish(
                identity.tenant_id,
                "evaluations",
                "bench",
                json!({"t": t, "pad": padding}),
            )
            .await
            .context("publishing")?;
    }

    let mut latency_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut deliveries = 0u64;
    let mut last = started;
    for reader in readers {
        let received = reader.await?;
        deliveries += received.latencies_us.len() as u64;
        for us in received.latencies_us {
            latency_us.saturating_record(us.max(1) as u64);
        }
        if let Some(at) = received.last {
            last = last.max(at);
        }
    }
    hub.stop().await;
    let expected = (options.connections * events) as u64;
    Ok(FanoutReport {
        connections: options.connections,
        events,
        deliveries,
        missing: expected - deliveries.min(expected),
        elapsed: last - started,
        latency_us,
    })
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens, authenticates and subscribes one connection.
pub(crate) async fn connect(url: &str, token: &str) -> anyhow::Result<Ws> {
    // Small buffers: thousands of these share the machine with the hub.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    ws.send(Message::text(
        json!({"op": "auth", "id": 1, "token": token}).to_string(),
    ))
    .await?;
    expect_op(&mut ws, "connected").await?;
    ws.send(Message::text(
        json!({"op": "subscribe", "id": 2, "channel": "evaluations"}).to_string(),
    ))
    .await?;
    expect_op(&mut ws, "subscribed").await?;
    Ok(ws)
}

async fn expect_op(ws: &mut Ws, op: &str) -> anyhow::Result<()> {
    let needle = format!(r#""op":"{op}""#);
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await? {
            Some(Ok(Message::Text(text))) if text.contains(&needle) => return Ok(()),
            Some(Ok(Message::Text(text))) => anyhow::bail!("expected {op}, got {text}"),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("connection ended waiting for {op}: {other:?}"),
        }
    }
}

/// Reads until `events` events arrived, the connection ends, or nothing comes for a while.
async fn read_events(mut ws: Ws, base: Instant, events: usize) -> Received {
    let mut received = Received {
        latencies_us: Vec::with_capacity(events),
        last: None,
    };
    while received.latencies_us.len() < events {
        let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await
        else {
            break;
        };
        let Message::Text(text) = message else {
            continue;
        };
        let Some(sent_ns) = sent_at(&text) else {
            continue;
        };
        let now = Instant::now();
        let latency = now.duration_since(base).as_nanos() as u64
            - sent_ns.min(now.duration_since(base).as_nanos() as u64);
        received
            .latencies_us
            .push((latency / 1000).min(u32::MAX as u64) as u32);
        received.last = Some(now);
    }
    received
}

/// The publish time carried in an event frame, found without parsing the frame.
fn sent_at(frame: &str) -> Option<u64> {
    let start = frame.find(r#""data":{"#)?;
    let rest = &frame[start..];
    let t = rest.find(r#""t":"#)? + 4;
    let digits: &str = &rest[t..][..rest[t..].find(|c: char| !c.is_ascii_digit())?];
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_publish_time_is_read_from_the_event_data() {
        let frame = r#"{"op":"event","channel":"evaluations","offset":"1","epoch":"a","event":{"id":"x","kind":"bench","ts":"t","data":{"pad":"xx","t":12345}}}"#;
        assert_eq!(super::sent_at(frame), Some(12345));
        assert_eq!(super::sent_at(r#"{"op":"presence"}"#), None);
    }
}
