//! The clinic's outgoing mail for admins: what was queued, sent, kept in the dev mailbox (the
//! embedded default, where nothing leaves the machine) or given up on. Emails never carry health
//! data (messages and clinical notes stay in the apps), but who was written to is still personal,
//! so every read is in the access audit log.

use axum::extract::State;
use chrono::{DateTime, Utc};
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_emails)).routes(routes!(get_email))
}

const STATUSES: [&str; 5] = ["pending", "sending", "sent", "dev_mailbox", "dead"];

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailSummary {
    pub id: Uuid,
    pub to_address: String,
    pub subject: String,
    /// What it is about: `invitation`, `appointment`, `appointment_reminder`, `unread_message`, ...
    pub kind: String,
    /// `pending`, `sending`, `sent`, `dev_mailbox` (kept here, not sent) or `dead` (given up).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Email {
    #[serde(flatten)]
    pub summary: EmailSummary,
    pub body_text: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct EmailFilter {
    /// One of `pending`, `sending`, `sent`, `dev_mailbox`, `dead`.
    pub status: Option<String>,
    /// Emails to this address (exact, case-insensitive).
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The clinic's emails, newest first (admins).
#[utoipa::path(get, path = "/mailbox", tag = "mailbox", params(EmailFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<EmailSummary>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_emails(State(state): State<AppState>, Admin(caller): Admin, Query(filter): Query<EmailFilter>) -> ApiResult<Json<Page<EmailSummary>>> {
    if filter.status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::invalid("status", "must be one of pending, sending, sent, dev_mailbox, dead"));
    }
    let page = PageParams { cursor: filter.cursor, limit: filter.limit };
    let limit = page.limit()?;
    let before: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let (before_at, before_id) = before.unzip();
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let emails = sqlx::query_as!(
        EmailSummary,
        "SELECT id, to_address, subject, kind, status, attempts, last_error, created_at, sent_at
         FROM emails
         WHERE tenant_id = $1 AND deleted_at IS NULL
           AND ($2::text IS NULL OR status = $2)
           AND ($3::text IS NULL OR lower(to_address) = lower($3))
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
         ORDER BY created_at DESC, id DESC LIMIT $6",
        caller.principal.tenant_id,
        filter.status,
        filter.to,
        before_at,
        before_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::new("mailbox.list")).await?;
    tx.commit().await?;
    Ok(Json(Page::from_rows(emails, limit, |e| (e.created_at, e.id))))
}

/// One email with its text (admins).
#[utoipa::path(get, path = "/mailbox/{id}", tag = "mailbox", security(("bearer" = [])),
    responses((status = 200, body = Email), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_email(State(state): State<AppState>, Admin(caller): Admin, Path(id): Path<Uuid>) -> ApiResult<Json<Email>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let row = sqlx::query!(
        "SELECT id, to_address, subject, kind, status, attempts, last_error, created_at, sent_at, body_text
         FROM emails WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        caller.principal.tenant_id,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("email"))?;
    caller.audit(&mut tx, Entry::new("mailbox.read").detail(serde_json::json!({ "email_id": id }))).await?;
    tx.commit().await?;
    let summary = EmailSummary {
        id: row.id,
        to_address: row.to_address,
        subject: row.subject,
        kind: row.kind,
        status: row.status,
        attempts: row.attempts,
        last_error: row.last_error,
        created_at: row.created_at,
        sent_at: row.sent_at,
    };
    Ok(Json(Email { summary, body_text: row.body_text }))
}
