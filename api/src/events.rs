//! Events about changes someone may be watching (DESIGN §2).
//!
//! A handler [`stage`]s each event in the transaction that makes the change: the event goes
//! into the `outbox` table with the row it describes, so it exists exactly when the change
//! does. After commit the handler hands the staged events to [`Events::publish`] (the fast
//! path), which publishes them through the realtime broker and then marks their outbox rows
//! published, in batches, off the request path. Whatever the fast path never published (a
//! crash between commit and publish, a broker outage) is published by the workers' outbox
//! relay with the same event id, so subscribers can drop the rare duplicate.

use std::time::Duration;

use qivr_realtime::{Event, Publisher};
use qivr_shared::tenancy::Tx;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Outbox ids waiting to be marked published; beyond this the marking is skipped and the
/// relay re-publishes (harmless duplicates) rather than the request path waiting.
const MARK_QUEUE: usize = 10_000;

/// An event written to the outbox, to publish once its transaction has committed.
#[must_use = "publish staged events after commit"]
pub struct Staged {
    outbox_id: i64,
    tenant_id: Uuid,
    channel: String,
    event: Event,
}

/// Writes an event for `channel` (e.g. `evaluations`, `user:<id>`) into the outbox, in `tx`.
pub async fn stage(tx: &mut Tx, tenant_id: Uuid, channel: String, kind: &str, data: serde_json::Value) -> sqlx::Result<Staged> {
    let event = Event::new(kind, data);
    // language=PostgreSQL
    let outbox_id = sqlx::query_scalar!(
        "INSERT INTO outbox (tenant_id, channel, kind, payload) VALUES ($1, $2, $3, $4) RETURNING id",
        tenant_id,
        channel,
        kind,
        serde_json::to_value(&event).expect("events serialize"),
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Staged { outbox_id, tenant_id, channel, event })
}

/// The fast path: publishes committed events and marks them published.
pub struct Events {
    publisher: Publisher,
    marks: mpsc::Sender<i64>,
}

impl Events {
    /// Starts the background task that marks published outbox rows.
    pub fn new(publisher: Publisher, pool: PgPool) -> Self {
        let (marks, pending) = mpsc::channel(MARK_QUEUE);
        tokio::spawn(mark_published(pool, pending));
        Self { publisher, marks }
    }

    /// Publishes events whose transaction has committed. Never fails the request: an event
    /// the broker refused stays unpublished in the outbox, and the relay delivers it.
    pub async fn publish(&self, staged: impl IntoIterator<Item = Staged>) {
        for staged in staged {
            match self.publisher.publish_event(staged.tenant_id, &staged.channel, &staged.event).await {
                Ok(_) => {
                    let _ = self.marks.try_send(staged.outbox_id);
                }
                Err(error) => tracing::warn!(
                    %error, tenant.id = %staged.tenant_id, channel = %staged.channel,
                    "publishing after commit failed; the outbox relay will deliver it"
                ),
            }
        }
    }
}

/// Marks outbox rows published in batches, so the request path never waits for it.
async fn mark_published(pool: PgPool, mut pending: mpsc::Receiver<i64>) {
    let mut batch = Vec::with_capacity(512);
    while pending.recv_many(&mut batch, 512).await > 0 {
        if let Err(error) = qivr_workers::relay::mark_published(&pool, &batch).await {
            tracing::warn!(%error, events = batch.len(), "marking outbox rows published failed; the relay may re-send them");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        batch.clear();
    }
}
