//! The outbox relay: publishes events that were committed but never published (the process
//! died between commit and publish, or the broker was down), so nothing committed is lost to
//! subscribers (DESIGN §2).
//!
//! Rows younger than [`GRACE`] are left to the fast path, which normally marks them within
//! milliseconds; older unpublished rows are claimed with `FOR UPDATE SKIP LOCKED` (so several
//! relays never send the same row at once), published with their original event id, and
//! marked. The relay reads every clinic's outbox, which row-level security allows only to a
//! transaction that sets `app.relay`.

use std::time::Duration;

use qivr_realtime::{Event, Publisher};
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;

/// How old an unpublished event must be before the relay takes it from the fast path.
pub const GRACE: Duration = Duration::from_secs(1);
/// How often the relay looks for stragglers.
const INTERVAL: Duration = Duration::from_millis(500);
const BATCH: i64 = 500;

/// Runs until `shutdown` is cancelled.
pub async fn run(pool: PgPool, publisher: Publisher, shutdown: CancellationToken) {
    tracing::info!("outbox relay started");
    loop {
        match relay_once(&pool, &publisher).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(events = sent, "relayed events the fast path missed"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "outbox relay pass failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
    tracing::info!("outbox relay stopped");
}

/// One pass: publishes and marks up to a batch of overdue events; returns how many.
pub async fn relay_once(pool: &PgPool, publisher: &Publisher) -> anyhow::Result<usize> {
    let mut tx = relay_transaction(pool).await?;
    // language=PostgreSQL
    let rows = sqlx::query!(
        "SELECT id, tenant_id, channel, payload FROM outbox
         WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $1)
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        GRACE.as_secs_f64(),
        BATCH,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut published = Vec::with_capacity(rows.len());
    for row in rows {
        let event: Event = match serde_json::from_value(row.payload) {
            Ok(event) => event,
            Err(error) => {
                tracing::error!(%error, outbox.id = row.id, "unreadable outbox event; skipping it");
                continue;
            }
        };
        // Stop at the first failure: later events of a channel must not overtake earlier ones.
        if let Err(error) = publisher.publish_event(row.tenant_id, &row.channel, &event).await {
            tracing::warn!(%error, outbox.id = row.id, "relay could not publish; will retry");
            break;
        }
        published.push(row.id);
    }
    mark(&mut tx, &published).await?;
    tx.commit().await?;
    Ok(published.len())
}

/// Marks outbox rows published (the fast path calls this after publishing).
pub async fn mark_published(pool: &PgPool, ids: &[i64]) -> sqlx::Result<()> {
    let mut tx = relay_transaction(pool).await?;
    mark(&mut tx, ids).await?;
    tx.commit().await
}

async fn mark(tx: &mut Transaction<'static, Postgres>, ids: &[i64]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // language=PostgreSQL
    sqlx::query!("UPDATE outbox SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL", ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn relay_transaction(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    // language=PostgreSQL
    sqlx::query("SELECT set_config('app.relay', 'on', true)").execute(&mut *tx).await?;
    Ok(tx)
}
