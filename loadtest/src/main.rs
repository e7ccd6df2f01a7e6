//! The Qivr load generator: `qivr-loadtest fanout --connections 5000 --events 200`.
//!
//! Runs against a throwaway database created (and dropped) on the PostgreSQL server that
//! `DATABASE_URL` names, with a hub of its own.

use std::process::Stdio;

use anyhow::Context;
use clap::{Parser, Subcommand};
use qivr_loadtest::fanout::{self, FanoutOptions};
use qivr_loadtest::idle;
use qivr_loadtest::setup::{self, BrokerChoice, LocalHub};
use qivr_shared::db::Database;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use tokio::io::AsyncBufReadExt;
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
    /// N idle authenticated connections: the hub's memory per connection.
    Idle {
        #[arg(long, default_value_t = 5000)]
        connections: usize,
    },
    /// A hub alone on a random port, printing `listening <addr>` (used by `idle`).
    #[command(hide = true)]
    Hub,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let server: PgConnectOptions = cli.database_url.parse().context("DATABASE_URL")?;
    if let Scenario::Hub = cli.scenario {
        return serve_hub(server).await;
    }
    let name = format!("qivr_loadtest_{}", Uuid::new_v4().simple());
    let mut admin = server.connect().await.context("connecting to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let result = run(&cli, server.clone().database(&name), &name).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    result
}

async fn run(cli: &Cli, database: PgConnectOptions, name: &str) -> anyhow::Result<()> {
    Database::from_options(database.clone()).migrate().await?;
    let identity = setup::identity(database).await?;
    match &cli.scenario {
        Scenario::Fanout {
            connections,
            events,
            rate,
            redis_url,
            payload_bytes,
            queue,
        } => {
            let options = FanoutOptions {
                connections: *connections,
                events: *events,
                rate: (*rate > 0.0).then_some(*rate),
                broker: redis_url
                    .clone()
                    .map(BrokerChoice::Redis)
                    .unwrap_or(BrokerChoice::Memory),
                payload_bytes: *payload_bytes,
                queue: *queue,
                ..FanoutOptions::default()
            };
            println!("{}", fanout::run(&identity, &options).await?);
        }
        Scenario::Idle { connections } => {
            let url = database_url_for(&cli.database_url, name)?;
            let mut child = tokio::process::Command::new(std::env::current_exe()?)
                .args(["--database-url", &url, "hub"])
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()?;
            let mut lines =
                tokio::io::BufReader::new(child.stdout.take().context("child stdout")?).lines();
            let addr = loop {
                let line = lines.next_line().await?.context("the hub exited")?;
                if let Some(addr) = line.strip_prefix("listening ") {
                    break addr.to_string();
                }
            };
            let pid = child.id().context("hub pid")?;
            let report = idle::run(
                &format!("ws://{addr}/ws"),
                pid,
                &identity.token,
                identity.user_id,
                *connections,
            )
            .await;
            child.kill().await?;
            println!("{}", report?);
        }
        Scenario::Hub => unreachable!("handled before a database is created"),
    }
    Ok(())
}

/// `DATABASE_URL` with its database replaced by `name`.
fn database_url_for(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((url, None));
    let (server, _) = base
        .rsplit_once('/')
        .context("DATABASE_URL has no database")?;
    Ok(match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    })
}

async fn serve_hub(database: PgConnectOptions) -> anyhow::Result<()> {
    let auth = setup::authenticator(database).await?;
    let hub = LocalHub::start(&auth, &BrokerChoice::Memory, |_| {}).await?;
    println!("listening {}", hub.addr);
    std::future::pending::<()>().await;
    Ok(())
}
