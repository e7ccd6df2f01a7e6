//! Throwaway databases for tests (feature `testing`).
//!
//! Each test gets a fresh, migrated database on the server `DATABASE_URL` names, dropped again
//! (forcibly, so the server under test need not close its pool first) when the handle is
//! dropped, even when the test panics.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor};

use super::Database;

pub struct TestDatabase {
    pub database: Database,
    name: String,
    server: PgConnectOptions,
}

impl TestDatabase {
    /// Creates and migrates `qivr_test_<random>`.
    pub async fn create() -> Self {
        let url = std::env::var("DATABASE_URL").expect("tests need DATABASE_URL (a PostgreSQL server to create databases on)");
        let server: PgConnectOptions = url.parse().expect("DATABASE_URL parses");
        let name = format!("qivr_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = server.clone().database("postgres").connect().await.expect("connecting to the test server");
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("creating the test database");
        let database = Database::from_options(server.clone().database(&name));
        database.migrate().await.expect("migrating the test database");
        Self { database, name, server }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = self.server.clone().database("postgres");
        // Drop runs inside the test's runtime, which must not block on itself.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = server.connect().await?;
                admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            tracing::warn!(database = %self.name, "could not drop the test database");
        }
    }
}
