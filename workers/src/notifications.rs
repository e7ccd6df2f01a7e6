//! "You have a new message": one email per conversation to a recipient who has left a message
//! unread for `email.unread_notify_after_secs` and is not online.
//!
//! Online means present on a channel where the message would reach them: a patient in the
//! conversation itself, clinic staff on the clinic's `presence` channel (the dashboard). The
//! email says only that a message is waiting, never its text (it is health data). Its
//! idempotency key names the conversation, the recipient and how far they had read, so
//! there is one email per unread streak however often this runs; reading starts a new one.

use std::sync::Arc;
use std::time::Duration;

use qivr_realtime::broker::Broker;
use qivr_realtime::channel::Channel;
use qivr_shared::Config;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::email::worker_transaction;

const INTERVAL: Duration = Duration::from_secs(2);

/// Queues unread-message emails until `shutdown` is cancelled.
pub async fn run(pool: PgPool, broker: Arc<dyn Broker>, config: Config, shutdown: CancellationToken) {
    loop {
        if let Err(error) = notify_once(&pool, broker.as_ref(), &config).await {
            tracing::warn!(error = format!("{error:#}"), "unread-message notification pass failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

/// One pass; returns how many emails it queued.
pub async fn notify_once(pool: &PgPool, broker: &dyn Broker, config: &Config) -> anyhow::Result<usize> {
    let mut tx = worker_transaction(pool).await?;
    // Recipients with a message older than the window unread, who have not turned these off
    // and have not had this email for this streak yet.
    // language=PostgreSQL
    let due = sqlx::query!(
        r#"SELECT r.tenant_id, r.conversation_id, r.user_id, u.email, u.name, u.role::text AS "role!",
                  c.subject, t.name AS clinic, coalesce(r.last_read_message_id::text, 'none') AS "read_up_to!"
           FROM conversation_reads r
           JOIN users u ON u.id = r.user_id
           JOIN conversations c ON c.id = r.conversation_id
           JOIN tenants t ON t.id = r.tenant_id
           WHERE r.unread_count > 0 AND u.deleted_at IS NULL AND u.disabled_at IS NULL
             AND EXISTS (SELECT 1 FROM messages m
                         WHERE m.conversation_id = r.conversation_id
                           AND m.sender_user_id IS DISTINCT FROM r.user_id
                           AND m.sender_role <> 'system'
                           AND m.created_at <= now() - make_interval(secs => $1)
                           AND m.created_at > coalesce((SELECT created_at FROM messages WHERE id = r.last_read_message_id), '-infinity'))
             AND NOT EXISTS (SELECT 1 FROM notification_preferences p
                             WHERE p.tenant_id = r.tenant_id AND p.user_id = r.user_id AND p.kind = 'unread_message' AND NOT p.email)
             AND NOT EXISTS (SELECT 1 FROM emails e
                             WHERE e.tenant_id = r.tenant_id
                               AND e.idempotency_key = 'unread:' || r.conversation_id || ':' || r.user_id || ':' || coalesce(r.last_read_message_id::text, 'none'))
           LIMIT 200"#,
        config.email.unread_notify_after_secs as f64,
    )
    .fetch_all(&mut *tx)
    .await?;

    let mut queued = 0;
    for row in due {
        let channel = if row.role == "patient" { Channel::Conversation(row.conversation_id) } else { Channel::Presence };
        if is_present(broker, row.tenant_id, channel, row.user_id).await {
            continue;
        }
        let app = if row.role == "patient" { "portal" } else { "clinic" };
        let body = format!(
            "Hello {},\n\nYou have an unread message from {} in \"{}\".\n\
             Sign in to read it: {}/{app}/\n\n\
             For your privacy, messages are never included in emails.\n",
            row.name,
            if row.role == "patient" { row.clinic.as_str() } else { "a patient" },
            row.subject,
            config.public_url(),
        );
        // language=PostgreSQL
        let inserted = sqlx::query!(
            "INSERT INTO emails (tenant_id, idempotency_key, to_address, subject, body_text, kind)
             VALUES ($1, $2, $3, $4, $5, 'unread_message') ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
            row.tenant_id,
            format!("unread:{}:{}:{}", row.conversation_id, row.user_id, row.read_up_to),
            row.email,
            if row.role == "patient" {
                format!("You have a new message from {}", row.clinic)
            } else {
                format!("A patient's message is waiting in {}'s inbox", row.clinic)
            },
            body,
        )
        .execute(&mut *tx)
        .await?;
        queued += inserted.rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(queued)
}

/// Whether the user is present on the channel; when presence cannot be read, assume they are
/// (better a late email than a duplicate of what they are reading).
async fn is_present(broker: &dyn Broker, tenant_id: Uuid, channel: Channel, user_id: Uuid) -> bool {
    match broker.presence(&channel.scoped(tenant_id)).await {
        Ok(present) => present.iter().any(|user| user.user_id == user_id),
        Err(error) => {
            tracing::warn!(%error, "presence unavailable; holding unread-message emails");
            true
        }
    }
}
