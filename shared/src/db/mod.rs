//! The PostgreSQL side: where the database is, how the application connects to it, and its
//! schema.
//!
//! The server's queries run as the role [`APP_ROLE`], which owns nothing and cannot bypass
//! row-level security, so tenant isolation holds even for a query that forgets its
//! `tenant_id` filter. Whatever user `DATABASE_URL` names (often the owner or a superuser,
//! which RLS would not bind) only runs migrations; every pooled connection switches to the
//! application role as soon as it is opened.

mod embedded;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};

pub use embedded::EmbeddedPostgres;

use crate::Config;

/// The role every application query runs as (created by the first migration).
pub const APP_ROLE: &str = "qivr_app";

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Where the database is: configured, or the embedded cluster we started (kept alive here
/// and stopped when this is dropped).
pub struct Database {
    pub options: PgConnectOptions,
    /// Held so the embedded cluster lives as long as the database is in use.
    _embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster when it is unset.
    pub async fn from_config(config: &Config) -> anyhow::Result<Self> {
        match &config.database_url {
            Some(url) => Ok(Self::from_options(url.expose_secret().parse()?)),
            None => {
                let embedded = EmbeddedPostgres::start(&config.data_dir.join("pg")).await?;
                Ok(Self { options: embedded.connect_options(), _embedded: Some(embedded) })
            }
        }
    }

    pub fn from_options(options: PgConnectOptions) -> Self {
        Self { options, _embedded: None }
    }

    /// Applies pending migrations, as the configured user (the schema's owner).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = sqlx::ConnectOptions::connect(&self.options).await?;
        MIGRATOR.run(&mut conn).await?;
        Ok(())
    }

    /// The application's pool. Every connection runs as [`APP_ROLE`].
    pub async fn app_pool(&self, max_connections: u32) -> sqlx::Result<PgPool> {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(format!("SET ROLE {APP_ROLE}").as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(self.options.clone())
            .await
    }

    /// A pool as the configured user, for the few jobs that are not tenant-scoped
    /// (provisioning, seeding at scale). Never used to serve requests.
    pub async fn owner_pool(&self) -> sqlx::Result<PgPool> {
        PgPoolOptions::new().max_connections(2).connect_with(self.options.clone()).await
    }
}
