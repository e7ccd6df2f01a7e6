//! The Qivr load generator: `qivr-loadtest fanout --connections 5000 --events 200`.
//!
//! Runs against a throwaway database created (and dropped) on the PostgreSQL server that
//! `DATABASE_URL` names, with an in-process hub.

use anyhow::Context;
use clap::{Parser, Subcommand};
use qivr_loadtest::fanout::{self, FanoutOptions};
use qivr_loadtest::setup::{self, BrokerChoice};
use qivr_shared::db::Database;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use uuid::Uuid;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A PostgreSQL server where a throwaway database can be created.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// N connections on one channel, M events: deliveries/s and p50/p99 latency.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Events per second (0: as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// Use Redis at this URL instead of the in-process broker.
        #[arg(long)]
        redis_url: Option<String>,
        #[arg(long, default_value_t = 64)]
        payload_bytes: usize,
        /// The hub's per-connection queue.
        #[arg(long, default_value_t = 1024)]
        queue: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let server: PgConnectOptions = cli.database_url.parse().context("DATABASE_URL")?;
    let name = format!("qivr_loadtest_{}", Uuid::new_v4().simple());
    let mut admin = server.connect().await.context("connecting to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let result = run(&cli.scenario, server.clone().database(&name)).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    result
}

async fn run(scenario: &Scenario, database: PgConnectOptions) -> anyhow::Result<()> {
    Database::from_options(database.clone()).migrate().await?;
    let identity = setup::identity(database).await?;
    match scenario {
        Scenario::Fanout { connections, events, rate, redis_url, payload_bytes, queue } => {
            let options = FanoutOptions {
                connections: *connections,
                events: *events,
                rate: (*rate > 0.0).then_some(*rate),
                broker: redis_url.clone().map(BrokerChoice::Redis).unwrap_or(BrokerChoice::Memory),
                payload_bytes: *payload_bytes,
                queue: *queue,
                ..FanoutOptions::default()
            };
            let report = fanout::run(&identity, &options).await?;
            println!("{report}");
        }
    }
    Ok(())
}
