//! Reconnect storm: N clients subscribed while events flow; all drop at once and reconnect at
//! once, each subscribing with `since` (the position of the last event it saw). Measured: the
//! time until every client is back and has recovered, and per client the events lost (gaps)
//! and received twice (duplicates) over the whole run. DESIGN §11: zero lost events.
//!
//! Events carry a sequence number (`data.n`), so each client checks that it saw every event
//! from its first one to the last one published, exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Subscription, Ws};
use crate::fanout::{self, CHANNEL};
use crate::report::{progress, Deliveries, Latency, Report, Samples};
use crate::target::HubTarget;

#[derive(Debug, Clone)]
pub struct StormOptions {
    pub connections: usize,
    /// Events per second throughout.
    pub rate: f64,
    /// Live time before the drop, and after everyone is back.
    pub live: Duration,
    /// How long the clients stay away.
    pub away: Duration,
    /// Reconnects in flight at once (the listen backlog is finite).
    pub reconnect_concurrency: usize,
}

impl Default for StormOptions {
    fn default() -> Self {
        Self {
            connections: 1000,
            rate: 50.0,
            live: Duration::from_secs(2),
            away: Duration::from_millis(500),
            reconnect_concurrency: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Live,
    Drop,
    Reconnect,
    /// Publishing has stopped after event `n`: read up to it, then finish.
    Finish(u64),
}

/// One client's run.
#[derive(Default)]
struct Outcome {
    samples: Samples,
    seen: Vec<u64>,
    /// From the reconnect signal to the `subscribed` answer with the missed events.
    recovery: Option<Duration>,
    /// `subscribed` said `recovered:false`.
    unrecovered: bool,
    error: Option<String>,
}

pub async fn run(target: &HubTarget, options: &StormOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(
        target.recovers(),
        "{} cannot recover missed events: the storm does not apply",
        target.name
    );
    let clients = fanout::connect_all(target, options.connections, 256).await?;
    let start = Instant::now();
    let (phase, phases) = watch::channel(Phase::Live);
    let reconnecting = Arc::new(Semaphore::new(options.reconnect_concurrency.max(1)));
    let back = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(target.clone());
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|ws| {
            let run = Client {
                target: shared.clone(),
                start,
                phases: phases.clone(),
                reconnecting: reconnecting.clone(),
                back: back.clone(),
            };
            tokio::spawn(run.run(ws))
        })
        .collect();

    // Events flow throughout.
    let (stop_publishing, publishing_stopped) = watch::channel(false);
    let publisher = {
        let (target, rate) = (shared.clone(), options.rate);
        tokio::spawn(async move { publish_until(&target, start, rate, publishing_stopped).await })
    };

    tokio::time::sleep(options.live).await;
    // Sends fail only when every receiver is gone (clients or publisher ended early); what
    // ended them is reported below.
    let _ = phase.send(Phase::Drop);
    tokio::time::sleep(options.away).await;
    let reconnect_at = Instant::now();
    let _ = phase.send(Phase::Reconnect);
    let bar = progress(options.connections as u64, "recovering");
    loop {
        let done = back.load(Ordering::Relaxed);
        bar.set_position(done as u64);
        if done >= options.connections || reconnect_at.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_back = reconnect_at.elapsed();
    bar.finish_and_clear();
    tokio::time::sleep(options.live).await;
    let _ = stop_publishing.send(true);
    let (last, publish_failures) = publisher.await?.context("publishing")?;
    let _ = phase.send(Phase::Finish(last));

    let mut deliveries = Deliveries::default();
    let (mut gaps, mut duplicates, mut unrecovered, mut errors, mut clients_with_gaps) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut recovery = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    for task in tasks {
        let mut outcome = task.await?;
        deliveries.add(&outcome.samples);
        outcome.seen.sort_unstable();
        let before = outcome.seen.len();
        outcome.seen.dedup();
        duplicates += (before - outcome.seen.len()) as u64;
        if let Some(&first) = outcome.seen.first() {
            let missing = (last + 1 - first) - outcome.seen.len() as u64;
            gaps += missing;
            clients_with_gaps += (missing > 0) as u64;
        }
        unrecovered += outcome.unrecovered as u64;
        if let Some(error) = &outcome.error {
            errors += 1;
            tracing::warn!(%error, "client failed");
        }
        if let Some(d) = outcome.recovery {
            recovery.saturating_record(d.as_micros().max(1) as u64);
        }
    }
    let recovery = Latency::of(&recovery);
    let mut report = Report::new(
        "storm",
        target.name,
        json!({"connections": options.connections, "rate": options.rate, "away_ms": options.away.as_millis()}),
    );
    report
        .metric("connections", options.connections as f64, "")
        .metric("events published", (last + 1) as f64, "")
        .metric("publishes retried", publish_failures as f64, "")
        .metric("clients recovered", recovery.count as f64, "")
        .metric(
            "time until all recovered",
            all_back.as_secs_f64() * 1000.0,
            "ms",
        )
        .metric("recovery p50", recovery.p50_ms, "ms")
        .metric("recovery p99", recovery.p99_ms, "ms")
        .metric("events lost (gaps)", gaps as f64, "")
        .metric("clients with gaps", clients_with_gaps as f64, "")
        .metric("duplicates", duplicates as f64, "")
        .metric("recovered:false", unrecovered as f64, "")
        .metric("client errors", errors as f64, "")
        .deliveries(&deliveries);
    Ok(report)
}

/// Publishes numbered events at `rate` until told to stop; returns the last number and how
/// many publishes failed. A failed publish (Redis busy serving the recovering clients) is
/// retried, as the outbox relay would, so the sequence has no holes.
async fn publish_until(
    target: &HubTarget,
    start: Instant,
    rate: f64,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(u64, u64)> {
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let began = Instant::now();
    let (mut n, mut failures) = (0u64, 0u64);
    loop {
        while let Err(error) = target
            .publish(json!({"t": start.elapsed().as_nanos() as u64, "n": n}))
            .await
        {
            failures += 1;
            anyhow::ensure!(failures < 1000, "publishing keeps failing: {error:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::select! {
            _ = tokio::time::sleep_until((began + interval * (n + 1) as u32).into()) => {}
            _ = stop.changed() => return Ok((n, failures)),
        }
        n += 1;
    }
}

/// One client through the storm.
struct Client {
    target: Arc<HubTarget>,
    start: Instant,
    phases: watch::Receiver<Phase>,
    reconnecting: Arc<Semaphore>,
    /// Clients back and recovered.
    back: Arc<AtomicUsize>,
}

impl Client {
    async fn run(mut self, ws: Ws) -> Outcome {
        let mut outcome = Outcome::default();
        let mut position = None;
        // Live until the drop.
        self.read(ws, &mut outcome, &mut position, |phase| {
            phase == Phase::Drop
        })
        .await;
        // Away (the connection is dropped: its socket closes) until everyone reconnects.
        if self
            .phases
            .wait_for(|p| *p == Phase::Reconnect)
            .await
            .is_err()
        {
            return outcome;
        }
        let asked = Instant::now();
        let reconnected = {
            let _permit = self.reconnecting.acquire().await;
            let subscription = Subscription {
                channel: CHANNEL.into(),
                since: position.clone(),
            };
            self.target
                .connect_with(std::slice::from_ref(&subscription), None)
                .await
        };
        let ws = match reconnected {
            Ok((ws, answers)) => {
                let answer = answers.first().cloned().unwrap_or(Value::Null);
                outcome.unrecovered = answer["recovered"] != Value::Bool(true);
                for frame in answer["events"].as_array().into_iter().flatten() {
                    self.record(&frame.to_string(), &mut outcome, &mut position);
                }
                outcome.recovery = Some(asked.elapsed());
                self.back.fetch_add(1, Ordering::Relaxed);
                ws
            }
            Err(error) => {
                outcome.error = Some(error.to_string());
                self.back.fetch_add(1, Ordering::Relaxed);
                return outcome;
            }
        };
        // Live again until publishing stops, then up to the last event.
        let ws = self
            .read(ws, &mut outcome, &mut position, |phase| {
                matches!(phase, Phase::Finish(_))
            })
            .await;
        let Phase::Finish(last) = *self.phases.borrow() else {
            return outcome;
        };
        if let Some(mut ws) = ws {
            while outcome.seen.last().is_none_or(|&n| n < last) {
                let Ok(Some(Ok(Message::Text(text)))) =
                    tokio::time::timeout(Duration::from_secs(5), ws.next()).await
                else {
                    break;
                };
                self.record(&text, &mut outcome, &mut position);
            }
        }
        outcome
    }

    /// Reads events until the phase satisfies `until`; returns the connection if still open.
    async fn read(
        &mut self,
        mut ws: Ws,
        outcome: &mut Outcome,
        position: &mut Option<(String, String)>,
        until: impl Fn(Phase) -> bool,
    ) -> Option<Ws> {
        loop {
            if until(*self.phases.borrow()) {
                return Some(ws);
            }
            tokio::select! {
                message = ws.next() => match message {
                    Some(Ok(Message::Text(text))) => self.record(&text, outcome, position),
                    Some(Ok(_)) => {}
                    _ => {
                        outcome.error.get_or_insert_with(|| "the server closed the connection".into());
                        let _ = self.phases.wait_for(|p| until(*p)).await;
                        return None;
                    }
                },
                changed = self.phases.changed() => if changed.is_err() { return None },
            }
        }
    }

    fn record(&self, frame: &str, outcome: &mut Outcome, position: &mut Option<(String, String)>) {
        let (Some(sent), Some(n)) = (
            client::sent_at(frame),
            client::number_after(frame, r#""n":"#),
        ) else {
            return;
        };
        outcome.samples.record(self.start, Instant::now(), sent);
        outcome.seen.push(n);
        if let Some(at) = client::position(frame) {
            *position = Some(at);
        }
    }
}
