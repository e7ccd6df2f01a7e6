//! Reports on the access audit log for admins: by patient, by user, by period, and a check
//! that the hash chain is intact.

use axum::extract::State;
use chrono::{DateTime, Utc};
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{Admin, Json, Query};
use crate::pagination::{Page, PageParams};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_entries)).routes(routes!(verify_chain))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AuditFilter {
    pub patient_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// Inclusive start (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Exclusive end (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Exact action, e.g. `patient.read`.
    pub action: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = Problem)))]
pub async fn list_entries(State(state): State<AppState>, Admin(caller): Admin, Query(filter): Query<AuditFilter>) -> ApiResult<Json<Page<AuditEntry>>> {
    let page = PageParams { cursor: filter.cursor, limit: filter.limit };
    let limit = page.limit()?;
    let before: Option<i64> = page.cursor()?;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let entries = sqlx::query_as!(
        AuditEntry,
        r#"SELECT a.seq, a.at, a.actor_user_id, u.name AS "actor_name?", a.actor_role, a.action,
                  a.resource_type, a.resource_id, a.patient_id, a.ip, a.user_agent, a.request_id, a.detail
           FROM access_audit a LEFT JOIN users u ON u.id = a.actor_user_id
           WHERE a.tenant_id = $1
             AND ($2::uuid IS NULL OR a.patient_id = $2)
             AND ($3::uuid IS NULL OR a.actor_user_id = $3)
             AND ($4::timestamptz IS NULL OR a.at >= $4)
             AND ($5::timestamptz IS NULL OR a.at < $5)
             AND ($6::text IS NULL OR a.action = $6)
             AND ($7::bigint IS NULL OR a.seq < $7)
           ORDER BY a.seq DESC LIMIT $8"#,
        caller.principal.tenant_id,
        filter.patient_id,
        filter.user_id,
        filter.from,
        filter.to,
        filter.action,
        before,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(Page::from_rows(entries, limit, |e| e.seq)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainStatus {
    pub intact: bool,
    /// The first entry whose hash does not match its content and predecessor.
    pub first_broken_seq: Option<i64>,
    pub entries: i64,
}

/// Recomputes the clinic's audit hash chain.
#[utoipa::path(get, path = "/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = ChainStatus), (status = 403, body = Problem)))]
pub async fn verify_chain(State(state): State<AppState>, Admin(caller): Admin) -> ApiResult<Json<ChainStatus>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let status = sqlx::query!(
        r#"SELECT access_audit_first_broken() AS first_broken,
                  (SELECT count(*) FROM access_audit WHERE tenant_id = $1) AS "entries!""#,
        caller.principal.tenant_id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(ChainStatus { intact: status.first_broken.is_none(), first_broken_seq: status.first_broken, entries: status.entries }))
}
