//! Chat: the message-send hot path end to end. M conversations, each with its patient and its
//! staff member connected over WebSocket and subscribed to `conversation:<id>`; messages are
//! sent over REST (`POST /api/v1/conversations/{id}/messages`) at a target rate, alternately
//! by the patient and the staff member, and timed until they reach the other side's socket.
//!
//! The send time travels in the message body (`bench t=<ns since start> from=<side>`), so the
//! recipient measures on receipt. The sender's own copy of the event is not counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use qivr_shared::auth::Authenticator;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Subscription, Ws};
use crate::population::{self, Pair};
use crate::process;
use crate::report::{progress, Deliveries, Latency, Report, Samples};
use crate::server::Server;

#[derive(Debug, Clone)]
pub struct ChatOptions {
    pub conversations: usize,
    /// Conversations (and staff members) per clinic.
    pub per_tenant: usize,
    /// Sends per second.
    pub rate: f64,
    pub sends: usize,
    /// Sends waiting for their response at once; beyond it the sender waits (and the
    /// achieved rate falls below the target).
    pub max_in_flight: usize,
    pub connect_concurrency: usize,
}

impl Default for ChatOptions {
    fn default() -> Self {
        Self {
            conversations: 100,
            per_tenant: 10,
            rate: 100.0,
            sends: 500,
            max_in_flight: 512,
            connect_concurrency: 128,
        }
    }
}

const BODY_KEY: &str = r#""body":"bench t="#;

pub async fn run(
    server: &Server,
    owner: &PgPool,
    auth: &Arc<Authenticator>,
    options: &ChatOptions,
) -> anyhow::Result<Report> {
    let setup = Instant::now();
    let pairs =
        population::conversations(owner, auth, options.conversations, options.per_tenant).await?;
    let populated = setup.elapsed();

    let url = server.ws_url();
    let bar = progress(2 * pairs.len() as u64, "connecting");
    let sockets: Vec<(Ws, &'static str)> = futures::stream::iter(pairs.iter().flat_map(|pair| {
        let channel = [Subscription::new(format!(
            "conversation:{}",
            pair.conversation_id
        ))];
        [
            (pair.patient.token.clone(), "patient", channel.clone()),
            (pair.staff.token.clone(), "staff", channel),
        ]
    }))
    .map(|(token, side, channels)| {
        let (url, bar) = (&url, &bar);
        async move {
            let ws = client::connect(url, &token, &channels).await?;
            bar.inc(1);
            anyhow::Ok((ws, side))
        }
    })
    .buffer_unordered(options.connect_concurrency.max(1))
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();

    let start = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let (stop, stopped) = watch::channel(false);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|(ws, side)| {
            tokio::spawn(read_messages(
                ws,
                side,
                start,
                delivered.clone(),
                stopped.clone(),
            ))
        })
        .collect();

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.max_in_flight)
        .build()?;
    let in_flight = Arc::new(Semaphore::new(options.max_in_flight.max(1)));
    let send_latency = Arc::new(std::sync::Mutex::new(Histogram::<u64>::new_with_bounds(
        1,
        600_000_000,
        3,
    )?));
    let failed = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(1.0 / options.rate.max(0.001));
    let bar = progress(options.sends as u64, "sending");
    // language=PostgreSQL
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(owner)
        .await?;
    let cpu_before = Cpu::now(server.pid, &database);
    let sending = Instant::now();
    let mut sends = Vec::with_capacity(options.sends);
    for n in 0..options.sends {
        tokio::time::sleep_until((sending + interval * n as u32).into()).await;
        let permit = in_flight.clone().acquire_owned().await?;
        let pair: &Pair = &pairs[n % pairs.len()];
        let (sender, side) = if (n / pairs.len()) % 2 == 0 {
            (&pair.patient, "patient")
        } else {
            (&pair.staff, "staff")
        };
        let request = http
            .post(format!(
                "{}/api/v1/conversations/{}/messages",
                server.http_url(),
                pair.conversation_id
            ))
            .bearer_auth(&sender.token);
        let (send_latency, failed, bar) = (send_latency.clone(), failed.clone(), bar.clone());
        sends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let t = sent.duration_since(start).as_nanos();
            let response = request
                .json(&json!({"body": format!("bench t={t} from={side}")}))
                .send()
                .await;
            let ok = matches!(&response, Ok(r) if r.status() == reqwest::StatusCode::CREATED);
            if ok {
                let us = sent.elapsed().as_micros() as u64;
                send_latency
                    .lock()
                    .expect("not poisoned")
                    .saturating_record(us.max(1));
            } else {
                failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(response) = response {
                    tracing::warn!(status = %response.status(), "send failed");
                }
            }
            bar.inc(1);
            drop(permit);
        }));
    }
    for send in sends {
        send.await?;
    }
    let send_elapsed = sending.elapsed();
    let cpu = Cpu::now(server.pid, &database).minus(&cpu_before);
    bar.finish_and_clear();
    let failed = failed.load(Ordering::Relaxed);
    let succeeded = options.sends as u64 - failed;

    // Deliveries still on their way; then stop the readers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while delivered.load(Ordering::Relaxed) < succeeded && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true)?;
    let mut deliveries = Deliveries::default();
    let mut closed = 0u64;
    for reader in readers {
        let (samples, was_closed) = reader.await?;
        deliveries.add(&samples);
        closed += was_closed as u64;
    }

    let send_latency = Latency::of(&send_latency.lock().expect("not poisoned"));
    let mut report = Report::new(
        "chat",
        "qivr",
        json!({"conversations": options.conversations, "connections": 2 * options.conversations,
               "per_tenant": options.per_tenant, "target_rate": options.rate, "sends": options.sends}),
    );
    report
        .metric("connections", 2.0 * pairs.len() as f64, "")
        .metric(
            "set-up (users, sessions, tokens)",
            populated.as_secs_f64(),
            "s",
        )
        .metric("target rate", options.rate, "sends/s")
        .metric(
            "sends/s achieved",
            succeeded as f64 / send_elapsed.as_secs_f64(),
            "sends/s",
        )
        .metric("sends ok", succeeded as f64, "")
        .metric("sends failed", failed as f64, "")
        .metric("delivered", deliveries.count() as f64, "")
        .metric(
            "lost",
            succeeded.saturating_sub(deliveries.count()) as f64,
            "",
        )
        .metric("connections closed", closed as f64, "")
        .metric("POST p50", send_latency.p50_ms, "ms")
        .metric("POST p99", send_latency.p99_ms, "ms")
        .metric(
            "CPU per send: qivr",
            cpu.server * 1000.0 / options.sends as f64,
            "ms",
        )
        .metric(
            "CPU per send: PostgreSQL",
            cpu.postgres * 1000.0 / options.sends as f64,
            "ms",
        )
        .metric(
            "CPU per send: Redis",
            cpu.redis * 1000.0 / options.sends as f64,
            "ms",
        )
        .metric(
            "CPU per send: load generator",
            cpu.generator * 1000.0 / options.sends as f64,
            "ms",
        )
        .deliveries(&deliveries);
    Ok(report)
}

/// Records every message from the other side until told to stop; also says whether the
/// server closed the connection.
async fn read_messages(
    mut ws: Ws,
    side: &'static str,
    start: Instant,
    delivered: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> (Samples, bool) {
    let own = format!("from={side}\"");
    let mut samples = Samples::default();
    loop {
        let message = tokio::select! {
            message = ws.next() => message,
            _ = stop.changed() => return (samples, false),
        };
        let Some(Ok(message)) = message else {
            return (samples, true);
        };
        let Message::Text(text) = message else {
            continue;
        };
        if !text.contains("message.created") || text.contains(&own) {
            continue;
        }
        if let Some(sent) = client::number_after(&text, BODY_KEY) {
            samples.record(start, Instant::now(), sent);
            delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// CPU seconds used so far by each party to a send: the server, the PostgreSQL backends of
/// the run's database, Redis (all of it: it may serve others too), and this process.
struct Cpu {
    server: f64,
    postgres: f64,
    redis: f64,
    generator: f64,
}

impl Cpu {
    fn now(server: u32, database: &str) -> Self {
        let generator = process::cpu_seconds(std::process::id());
        // In-process, the server's time is the generator's.
        let server = if server == std::process::id() {
            0.0
        } else {
            process::cpu_seconds(server)
        };
        Self {
            server,
            postgres: process::cpu_seconds_named("postgres", &format!(" {database} ")),
            redis: process::cpu_seconds_named("redis-server", ""),
            generator,
        }
    }

    fn minus(&self, before: &Self) -> Self {
        Self {
            server: self.server - before.server,
            postgres: self.postgres - before.postgres,
            redis: self.redis - before.redis,
            generator: self.generator - before.generator,
        }
    }
}
