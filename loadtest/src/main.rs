//! The Qivr load generator: `qivr-loadtest chat --conversations 10000 --rate 2000`.
//!
//! Each run gets a throwaway database, created (and dropped) on the PostgreSQL server that
//! `DATABASE_URL` names, and a server of its own: by default the real `qivr` binary (next to
//! this one) in a child process, through Redis. Every scenario prints a summary table and
//! writes `<target>-<scenario>.json` and SVG plots under `--out`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use qivr_loadtest::chat::{self, ChatOptions};
use qivr_loadtest::fanout::{self, FanoutOptions};
use qivr_loadtest::report::Report;
use qivr_loadtest::server::{Launch, Server, Settings};
use qivr_loadtest::setup::{self, BrokerChoice, Identity, LocalHub};
use qivr_loadtest::slow::{self, SlowOptions};
use qivr_loadtest::storm::{self, StormOptions};
use qivr_loadtest::target::HubTarget;
use qivr_loadtest::{idle, limits, population};
use qivr_shared::db::Database;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use tokio::io::AsyncBufReadExt;
use uuid::Uuid;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A PostgreSQL server where a throwaway database can be created.
    #[arg(
        long,
        env = "DATABASE_URL",
        global = true,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
    /// Redis for the server's broker.
    #[arg(
        long,
        env = "REDIS_URL",
        global = true,
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    /// Where reports and plots go.
    #[arg(long, global = true, default_value = "target/bench")]
    out: PathBuf,
    /// Names the report instead of the scenario (e.g. `fanout-peak` and `fanout-rate`).
    #[arg(long, global = true)]
    name: Option<String>,
    /// Where the server runs: `child` (the `qivr` binary; needed for memory figures and for
    /// more connections than one process may open) or `in-process`.
    #[arg(long, global = true, value_enum, default_value_t = Where::Child)]
    server: Where,
    /// The `qivr` binary (default: next to this one).
    #[arg(long, global = true)]
    qivr: Option<PathBuf>,
    /// The peers' directory (loadtest/peers).
    #[arg(long, global = true, default_value = "loadtest/peers")]
    peers: PathBuf,
    /// Events the hub keeps per channel for recovery (default: the server's, 256).
    #[arg(long, global = true)]
    history: Option<usize>,
    /// In-process only: the hub's in-process broker instead of Redis.
    #[arg(long, global = true)]
    no_redis: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Where {
    Child,
    InProcess,
}

/// Which server the hub scenarios measure.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Qivr,
    /// The bare tokio-tungstenite broadcast server (this binary's `bare-server`).
    Bare,
    /// Socket.IO 4 with the Redis adapter (loadtest/peers/socketio, after `npm ci` there).
    Socketio,
}

#[derive(Subcommand)]
enum Scenario {
    /// N connections on one channel, M events: deliveries/s and latency.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Events per second (0: as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        #[arg(long, default_value_t = 64)]
        payload_bytes: usize,
        /// The hub's per-connection queue.
        #[arg(long, default_value_t = 1024)]
        queue: usize,
        #[arg(long, value_enum, default_value_t = Kind::Qivr)]
        target: Kind,
    },
    /// N idle authenticated connections: the server's memory per connection.
    Idle {
        #[arg(long, default_value_t = 5000)]
        connections: usize,
        #[arg(long, value_enum, default_value_t = Kind::Qivr)]
        target: Kind,
    },
    /// M conversations (2M connections), REST sends at a rate: end-to-end latency.
    Chat {
        #[arg(long, default_value_t = 1000)]
        conversations: usize,
        #[arg(long, default_value_t = 10)]
        per_tenant: usize,
        /// Sends per second.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        #[arg(long, default_value_t = 2000)]
        sends: usize,
        #[arg(long, default_value_t = 512)]
        max_in_flight: usize,
    },
    /// N clients drop and reconnect at once with `since`: recovery time, events lost.
    Storm {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Events per second throughout.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// Milliseconds the clients stay away.
        #[arg(long, default_value_t = 500)]
        away_ms: u64,
        #[arg(long, default_value_t = 1000)]
        reconnect_concurrency: usize,
    },
    /// Some clients stop reading: the others' latency must not move; the slow ones get 4008.
    Slow {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long, default_value_t = 100)]
        slow: usize,
        /// Events per phase.
        #[arg(long, default_value_t = 1000)]
        events: usize,
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        #[arg(long, default_value_t = 4096)]
        payload_bytes: usize,
        #[arg(long, value_enum, default_value_t = Kind::Qivr)]
        target: Kind,
    },
    /// Ratios of the reports under `--out` against DESIGN §11 and combined plots.
    Compare,
    /// The bare broadcast server alone, printing `listening <addr>`.
    #[command(hide = true)]
    BareServer,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let files = limits::raise_open_files(200_000);
    match cli.scenario {
        Scenario::BareServer => return qivr_loadtest::bare::serve().await,
        Scenario::Compare => {
            println!("{}", qivr_loadtest::compare::run(&cli.out)?);
            return Ok(());
        }
        _ => {}
    }
    eprintln!("open-file limit: {files}");
    let server: PgConnectOptions = cli.database_url.parse().context("DATABASE_URL")?;
    let name = format!("qivr_loadtest_{}", Uuid::new_v4().simple());
    let mut admin = server.connect().await.context("connecting to PostgreSQL")?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let result = run(&cli, server.clone().database(&name), &name).await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let mut report = result?;
    if let Some(name) = &cli.name {
        report.scenario = name.clone();
    }
    println!("{report}");
    report.write(&cli.out)?;
    eprintln!("report and plots in {}", cli.out.display());
    Ok(())
}

async fn run(cli: &Cli, database: PgConnectOptions, name: &str) -> anyhow::Result<Report> {
    Database::from_options(database.clone()).migrate().await?;
    let identity = setup::identity(database.clone()).await?;
    let database_url = database_url_for(&cli.database_url, name)?;
    match &cli.scenario {
        Scenario::Fanout {
            connections,
            events,
            rate,
            payload_bytes,
            queue,
            target,
        } => {
            let options = FanoutOptions {
                connections: *connections,
                events: *events,
                rate: (*rate > 0.0).then_some(*rate),
                payload_bytes: *payload_bytes,
                ..FanoutOptions::default()
            };
            let running = start(
                cli,
                *target,
                &database,
                &database_url,
                &identity,
                Some(*queue),
                *connections,
            )
            .await?;
            let report = fanout::run(&running.target, &options).await;
            running.stop().await;
            report
        }
        Scenario::Idle {
            connections,
            target,
        } => {
            anyhow::ensure!(
                cli.server == Where::Child,
                "idle measures the server's own memory: run it with --server child"
            );
            let running = start(
                cli,
                *target,
                &database,
                &database_url,
                &identity,
                None,
                *connections + 1,
            )
            .await?;
            let report = idle::run(&running.target, *connections).await;
            running.stop().await;
            report
        }
        Scenario::Chat {
            conversations,
            per_tenant,
            rate,
            sends,
            max_in_flight,
        } => {
            let server = Server::start(
                &launch(cli)?,
                &database,
                &database_url,
                &settings(cli, None),
            )
            .await?;
            let owner = Database::from_options(database.clone())
                .owner_pool()
                .await?;
            let options = ChatOptions {
                conversations: *conversations,
                per_tenant: *per_tenant,
                rate: *rate,
                sends: *sends,
                max_in_flight: *max_in_flight,
                ..ChatOptions::default()
            };
            let report = chat::run(&server, &owner, &identity.auth, &options).await;
            server.stop().await;
            report
        }
        Scenario::Storm {
            connections,
            rate,
            away_ms,
            reconnect_concurrency,
        } => {
            let options = StormOptions {
                connections: *connections,
                rate: *rate,
                away: Duration::from_millis(*away_ms),
                reconnect_concurrency: *reconnect_concurrency,
                ..StormOptions::default()
            };
            let running = start(
                cli,
                Kind::Qivr,
                &database,
                &database_url,
                &identity,
                None,
                *connections,
            )
            .await?;
            let report = storm::run(&running.target, &options).await;
            running.stop().await;
            report
        }
        Scenario::Slow {
            connections,
            slow,
            events,
            rate,
            payload_bytes,
            target,
        } => {
            let options = SlowOptions {
                connections: *connections,
                slow: *slow,
                events: *events,
                rate: *rate,
                payload_bytes: *payload_bytes,
            };
            let running = start(
                cli,
                *target,
                &database,
                &database_url,
                &identity,
                None,
                *connections + *slow,
            )
            .await?;
            let report = slow::run(&running.target, &options).await;
            running.stop().await;
            report
        }
        Scenario::BareServer | Scenario::Compare => {
            unreachable!("handled before a database is created")
        }
    }
}

fn launch(cli: &Cli) -> anyhow::Result<Launch> {
    Ok(match cli.server {
        Where::InProcess => Launch::InProcess,
        Where::Child => Launch::Child {
            qivr: match &cli.qivr {
                Some(path) => path.clone(),
                None => std::env::current_exe()?.with_file_name("qivr"),
            },
        },
    })
}

fn settings(cli: &Cli, send_queue: Option<usize>) -> Settings {
    Settings {
        redis_url: (!cli.no_redis).then(|| cli.redis_url.clone()),
        send_queue,
        history: cli.history,
    }
}

/// A hub target and what keeps it running.
struct Running {
    target: HubTarget,
    server: Option<Server>,
    hub: Option<LocalHub>,
    child: Option<tokio::process::Child>,
}

impl Running {
    async fn stop(self) {
        drop(self.target);
        if let Some(server) = self.server {
            server.stop().await;
        }
        if let Some(hub) = self.hub {
            hub.stop().await;
        }
        if let Some(mut child) = self.child {
            let _ = child.kill().await;
        }
    }
}

async fn start(
    cli: &Cli,
    kind: Kind,
    database: &PgConnectOptions,
    database_url: &str,
    identity: &Identity,
    queue: Option<usize>,
    clients: usize,
) -> anyhow::Result<Running> {
    // A user and session per client, as in life.
    let tokens = if kind == Kind::Qivr {
        let owner = Database::from_options(database.clone())
            .owner_pool()
            .await?;
        population::staff(&owner, &identity.auth, identity.tenant_id, clients + 1).await?
    } else {
        Vec::new()
    };
    match kind {
        Kind::Qivr if cli.server == Where::InProcess => {
            let broker = if cli.no_redis {
                BrokerChoice::Memory
            } else {
                BrokerChoice::Redis(cli.redis_url.clone())
            };
            let hub = LocalHub::start(&identity.auth, &broker, |config| {
                config.realtime.client_frames_per_second = 1000;
                if let Some(queue) = queue {
                    config.realtime.send_queue_capacity = queue;
                }
                if let Some(history) = cli.history {
                    config.realtime.history_size = history;
                }
            })
            .await?;
            let target = HubTarget::qivr(
                hub.url(),
                std::process::id(),
                hub.hub.publisher(),
                identity.tenant_id,
                tokens,
            );
            Ok(Running {
                target,
                server: None,
                hub: Some(hub),
                child: None,
            })
        }
        Kind::Qivr => {
            anyhow::ensure!(
                !cli.no_redis,
                "a server in a child process is reached through Redis"
            );
            let server =
                Server::start(&launch(cli)?, database, database_url, &settings(cli, queue)).await?;
            let publisher = server
                .publisher
                .clone()
                .context("a publisher through Redis")?;
            let target = HubTarget::qivr(
                server.ws_url(),
                server.pid,
                publisher,
                identity.tenant_id,
                tokens,
            );
            Ok(Running {
                target,
                server: Some(server),
                hub: None,
                child: None,
            })
        }
        Kind::Bare => {
            let (child, addr) = spawn_listening(
                tokio::process::Command::new(std::env::current_exe()?).arg("bare-server"),
            )
            .await?;
            let pid = child.id().context("the bare server exited")?;
            let target = HubTarget::bare(format!("ws://{addr}/"), pid).await?;
            Ok(Running {
                target,
                server: None,
                hub: None,
                child: Some(child),
            })
        }
        Kind::Socketio => {
            let script = cli.peers.join("socketio/server.mjs");
            anyhow::ensure!(script.exists(), "{} is missing", script.display());
            let mut command = tokio::process::Command::new("node");
            command
                .arg(&script)
                .env("PORT", "0")
                .env("REDIS_URL", &cli.redis_url)
                .env(
                    "PREFIX",
                    format!("qivr-loadtest-socketio-{}", Uuid::new_v4().simple()),
                );
            let (child, addr) = spawn_listening(&mut command).await?;
            let pid = child.id().context("the Socket.IO server exited")?;
            let target = HubTarget::socket_io(&addr, pid).await?;
            Ok(Running {
                target,
                server: None,
                hub: None,
                child: Some(child),
            })
        }
    }
}

/// Starts `command` and waits for its `listening <addr>` line.
async fn spawn_listening(
    command: &mut tokio::process::Command,
) -> anyhow::Result<(tokio::process::Child, String)> {
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn()?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().context("child stdout")?).lines();
    let addr = loop {
        let line = lines.next_line().await?.context("the server exited")?;
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr.to_string();
        }
    };
    Ok((child, addr))
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
