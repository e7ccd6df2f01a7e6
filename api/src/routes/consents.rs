//! Consents: the kinds a clinic asks for, their versioned texts, and each patient's grants and
//! revocations.
//!
//! Admins manage consent types (`privacy`, `treatment`, `telehealth`, …), mark which are
//! required, and publish new versions of a text; versions never change once published. A
//! patient grants or revokes the current version of a type (staff may record a decision made
//! on paper); every decision is a new row, so the history is kept exactly and nothing is ever
//! overwritten (the database refuses updates and deletes to the application role). A
//! patient's status for a type is their latest decision, and a grant of an older version no
//! longer counts: the portal asks again before first use whenever a required type is not
//! granted in its current version.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{on_unique_violation, ApiError, ApiResult};
use crate::extract::{Admin, Caller, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::routes::patients::ensure_visible;
use crate::routes::records;
use crate::state::AppState;
use crate::validate::{Checks, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_consent_types, create_consent_type))
        .routes(routes!(update_consent_type))
        .routes(routes!(publish_version))
        .routes(routes!(patient_consents, record_decision))
        .routes(routes!(consent_history))
}

/// Longest consent text.
const CONSENT_TEXT: usize = 20_000;

/// The consent types every new clinic starts with; admins change them as they need.
pub const DEFAULT_TYPES: &[(&str, &str, bool, &str)] = &[
    (
        "privacy",
        "Privacy and use of health information",
        true,
        "I agree that the clinic collects, stores and uses my health information to provide my care, \
         and shares it only with those involved in my care or as the law requires.",
    ),
    (
        "treatment",
        "Consent to assessment and treatment",
        true,
        "I consent to assessment and treatment by the clinic's practitioners. The nature, risks and \
         alternatives of any treatment will be explained to me and I may withdraw at any time.",
    ),
    (
        "telehealth",
        "Telehealth consultations",
        false,
        "I agree to consultations by video call when suitable, and understand their limits compared \
         with in-person care.",
    ),
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentVersion {
    pub id: Uuid,
    pub version: i32,
    /// The text the patient agrees to.
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentType {
    pub id: Uuid,
    /// Stable name, e.g. `privacy`.
    pub key: String,
    pub title: String,
    /// Patients must grant the current version before using the portal.
    pub required: bool,
    /// Retired types are no longer asked for.
    pub active: bool,
    pub current_version: ConsentVersion,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A patient's standing for one consent type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentStatus {
    pub consent_type_id: Uuid,
    pub key: String,
    pub title: String,
    pub required: bool,
    pub current_version: ConsentVersion,
    /// `granted` (the current version), `outdated` (an older version was granted), `revoked`,
    /// or `pending` (never decided).
    pub status: String,
    /// The version of the latest decision, if any.
    pub decided_version: Option<i32>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// One grant or revocation, as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentDecision {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub consent_type_id: Uuid,
    pub key: String,
    pub title: String,
    pub consent_version_id: Uuid,
    pub version: i32,
    /// `granted` or `revoked`.
    pub decision: String,
    /// `patient`, or the clinic role that recorded it for them.
    pub recorded_by_role: String,
    pub recorded_by_name: Option<String>,
    pub decided_at: DateTime<Utc>,
}

/// The clinic's consent types with their current texts: all of them for staff, the active
/// ones for patients.
#[utoipa::path(get, path = "/consent-types", tag = "records", security(("bearer" = [])),
    responses((status = 200, body = Page<ConsentType>)))]
pub async fn list_consent_types(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Page<ConsentType>>> {
    let mut tx = caller.begin(&state).await?;
    let types = fetch_types(&mut tx, caller.principal.tenant_id, None, !caller.principal.role.is_clinic()).await?;
    tx.commit().await?;
    Ok(Json(Page { items: types, next_cursor: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConsentType {
    /// Lowercase letters, digits and `_`, starting with a letter, e.g. `photography`.
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub required: bool,
    /// The text of version 1.
    pub body: String,
}

/// Adds a consent type with its first version (admins).
#[utoipa::path(post, path = "/consent-types", tag = "records", request_body = NewConsentType, security(("bearer" = [])),
    responses((status = 201, body = ConsentType), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_consent_type(State(state): State<AppState>, Admin(caller): Admin, Json(body): Json<NewConsentType>) -> ApiResult<(StatusCode, Json<ConsentType>)> {
    let key = body.key.trim().to_string();
    let mut checks = Checks::new();
    let valid_key = key.len() <= 50
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_key {
        checks.fail("key", "must be lowercase letters, digits and _, starting with a letter, at most 50 characters");
    }
    checks.required("title", &body.title, SHORT_TEXT);
    checks.required("body", &body.body, CONSENT_TEXT);
    checks.finish()?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let id = insert_type(&mut tx, tenant_id, &key, body.title.trim(), body.required, body.body.trim())
        .await
        .map_err(on_unique_violation("key", "the clinic already has a consent type with this key"))?;
    caller.audit(&mut tx, Entry { resource_type: Some("consent_type"), resource_id: Some(id), ..Entry::new("consent_type.create") }).await?;
    let created = fetch_type(&mut tx, tenant_id, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentTypeChanges {
    pub title: Option<String>,
    pub required: Option<bool>,
    pub active: Option<bool>,
}

/// Renames a consent type, marks it required or not, or retires it (admins).
#[utoipa::path(patch, path = "/consent-types/{id}", tag = "records", request_body = ConsentTypeChanges, security(("bearer" = [])),
    responses((status = 200, body = ConsentType), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_consent_type(State(state): State<AppState>, Admin(caller): Admin, Path(id): Path<Uuid>, Json(body): Json<ConsentTypeChanges>) -> ApiResult<Json<ConsentType>> {
    let mut checks = Checks::new();
    if let Some(title) = &body.title {
        checks.required("title", title, SHORT_TEXT);
    }
    checks.finish()?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let updated = sqlx::query!(
        "UPDATE consent_types SET title = coalesce($3, title), required = coalesce($4, required), active = coalesce($5, active)
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id,
        id,
        body.title.as_deref().map(str::trim),
        body.required,
        body.active,
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(ApiError::NotFound("consent type"));
    }
    let detail = serde_json::json!({ "title": body.title, "required": body.required, "active": body.active });
    caller.audit(&mut tx, Entry { resource_type: Some("consent_type"), resource_id: Some(id), ..Entry::new("consent_type.update") }.detail(detail)).await?;
    let changed = fetch_type(&mut tx, tenant_id, id).await?;
    tx.commit().await?;
    Ok(Json(changed))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConsentVersion {
    pub body: String,
}

/// Publishes a new version of a consent's text (admins). Patients' grants of earlier versions
/// become `outdated`, so a required consent is asked for again.
#[utoipa::path(post, path = "/consent-types/{id}/versions", tag = "records", request_body = NewConsentVersion, security(("bearer" = [])),
    responses((status = 201, body = ConsentType), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn publish_version(State(state): State<AppState>, Admin(caller): Admin, Path(id): Path<Uuid>, Json(body): Json<NewConsentVersion>) -> ApiResult<(StatusCode, Json<ConsentType>)> {
    let mut checks = Checks::new();
    checks.required("body", &body.body, CONSENT_TEXT);
    checks.finish()?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // The type row is locked so two admins publishing at once get versions n+1 and n+2.
    // language=PostgreSQL
    sqlx::query_scalar!("SELECT id FROM consent_types WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE", tenant_id, id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ApiError::NotFound("consent type"))?;
    // language=PostgreSQL
    let version = sqlx::query_scalar!(
        "INSERT INTO consent_versions (tenant_id, consent_type_id, version, body)
         SELECT $1, $2, coalesce(max(version), 0) + 1, $3 FROM consent_versions WHERE consent_type_id = $2
         RETURNING version",
        tenant_id,
        id,
        body.body.trim(),
    )
    .fetch_one(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "version": version });
    caller.audit(&mut tx, Entry { resource_type: Some("consent_type"), resource_id: Some(id), ..Entry::new("consent_type.publish") }.detail(detail)).await?;
    let changed = fetch_type(&mut tx, tenant_id, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(changed)))
}

/// A patient's standing for each active consent type, required ones first.
#[utoipa::path(get, path = "/patients/{id}/consents", tag = "records", security(("bearer" = [])),
    responses((status = 200, body = Page<ConsentStatus>), (status = 404, body = Problem)))]
pub async fn patient_consents(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Page<ConsentStatus>>> {
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    let statuses = consent_statuses(&mut tx, caller.principal.tenant_id, id).await?;
    caller.audit(&mut tx, Entry::patient("consent.list", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(Page { items: statuses, next_cursor: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConsentDecision {
    /// The version decided on; a grant must be of the current version.
    pub consent_version_id: Uuid,
    /// `granted` or `revoked`.
    pub decision: String,
}

/// Records a patient's grant or revocation: by the patient themselves, or by staff for them
/// (e.g. from a signed form). Always a new entry in the history.
#[utoipa::path(post, path = "/patients/{id}/consents", tag = "records", request_body = NewConsentDecision, security(("bearer" = [])),
    responses((status = 201, body = ConsentDecision), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record_decision(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<NewConsentDecision>) -> ApiResult<(StatusCode, Json<ConsentDecision>)> {
    if body.decision != "granted" && body.decision != "revoked" {
        return Err(ApiError::invalid("decision", "must be granted or revoked"));
    }
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let version = sqlx::query!(
        r#"SELECT v.consent_type_id, t.active,
                  v.version = (SELECT max(version) FROM consent_versions WHERE consent_type_id = v.consent_type_id) AS "current!"
           FROM consent_versions v JOIN consent_types t ON t.id = v.consent_type_id
           WHERE v.tenant_id = $1 AND v.id = $2 AND t.deleted_at IS NULL"#,
        tenant_id,
        body.consent_version_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::invalid("consent_version_id", "no such consent version"))?;
    if body.decision == "granted" && !(version.current && version.active) {
        return Err(ApiError::invalid("consent_version_id", "only the current version of an active consent can be granted"));
    }
    // language=PostgreSQL
    let decision_id = sqlx::query_scalar!(
        "INSERT INTO consent_decisions (tenant_id, patient_id, consent_type_id, consent_version_id, decision, recorded_by_role)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        tenant_id,
        id,
        version.consent_type_id,
        body.consent_version_id,
        body.decision,
        caller.principal.role.as_str(),
    )
    .fetch_one(&mut *tx)
    .await?;
    let action = if body.decision == "granted" { "consent.grant" } else { "consent.revoke" };
    caller.audit(&mut tx, Entry::patient(action, id, "consent_decision", decision_id)).await?;
    let decision = fetch_decisions(&mut tx, tenant_id, id, Some(decision_id), None, 1).await?.pop().ok_or(ApiError::NotFound("consent decision"))?;
    let data = serde_json::to_value(&decision).expect("decisions serialize");
    let staged = records::announce(&mut tx, tenant_id, id, "consent.updated", data).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((StatusCode::CREATED, Json(decision)))
}

/// Every grant and revocation of a patient, newest first.
#[utoipa::path(get, path = "/patients/{id}/consents/history", tag = "records", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<ConsentDecision>), (status = 404, body = Problem)))]
pub async fn consent_history(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(page): Query<PageParams>) -> ApiResult<Json<Page<ConsentDecision>>> {
    let limit = page.limit()?;
    let before: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    let decisions = fetch_decisions(&mut tx, caller.principal.tenant_id, id, None, before, limit + 1).await?;
    caller.audit(&mut tx, Entry::patient("consent.history", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(Page::from_rows(decisions, limit, |d| (d.decided_at, d.id))))
}

/// The patient's standing for each active consent type.
pub async fn consent_statuses(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid) -> sqlx::Result<Vec<ConsentStatus>> {
    // language=PostgreSQL
    let rows = sqlx::query!(
        r#"SELECT t.id, t.key, t.title, t.required,
                  v.id AS version_id, v.version, v.body, v.created_at AS version_created_at,
                  d.decision AS "decision?", dv.version AS "decided_version?", d.decided_at AS "decided_at?"
           FROM consent_types t
           JOIN LATERAL (SELECT id, version, body, created_at FROM consent_versions
                         WHERE consent_type_id = t.id ORDER BY version DESC LIMIT 1) v ON true
           LEFT JOIN LATERAL (SELECT decision, consent_version_id, decided_at FROM consent_decisions
                              WHERE tenant_id = $1 AND patient_id = $2 AND consent_type_id = t.id
                              ORDER BY decided_at DESC LIMIT 1) d ON true
           LEFT JOIN consent_versions dv ON dv.id = d.consent_version_id
           WHERE t.tenant_id = $1 AND t.active AND t.deleted_at IS NULL
           ORDER BY t.required DESC, t.title"#,
        tenant_id,
        patient_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ConsentStatus {
            status: match (r.decision.as_deref(), r.decided_version) {
                (None, _) => "pending",
                (Some("revoked"), _) => "revoked",
                (Some(_), Some(v)) if v == r.version => "granted",
                (Some(_), _) => "outdated",
            }
            .to_string(),
            consent_type_id: r.id,
            key: r.key,
            title: r.title,
            required: r.required,
            current_version: ConsentVersion { id: r.version_id, version: r.version, body: r.body, created_at: r.version_created_at },
            decided_version: r.decided_version,
            decided_at: r.decided_at,
        })
        .collect())
}

/// Creates a consent type with version 1 of its text.
pub async fn insert_type(tx: &mut Tx, tenant_id: Uuid, key: &str, title: &str, required: bool, body: &str) -> sqlx::Result<Uuid> {
    // language=PostgreSQL
    let id = sqlx::query_scalar!(
        "INSERT INTO consent_types (tenant_id, key, title, required) VALUES ($1, $2, $3, $4) RETURNING id",
        tenant_id,
        key,
        title,
        required
    )
    .fetch_one(&mut **tx)
    .await?;
    // language=PostgreSQL
    sqlx::query!("INSERT INTO consent_versions (tenant_id, consent_type_id, version, body) VALUES ($1, $2, 1, $3)", tenant_id, id, body)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Gives a new clinic the [`DEFAULT_TYPES`].
pub async fn install_defaults(tx: &mut Tx, tenant_id: Uuid) -> sqlx::Result<()> {
    for (key, title, required, body) in DEFAULT_TYPES {
        insert_type(tx, tenant_id, key, title, *required, body).await?;
    }
    Ok(())
}

async fn fetch_type(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> ApiResult<ConsentType> {
    fetch_types(tx, tenant_id, Some(id), false).await?.pop().ok_or(ApiError::NotFound("consent type"))
}

async fn fetch_types(tx: &mut Tx, tenant_id: Uuid, id: Option<Uuid>, active_only: bool) -> sqlx::Result<Vec<ConsentType>> {
    // language=PostgreSQL
    let rows = sqlx::query!(
        r#"SELECT t.id, t.key, t.title, t.required, t.active, t.created_at, t.updated_at,
                  v.id AS version_id, v.version, v.body, v.created_at AS version_created_at
           FROM consent_types t
           JOIN LATERAL (SELECT id, version, body, created_at FROM consent_versions
                         WHERE consent_type_id = t.id ORDER BY version DESC LIMIT 1) v ON true
           WHERE t.tenant_id = $1 AND t.deleted_at IS NULL AND ($2::uuid IS NULL OR t.id = $2) AND (NOT $3 OR t.active)
           ORDER BY t.active DESC, t.required DESC, t.title"#,
        tenant_id,
        id,
        active_only
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ConsentType {
            id: r.id,
            key: r.key,
            title: r.title,
            required: r.required,
            active: r.active,
            current_version: ConsentVersion { id: r.version_id, version: r.version, body: r.body, created_at: r.version_created_at },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

async fn fetch_decisions(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, id: Option<Uuid>, before: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> sqlx::Result<Vec<ConsentDecision>> {
    let (before_at, before_id) = before.unzip();
    // language=PostgreSQL
    sqlx::query_as!(
        ConsentDecision,
        r#"SELECT d.id, d.patient_id, d.consent_type_id, t.key, t.title, d.consent_version_id, v.version, d.decision,
                  d.recorded_by_role, u.name AS "recorded_by_name?", d.decided_at
           FROM consent_decisions d
           JOIN consent_types t ON t.id = d.consent_type_id
           JOIN consent_versions v ON v.id = d.consent_version_id
           LEFT JOIN users u ON u.id = d.created_by
           WHERE d.tenant_id = $1 AND d.patient_id = $2 AND ($3::uuid IS NULL OR d.id = $3)
             AND ($4::timestamptz IS NULL OR (d.decided_at, d.id) < ($4, $5))
           ORDER BY d.decided_at DESC, d.id DESC LIMIT $6"#,
        tenant_id,
        patient_id,
        id,
        before_at,
        before_id,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}
