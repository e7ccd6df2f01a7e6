//! "Your questionnaire is due": one reminder email per PROM instance.
//!
//! An instance created well ahead of its due date (a later occurrence of a schedule) is
//! reminded when it falls due; one due at once was announced by the assignment email, and is
//! reminded only if still open two days later. The idempotency key names the instance, so a
//! reminder is queued once however often this runs.

use std::time::Duration;

use qivr_shared::Config;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::email::worker_transaction;

const INTERVAL: Duration = Duration::from_secs(60);

/// Queues due reminders until `shutdown` is cancelled.
pub async fn run(pool: PgPool, config: Config, shutdown: CancellationToken) {
    loop {
        if let Err(error) = remind_once(&pool, &config).await {
            tracing::warn!(error = format!("{error:#}"), "PROM reminder pass failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

/// One pass; returns how many reminders it queued.
pub async fn remind_once(pool: &PgPool, config: &Config) -> anyhow::Result<usize> {
    let mut tx = worker_transaction(pool).await?;
    // language=PostgreSQL
    let due = sqlx::query!(
        r#"SELECT i.id, i.tenant_id, i.due_at, p.email AS "email!", p.first_name, v.name, t.name AS clinic
           FROM prom_instances i
           JOIN patients p ON p.id = i.patient_id
           JOIN prom_template_versions v ON v.id = i.template_version_id
           JOIN tenants t ON t.id = i.tenant_id
           WHERE i.status <> 'completed' AND i.deleted_at IS NULL AND p.deleted_at IS NULL AND p.email IS NOT NULL
             AND i.due_at <= now()
             AND (i.due_at >= i.created_at + interval '1 hour' OR i.due_at <= now() - interval '2 days')
             AND NOT EXISTS (SELECT 1 FROM notification_preferences n
                             WHERE n.tenant_id = p.tenant_id AND n.user_id = p.user_id AND n.kind = 'prom' AND NOT n.email)
             AND NOT EXISTS (SELECT 1 FROM emails e WHERE e.tenant_id = i.tenant_id AND e.idempotency_key = 'prom-due:' || i.id)
           LIMIT 200"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut queued = 0;
    for row in due {
        let body = format!(
            "Hello {},\n\nA reminder from {}: your questionnaire \"{}\" was due on {}.\n\
             You can complete it in the patient portal: {}/portal/\n",
            row.first_name,
            row.clinic,
            row.name,
            row.due_at.format("%A %e %B %Y"),
            config.public_url(),
        );
        // language=PostgreSQL
        let inserted = sqlx::query!(
            "INSERT INTO emails (tenant_id, idempotency_key, to_address, subject, body_text, kind)
             VALUES ($1, $2, $3, $4, $5, 'prom') ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
            row.tenant_id,
            format!("prom-due:{}", row.id),
            row.email,
            format!("Reminder: a questionnaire from {} is due", row.clinic),
            body,
        )
        .execute(&mut *tx)
        .await?;
        queued += inserted.rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(queued)
}
