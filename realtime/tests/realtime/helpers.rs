//! Nodes on port 0, users with tokens, and a small protocol client the tests drive them with.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use prometheus_client::registry::Registry;
use qivr_realtime::broker::memory::MemoryBroker;
use qivr_realtime::broker::redis::RedisBroker;
use qivr_realtime::broker::Broker;
use qivr_realtime::error::BoxError;
use qivr_realtime::{Conversation, ConversationAccess, Hub, Publisher};
use qivr_shared::auth::{Authenticator, Role};
use qivr_shared::config::AuthConfig;
use qivr_shared::db::Database;
use qivr_shared::Config;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// Long enough for anything that should happen; tests never assert on timing.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh database (from `#[sqlx::test]`), one tenant, and an authenticator.
pub struct TestEnv {
    pub owner: PgPool,
    pub auth: Arc<Authenticator>,
    pub tenant_id: Uuid,
    /// Unique per test, so parallel tests sharing one Redis never see each other.
    pub prefix: String,
    pub conversations: Arc<Conversations>,
}

impl TestEnv {
    pub async fn new(options: PgConnectOptions) -> Self {
        Self::with_auth(options, AuthConfig::default()).await
    }

    pub async fn with_auth(options: PgConnectOptions, auth: AuthConfig) -> Self {
        let database = Database::from_options(options);
        let owner = database.owner_pool().await.expect("owner pool");
        let pool = database.app_pool(4).await.expect("app pool");
        let auth = Arc::new(Authenticator::new(pool, auth).await.expect("authenticator"));
        let tenant_id: Uuid = sqlx::query_scalar(
            "INSERT INTO tenants (slug, name) VALUES ($1, 'Test Clinic') RETURNING id",
        )
        .bind(format!(
            "clinic-{}",
            &Uuid::new_v4().simple().to_string()[..8]
        ))
        .fetch_one(&owner)
        .await
        .expect("tenant");
        Self {
            owner,
            auth,
            tenant_id,
            prefix: format!("qivr-test-{}", Uuid::new_v4().simple()),
            conversations: Arc::new(Conversations::default()),
        }
    }

    /// A user of the tenant with a live session, and an access token for it.
    pub async fn user(&self, role: Role, name: &str) -> TestUser {
        let user_id: Uuid = sqlx::query_scalar(
            "INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, $3, $4::user_role) RETURNING id",
        )
        .bind(self.tenant_id)
        .bind(format!("{}@example.test", Uuid::new_v4().simple()))
        .bind(name)
        .bind(role.as_str())
        .fetch_one(&self.owner)
        .await
        .expect("user");
        let session_id = self.session(user_id).await;
        let token = self
            .auth
            .issue(user_id, self.tenant_id, role, session_id)
            .expect("token")
            .token;
        TestUser {
            id: user_id,
            session_id,
            token,
        }
    }

    pub async fn session(&self, user_id: Uuid) -> Uuid {
        sqlx::query_scalar(
            "INSERT INTO sessions (tenant_id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day') RETURNING id",
        )
        .bind(self.tenant_id)
        .bind(user_id)
        .fetch_one(&self.owner)
        .await
        .expect("session")
    }

    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.realtime.redis_prefix = self.prefix.clone();
        config
    }

    pub async fn redis_broker(&self, config: &Config) -> Arc<dyn Broker> {
        let url = config.redis_url.clone().unwrap_or_else(redis_url);
        Arc::new(
            RedisBroker::connect(&url, &config.realtime)
                .await
                .expect("redis broker"),
        )
    }

    /// A hub node on the Redis at `url`.
    pub async fn redis_node_at(&self, url: &str) -> Node {
        let url = url.to_string();
        self.redis_node_with(move |c| c.redis_url = Some(url)).await
    }

    /// A hub node on Redis, serving on a random port.
    pub async fn redis_node(&self) -> Node {
        self.redis_node_with(|_| {}).await
    }

    pub async fn redis_node_with(&self, configure: impl FnOnce(&mut Config)) -> Node {
        let mut config = self.config();
        configure(&mut config);
        let broker = self.redis_broker(&config).await;
        self.node(config, broker).await
    }

    /// A hub node with the in-process broker (the embedded default).
    pub async fn memory_node_with(&self, configure: impl FnOnce(&mut Config)) -> Node {
        let mut config = self.config();
        configure(&mut config);
        let broker = Arc::new(MemoryBroker::new(&config.realtime));
        self.node(config, broker).await
    }

    pub async fn node(&self, config: Config, broker: Arc<dyn Broker>) -> Node {
        let mut registry = Registry::default();
        let hub = Hub::new(
            &config,
            self.auth.clone(),
            broker,
            self.conversations.clone(),
            &mut registry,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let app = qivr_realtime::router::<()>(hub.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        Node {
            addr,
            hub,
            registry,
            server,
        }
    }
}

pub struct TestUser {
    pub id: Uuid,
    pub session_id: Uuid,
    pub token: String,
}

pub struct Node {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub registry: Registry,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node {
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn publisher(&self) -> Publisher {
        self.hub.publisher()
    }

    /// Connects and authenticates as `user`.
    pub async fn client(&self, user: &TestUser) -> Client {
        let mut client = Client::connect(&self.url()).await;
        let connected = client
            .request(json!({"op": "auth", "token": user.token}))
            .await;
        assert_eq!(connected["op"], "connected", "{connected}");
        client
    }

    /// The node's metrics in the text exposition format.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).unwrap();
        out
    }

    /// Kills the node as a crash would: the server stops and no goodbyes are said.
    pub fn crash(self) {
        self.hub.simulate_crash();
        self.server.abort();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Conversations the tests define: conversation → its patients' user ids.
#[derive(Default)]
pub struct Conversations(std::sync::Mutex<std::collections::HashMap<Uuid, Vec<Uuid>>>);

impl Conversations {
    pub fn set(&self, conversation_id: Uuid, patients: Vec<Uuid>) {
        self.0.lock().unwrap().insert(conversation_id, patients);
    }
}

#[async_trait]
impl ConversationAccess for Conversations {
    async fn conversation(
        &self,
        _tenant_id: Uuid,
        conversation_id: Uuid,
    ) -> Result<Option<Conversation>, BoxError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&conversation_id)
            .map(|p| Conversation {
                patient_user_ids: p.clone(),
            }))
    }
}

/// A protocol v1 client.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Frames that arrived while waiting for a reply, in order.
    pending: VecDeque<Value>,
}

/// How a connection ended, from the client's side.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(u16),
    /// The connection ended without a close frame.
    Dropped,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("WebSocket connects");
        Self {
            ws,
            next_id: 0,
            pending: VecDeque::new(),
        }
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("send");
    }

    /// Sends `frame` with a fresh `id` and waits for the reply carrying it.
    pub async fn request(&mut self, mut frame: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        frame["id"] = json!(id);
        self.send_text(frame.to_string()).await;
        loop {
            let reply = self
                .read_socket()
                .await
                .unwrap_or_else(|ended| panic!("connection ended ({ended:?}) awaiting reply {id}"));
            if reply["id"] == json!(id) {
                return reply;
            }
            self.pending.push_back(reply);
        }
    }

    pub async fn subscribe(&mut self, channel: &str) -> Value {
        let reply = self
            .request(json!({"op": "subscribe", "channel": channel}))
            .await;
        assert_eq!(reply["op"], "subscribed", "{reply}");
        reply
    }

    pub async fn subscribe_since(&mut self, channel: &str, offset: &Value, epoch: &Value) -> Value {
        let reply =
            self.request(json!({"op": "subscribe", "channel": channel, "since": {"offset": offset, "epoch": epoch}})).await;
        assert_eq!(reply["op"], "subscribed", "{reply}");
        reply
    }

    /// The next server frame, or how the connection ended.
    pub async fn read(&mut self) -> Result<Value, Ended> {
        if let Some(frame) = self.pending.pop_front() {
            return Ok(frame);
        }
        self.read_socket().await
    }

    async fn read_socket(&mut self) -> Result<Value, Ended> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a frame within the test's patience");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(&text).expect("server frames are JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Ended::Closed(
                        frame.map(|f| u16::from(f.code)).unwrap_or(1005),
                    ))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(Ended::Dropped),
            }
        }
    }

    pub async fn next_frame(&mut self) -> Value {
        self.read()
            .await
            .unwrap_or_else(|ended| panic!("connection ended: {ended:?}"))
    }

    /// The next frame with this `op`, skipping others.
    pub async fn next_op(&mut self, op: &str) -> Value {
        loop {
            let frame = self.next_frame().await;
            if frame["op"] == op {
                return frame;
            }
        }
    }

    pub async fn next_event(&mut self) -> Value {
        self.next_op("event").await
    }

    /// Reads until the server closes, skipping frames; returns the close code.
    pub async fn closed(&mut self) -> Ended {
        loop {
            if let Err(ended) = self.read().await {
                return ended;
            }
        }
    }
}
