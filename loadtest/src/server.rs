//! The Qivr server under test: the real `qivr serve --roles api,realtime` binary in a child
//! process (the default for real runs: the server gets its own runtime, its own file
//! descriptor limit, and its memory can be read from `/proc`), or the same `Application` in
//! this process (what the smoke tests use).
//!
//! Either way it runs through Redis when a Redis URL is given, under a key prefix of its own,
//! and the load generator can publish into it through a [`Publisher`] on the same Redis.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use qivr_api::app::{Application, Roles};
use qivr_realtime::broker::redis::RedisBroker;
use qivr_realtime::broker::Broker;
use qivr_realtime::Publisher;
use qivr_shared::db::Database;
use qivr_shared::Config;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::oneshot;
use uuid::Uuid;

/// How the server runs.
#[derive(Debug, Clone)]
pub enum Launch {
    /// `Application` on this process's runtime.
    InProcess,
    /// This `qivr` binary as a child process.
    Child { qivr: PathBuf },
}

/// Settings the scenarios vary.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub redis_url: Option<String>,
    /// The per-connection send queue (`realtime.send_queue_capacity`); default if `None`.
    pub send_queue: Option<usize>,
    /// Events kept per channel for recovery (`realtime.history_size`); default if `None`.
    pub history: Option<usize>,
}

pub struct Server {
    pub addr: SocketAddr,
    /// The server process (this one when in-process).
    pub pid: u32,
    /// Publishes into the server's hub through Redis (`None` without Redis: the in-process
    /// bus belongs to the application alone).
    pub publisher: Option<Publisher>,
    running: Running,
}

enum Running {
    InProcess {
        stop: oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    },
    Child(tokio::process::Child),
}

impl Server {
    /// Starts a server on `database` (migrated) and waits until it answers `/healthz`.
    pub async fn start(
        launch: &Launch,
        database: &PgConnectOptions,
        database_url: &str,
        settings: &Settings,
    ) -> anyhow::Result<Self> {
        let mut config = Config {
            redis_url: settings.redis_url.clone(),
            ..Config::default()
        };
        config.realtime.redis_prefix = format!("qivr-loadtest-{}", Uuid::new_v4().simple());
        // The load generator's clients send a few frames each, many at once from one address.
        config.realtime.client_frames_per_second = 1000;
        config.realtime.client_frame_burst = 1000;
        if let Some(history) = settings.history {
            config.realtime.history_size = history;
        }
        if let Some(queue) = settings.send_queue {
            config.realtime.send_queue_capacity = queue;
        }
        let server = match launch {
            Launch::InProcess => {
                config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
                let pool = Database::from_options(database.clone())
                    .app_pool(32)
                    .await?;
                let publisher = publisher(&config).await?;
                let roles = Roles {
                    api: true,
                    realtime: true,
                    workers: false,
                };
                let app = Application::build(config, pool, roles).await?;
                let addr = app.local_addr();
                let (stop, stopped) = oneshot::channel::<()>();
                let task = tokio::spawn(app.run(async move {
                    let _ = stopped.await;
                }));
                Server {
                    addr,
                    pid: std::process::id(),
                    publisher,
                    running: Running::InProcess { stop, task },
                }
            }
            Launch::Child { qivr } => {
                let addr = free_port()?;
                let realtime = &config.realtime;
                let child = tokio::process::Command::new(qivr)
                    .args(["serve", "--roles", "api,realtime"])
                    .env("DATABASE_URL", database_url)
                    .env("QIVR_ADDR", addr.to_string())
                    .env("QIVR_REALTIME__REDIS_PREFIX", &realtime.redis_prefix)
                    .env(
                        "QIVR_REALTIME__HISTORY_SIZE",
                        realtime.history_size.to_string(),
                    )
                    .env(
                        "QIVR_REALTIME__SEND_QUEUE_CAPACITY",
                        realtime.send_queue_capacity.to_string(),
                    )
                    .env(
                        "QIVR_REALTIME__CLIENT_FRAMES_PER_SECOND",
                        realtime.client_frames_per_second.to_string(),
                    )
                    .env(
                        "QIVR_REALTIME__CLIENT_FRAME_BURST",
                        realtime.client_frame_burst.to_string(),
                    )
                    .env("QIVR_WEB_DIR", "/nonexistent")
                    .env("RUST_LOG", "warn")
                    .envs(settings.redis_url.iter().map(|url| ("REDIS_URL", url)))
                    .stdout(Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .with_context(|| format!("starting {}", qivr.display()))?;
                let pid = child.id().context("the server exited at once")?;
                Server {
                    addr,
                    pid,
                    publisher: publisher(&config).await?,
                    running: Running::Child(child),
                }
            }
        };
        server.wait_ready().await?;
        Ok(server)
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let url = format!("{}/healthz", self.http_url());
        for _ in 0..300 {
            if let Ok(response) = reqwest::get(&url).await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server at {} never became healthy", self.addr)
    }

    /// Stops the server (in-process: gracefully, closing WebSockets with 4500).
    pub async fn stop(self) {
        match self.running {
            Running::InProcess { stop, task } => {
                let _ = stop.send(());
                let _ = task.await;
            }
            Running::Child(mut child) => {
                let _ = child.kill().await;
            }
        }
    }
}

/// A publisher reaching the server's hub from outside it, through Redis.
async fn publisher(config: &Config) -> anyhow::Result<Option<Publisher>> {
    let Some(url) = &config.redis_url else {
        return Ok(None);
    };
    let broker: Arc<dyn Broker> = Arc::new(RedisBroker::connect(url, &config.realtime).await?);
    Ok(Some(Publisher::new(broker)))
}

/// A free local port for the child to bind a moment later, below the ephemeral range
/// (32768 and up) that the load generator's client sockets fill.
fn free_port() -> anyhow::Result<SocketAddr> {
    for _ in 0..1000 {
        let addr = SocketAddr::from((
            [127, 0, 0, 1],
            rand::Rng::gen_range(&mut rand::thread_rng(), 20_000..32_000),
        ));
        if std::net::TcpListener::bind(addr).is_ok() {
            return Ok(addr);
        }
    }
    anyhow::bail!("no free port between 20000 and 32000")
}
