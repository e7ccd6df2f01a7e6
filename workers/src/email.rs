//! Email delivery: rows of the `emails` table, queued by the API in the transaction that
//! caused them, sent here through SES v2 (or kept in the dev mailbox).
//!
//! Each pass claims due `pending` rows with `FOR UPDATE SKIP LOCKED` (several workers never
//! take the same row), marks them `sending` and commits *before* sending, so a crash mid-send
//! can never cause a second copy: a row left `sending` is moved to `dead` later for a person
//! to check. A failed send goes back to `pending` with exponential backoff, and to `dead`
//! after [`MAX_ATTEMPTS`]. The idempotency key on each row (unique per clinic) makes queueing
//! the same email twice impossible.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use qivr_shared::Config;
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const MAX_ATTEMPTS: i32 = 6;
const BATCH: i64 = 20;
const INTERVAL: Duration = Duration::from_millis(500);
/// A row `sending` for longer than this was interrupted by a crash.
const STUCK_AFTER_SECS: f64 = 300.0;

/// Where email goes.
#[derive(Clone)]
pub enum Mailer {
    /// Amazon SES (or an SES-compatible endpoint such as a local emulator).
    Ses { client: aws_sdk_sesv2::Client, from: String },
    /// Nothing is sent; admins read the stored emails.
    DevMailbox,
}

impl Mailer {
    /// SES when `SES_ENDPOINT` is set or `email.use_ses` is on, else the dev mailbox.
    pub async fn from_config(config: &Config) -> Self {
        if config.ses_endpoint.is_none() && !config.email.use_ses {
            return Mailer::DevMailbox;
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            loader = loader.region(aws_config::Region::new(config.email.region.clone()));
        }
        if let Some(endpoint) = &config.ses_endpoint {
            loader = loader.endpoint_url(endpoint);
            // An emulator accepts any credentials; real endpoints use the standard chain.
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_sesv2::config::Credentials::new("local", "local", None, None, "qivr"));
            }
        }
        let client = aws_sdk_sesv2::Client::new(&loader.load().await);
        Mailer::Ses { client, from: config.email.from.clone() }
    }

    async fn send(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<()> {
        let Mailer::Ses { client, from } = self else { return Ok(()) };
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder().subject(text(subject)?).body(Body::builder().text(text(body)?).build()).build();
        client
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .context("SES SendEmail")?;
        Ok(())
    }
}

/// Delivers due emails until `shutdown` is cancelled.
pub async fn run(pool: PgPool, mailer: Mailer, shutdown: CancellationToken) {
    loop {
        if let Err(error) = deliver_once(&pool, &mailer).await {
            tracing::warn!(error = format!("{error:#}"), "email delivery pass failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

struct Claimed {
    id: Uuid,
    tenant_id: Uuid,
    to_address: String,
    subject: String,
    body_text: String,
    attempts: i32,
}

/// One pass: claims a batch of due emails, sends them, records the outcome. Returns how many
/// were claimed.
pub async fn deliver_once(pool: &PgPool, mailer: &Mailer) -> anyhow::Result<usize> {
    let mut tx = worker_transaction(pool).await?;
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE emails SET status = 'dead', last_error = 'interrupted while sending; it may or may not have gone out'
         WHERE status = 'sending' AND updated_at < now() - make_interval(secs => $1)",
        STUCK_AFTER_SECS
    )
    .execute(&mut *tx)
    .await?;
    let status = match mailer {
        Mailer::Ses { .. } => "sending",
        Mailer::DevMailbox => "dev_mailbox",
    };
    // language=PostgreSQL
    let claimed = sqlx::query_as!(
        Claimed,
        "UPDATE emails SET status = $2, attempts = attempts + 1
         WHERE id IN (SELECT id FROM emails WHERE status = 'pending' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, tenant_id, to_address, subject, body_text, attempts",
        BATCH,
        status,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    for email in &claimed {
        let outcome = mailer.send(&email.to_address, &email.subject, &email.body_text).await;
        let mut tx = worker_transaction(pool).await?;
        match (&outcome, mailer) {
            (_, Mailer::DevMailbox) => {}
            (Ok(()), _) => {
                // language=PostgreSQL
                sqlx::query!("UPDATE emails SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1", email.id)
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(tenant.id = %email.tenant_id, email.id = %email.id, "email sent");
            }
            (Err(error), _) => {
                let dead = email.attempts >= MAX_ATTEMPTS;
                let backoff = 2f64.powi(email.attempts).min(3600.0);
                // language=PostgreSQL
                sqlx::query!(
                    "UPDATE emails SET status = CASE WHEN $2 THEN 'dead' ELSE 'pending' END, last_error = $3,
                            next_attempt_at = now() + make_interval(secs => $4)
                     WHERE id = $1",
                    email.id,
                    dead,
                    format!("{error:#}"),
                    backoff,
                )
                .execute(&mut *tx)
                .await?;
                tracing::warn!(tenant.id = %email.tenant_id, email.id = %email.id, attempts = email.attempts, dead, error = format!("{error:#}"), "email not sent");
            }
        }
        tx.commit().await?;
    }
    Ok(claimed.len())
}

/// A transaction that may read and write every clinic's queued work.
pub(crate) async fn worker_transaction(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    // language=PostgreSQL
    sqlx::query("SELECT set_config('app.worker', 'on', true)").execute(&mut *tx).await?;
    Ok(tx)
}
