//! The load generator at toy size, so it keeps working as the hub changes.

use qivr_loadtest::fanout::{self, FanoutOptions};
use qivr_loadtest::setup::{self, BrokerChoice};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_tiny_fanout_delivers_every_event_to_every_connection(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let identity = setup::identity(options).await.unwrap();
    for broker in [BrokerChoice::Memory, BrokerChoice::Redis(redis_url())] {
        let report = fanout::run(
            &identity,
            &FanoutOptions {
                connections: 5,
                events: 20,
                broker,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(report.deliveries, 100, "{report}");
        assert_eq!(report.missing, 0);
        assert_eq!(report.latency_us.len(), 100);
    }
}

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}
