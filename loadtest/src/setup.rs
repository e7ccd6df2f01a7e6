//! What every scenario needs: somebody to connect as, and a hub to connect to.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use qivr_realtime::broker::memory::MemoryBroker;
use qivr_realtime::broker::redis::RedisBroker;
use qivr_realtime::broker::Broker;
use qivr_realtime::{Hub, NoConversations};
use qivr_shared::auth::{Authenticator, Role};
use qivr_shared::db::Database;
use qivr_shared::Config;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

/// Which broker the in-process hub uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerChoice {
    Memory,
    /// Redis at this URL (a unique key prefix keeps runs apart).
    Redis(String),
}

/// A staff user of a fresh tenant and a valid access token.
pub struct Identity {
    pub auth: Arc<Authenticator>,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub token: String,
}

/// The authenticator alone (for a hub serving users created elsewhere).
pub async fn authenticator(database: PgConnectOptions) -> anyhow::Result<Arc<Authenticator>> {
    let database = Database::from_options(database);
    Ok(Arc::new(
        Authenticator::new(database.app_pool(8).await?, Default::default()).await?,
    ))
}

/// Creates the tenant, user and session in `database` (migrated) and signs a token.
pub async fn identity(database: PgConnectOptions) -> anyhow::Result<Identity> {
    let database = Database::from_options(database);
    let owner = database.owner_pool().await?;
    let auth = Arc::new(Authenticator::new(database.app_pool(8).await?, Default::default()).await?);
    let suffix = Uuid::new_v4().simple().to_string();
    // language=PostgreSQL
    let tenant_id: Uuid = sqlx::query_scalar(
        "INSERT INTO tenants (slug, name) VALUES ($1, 'Load test') RETURNING id",
    )
    .bind(format!("loadtest-{}", &suffix[..12]))
    .fetch_one(&owner)
    .await?;
    // language=PostgreSQL
    let user_id: Uuid = sqlx::query_scalar(
        "INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, 'Load Tester', 'staff') RETURNING id",
    )
    .bind(tenant_id)
    .bind(format!("loadtest-{suffix}@example.test"))
    .fetch_one(&owner)
    .await?;
    // language=PostgreSQL
    let session_id: Uuid = sqlx::query_scalar(
        "INSERT INTO sessions (tenant_id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day') RETURNING id",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_one(&owner)
    .await?;
    let token = auth
        .issue(user_id, tenant_id, Role::Staff, session_id)?
        .token;
    Ok(Identity {
        auth,
        tenant_id,
        user_id,
        token,
    })
}

/// A hub serving `/ws` on a random local port.
pub struct LocalHub {
    pub hub: Hub,
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl LocalHub {
    /// Starts listening at once; the server runs on its own task.
    pub async fn start(
        auth: &Arc<Authenticator>,
        broker: &BrokerChoice,
        configure: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let mut config = Config::default();
        config.realtime.redis_prefix = format!("qivr-loadtest-{}", Uuid::new_v4().simple());
        configure(&mut config);
        let broker: Arc<dyn Broker> = match broker {
            BrokerChoice::Memory => Arc::new(MemoryBroker::new(&config.realtime)),
            BrokerChoice::Redis(url) => {
                Arc::new(RedisBroker::connect(url, &config.realtime).await?)
            }
        };
        let mut registry = Registry::default();
        let hub = Hub::new(
            &config,
            auth.clone(),
            broker,
            Arc::new(NoConversations),
            &mut registry,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = qivr_realtime::router::<()>(hub.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { hub, addr, server })
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn stop(self) {
        self.hub.shutdown().await;
        self.server.abort();
    }
}
