//! Every scenario of the load generator at toy size, so it keeps working as the server
//! changes. The real runs (scripts/bench.sh) stay out of CI; these assert only what must hold
//! at any size: every event delivered, none lost or doubled.

use std::time::Duration;

use qivr_loadtest::chat::{self, ChatOptions};
use qivr_loadtest::fanout::{self, FanoutOptions};
use qivr_loadtest::server::{Launch, Server, Settings};
use qivr_loadtest::setup::{self, BrokerChoice, Identity, LocalHub};
use qivr_loadtest::slow::{self, SlowOptions};
use qivr_loadtest::storm::{self, StormOptions};
use qivr_loadtest::target::HubTarget;
use qivr_shared::db::Database;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn hub(identity: &Identity, broker: BrokerChoice, queue: usize) -> (LocalHub, HubTarget) {
    let hub = LocalHub::start(&identity.auth, &broker, |config| {
        config.realtime.client_frames_per_second = 1000;
        config.realtime.send_queue_capacity = queue;
    })
    .await
    .unwrap();
    let target = HubTarget::qivr(
        hub.url(),
        std::process::id(),
        hub.hub.publisher(),
        identity.tenant_id,
        vec![identity.token.clone()],
    );
    (hub, target)
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_tiny_fanout_delivers_every_event_to_every_connection(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let identity = setup::identity(options).await.unwrap();
    for broker in [BrokerChoice::Memory, BrokerChoice::Redis(redis_url())] {
        let (hub, target) = hub(&identity, broker, 1024).await;
        let report = fanout::run(
            &target,
            &FanoutOptions {
                connections: 5,
                events: 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        hub.stop().await;
        assert_eq!(report.get("deliveries"), Some(100.0), "{report}");
        assert_eq!(report.get("missing"), Some(0.0), "{report}");
        assert_eq!(report.latency.as_ref().unwrap().count, 100);
    }
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_tiny_chat_delivers_every_message_to_the_other_side(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let identity = setup::identity(options.clone()).await.unwrap();
    let settings = Settings {
        redis_url: Some(redis_url()),
        send_queue: None,
        history: None,
    };
    let server = Server::start(&Launch::InProcess, &options, "unused", &settings)
        .await
        .unwrap();
    let owner = Database::from_options(options).owner_pool().await.unwrap();
    let chat = ChatOptions {
        conversations: 4,
        per_tenant: 2,
        rate: 200.0,
        sends: 16,
        ..Default::default()
    };
    let report = chat::run(&server, &owner, &identity.auth, &chat)
        .await
        .unwrap();
    server.stop().await;
    assert_eq!(report.get("sends ok"), Some(16.0), "{report}");
    assert_eq!(report.get("delivered"), Some(16.0), "{report}");
    assert_eq!(report.get("lost"), Some(0.0), "{report}");
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_tiny_storm_recovers_every_client_without_losing_an_event(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let identity = setup::identity(options).await.unwrap();
    let (hub, target) = hub(&identity, BrokerChoice::Redis(redis_url()), 1024).await;
    let storm = StormOptions {
        connections: 10,
        rate: 100.0,
        live: Duration::from_millis(300),
        away: Duration::from_millis(200),
        reconnect_concurrency: 10,
    };
    let report = storm::run(&target, &storm).await.unwrap();
    hub.stop().await;
    assert_eq!(report.get("clients recovered"), Some(10.0), "{report}");
    assert_eq!(report.get("events lost (gaps)"), Some(0.0), "{report}");
    assert_eq!(report.get("duplicates"), Some(0.0), "{report}");
    assert_eq!(report.get("recovered:false"), Some(0.0), "{report}");
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_tiny_slow_run_closes_the_slow_clients_and_serves_the_rest(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let identity = setup::identity(options).await.unwrap();
    // Big events and a short queue, so the slow clients fill their socket buffers and then
    // the queue within the second a phase of a smoke run lasts.
    let (hub, target) = hub(&identity, BrokerChoice::Memory, 16).await;
    let slow = SlowOptions {
        connections: 4,
        slow: 2,
        events: 200,
        rate: 200.0,
        payload_bytes: 64 * 1024,
    };
    let report = slow::run(&target, &slow).await.unwrap();
    hub.stop().await;
    assert_eq!(
        report.get("normal clients' missing events"),
        Some(0.0),
        "{report}"
    );
    assert_eq!(
        report.get("slow clients closed 4008"),
        Some(2.0),
        "{report}"
    );
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}
