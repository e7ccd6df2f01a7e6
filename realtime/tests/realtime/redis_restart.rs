//! A private `redis-server` on a free port, killed and restarted under running hubs.

use std::process::Stdio;
use std::time::Duration;

use qivr_shared::auth::Role;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::process::{Child, Command};

use crate::helpers::{Ended, TestEnv, PATIENCE};

struct PrivateRedis {
    port: u16,
    /// Append-only file on, so a restart comes back with the data (as a real deployment would).
    persistent: bool,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start(persistent: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("qivr-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Self {
            port,
            persistent,
            dir,
            child: None,
        };
        redis.launch().await;
        redis
    }

    async fn launch(&mut self) {
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--appendonly",
                if self.persistent { "yes" } else { "no" },
                "--appendfsync",
                "always",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        self.child = Some(command.spawn().expect("redis-server runs"));
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Publishes, retrying while Redis comes back.
async fn publish_retrying(publisher: &qivr_realtime::Publisher, tenant: uuid::Uuid, n: i64) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Err(error) = publisher
        .publish(tenant, "evaluations", "evaluation.updated", json!({"n": n}))
        .await
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "publishing never recovered: {error}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn after_redis_restarts_under_a_running_hub_delivery_resumes_without_losing_events(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let mut redis = PrivateRedis::start(true).await;
    let (a, b) = (
        env.redis_node_at(&redis.url()).await,
        env.redis_node_at(&redis.url()).await,
    );
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = a.client(&staff).await;
    client.subscribe("evaluations").await;
    let publisher = b.publisher();
    publish_retrying(&publisher, env.tenant_id, 1).await;
    assert_eq!(client.next_event().await["event"]["data"]["n"], 1);

    redis.kill().await;
    redis.launch().await;

    // Whatever is published while node A is still reconnecting reaches it from history.
    for n in 2..=4 {
        publish_retrying(&publisher, env.tenant_id, n).await;
    }
    for n in 2..=4 {
        assert_eq!(client.next_event().await["event"]["data"]["n"], n);
    }
    let text = a.metrics_text();
    assert!(
        text.contains("qivr_realtime_redis_reconnects_total 1"),
        "{text}"
    );
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn when_redis_comes_back_empty_clients_are_told_to_recover_and_get_recovered_false(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let mut redis = PrivateRedis::start(false).await;
    let node = env.redis_node_at(&redis.url()).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;
    client.subscribe("evaluations").await;
    publish_retrying(&node.publisher(), env.tenant_id, 1).await;
    let seen = client.next_event().await;

    redis.kill().await;
    redis.launch().await;

    assert_eq!(
        client.closed().await,
        Ended::Closed(4008),
        "history is gone: the client must recover"
    );
    let mut client = node.client(&staff).await;
    let reply = client
        .subscribe_since("evaluations", &seen["offset"], &seen["epoch"])
        .await;
    assert_eq!(reply["recovered"], false);
    assert_ne!(reply["epoch"], seen["epoch"]);
    publish_retrying(&node.publisher(), env.tenant_id, 2).await;
    assert_eq!(client.next_event().await["event"]["data"]["n"], 2);
}
