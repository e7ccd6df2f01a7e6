//! A patient's record at a glance: the medical summary and the timeline.
//!
//! The summary gathers what a clinician wants on opening a patient (active conditions,
//! history, the latest intake and where its evaluation stands, upcoming and recent
//! appointments, recent documents, consent standing) in one read. The timeline is everything
//! that happened to the patient's record, newest first and cursor-paginated, merged from the
//! tables that hold it. Both are visible to the clinic and to the patient themselves, and both
//! are audited like every read of patient data.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::ApiResult;
use crate::events::{self, Staged};
use crate::extract::{Caller, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::proms::{self, LatestScore};
use crate::routes::appointments::Appointment;
use crate::routes::consents::{consent_statuses, ConsentStatus};
use crate::routes::documents::{self, Document};
use crate::routes::evaluations::{fetch_intake, Intake};
use crate::routes::patients::{ensure_visible, Condition};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary)).routes(routes!(timeline))
}

/// Stages a change to a patient's record (`document.created`, `document.deleted`,
/// `consent.updated`): on `records` for open dashboards, and on the patient's own channel for
/// their open portal. `data` is metadata (it names `patient_id`), never a document's content.
pub(crate) async fn announce(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, kind: &str, data: serde_json::Value) -> ApiResult<Vec<Staged>> {
    let mut staged = vec![events::stage(tx, tenant_id, "records".into(), kind, data.clone()).await?];
    // language=PostgreSQL
    let patient_user = sqlx::query_scalar!("SELECT user_id FROM patients WHERE tenant_id = $1 AND id = $2", tenant_id, patient_id)
        .fetch_one(&mut **tx)
        .await?;
    if let Some(user_id) = patient_user {
        staged.push(events::stage(tx, tenant_id, format!("user:{user_id}"), kind, data).await?);
    }
    Ok(staged)
}

/// How many recent appointments and documents the summary lists.
const RECENT: i64 = 5;

#[derive(Debug, Serialize, ToSchema)]
pub struct MedicalSummary {
    pub patient_id: Uuid,
    pub name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Option<String>,
    pub medical_history: Option<String>,
    pub medications: Option<String>,
    pub allergies: Option<String>,
    pub active_conditions: Vec<Condition>,
    /// The newest intake, with its evaluation's status.
    pub latest_intake: Option<Intake>,
    /// Not cancelled, not yet ended; soonest first.
    pub upcoming_appointments: Vec<Appointment>,
    /// Already ended (any status); latest first.
    pub recent_appointments: Vec<Appointment>,
    pub recent_documents: Vec<Document>,
    /// The latest scores of each questionnaire the patient has completed, newest first.
    pub prom_scores: Vec<LatestScore>,
    pub consents: Vec<ConsentStatus>,
    /// Every required consent is granted in its current version.
    pub required_consents_granted: bool,
}

/// The medical summary of a patient.
#[utoipa::path(get, path = "/patients/{id}/summary", tag = "records", security(("bearer" = [])),
    responses((status = 200, body = MedicalSummary), (status = 404, body = Problem)))]
pub async fn summary(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<MedicalSummary>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let patient = sqlx::query!(
        r#"SELECT first_name || ' ' || last_name AS "name!", date_of_birth, sex, medical_history, medications, allergies
           FROM patients WHERE tenant_id = $1 AND id = $2"#,
        tenant_id,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    // language=PostgreSQL
    let active_conditions = sqlx::query_as!(
        Condition,
        "SELECT id, patient_id, name, status, onset_date, resolved_date, notes, created_at, updated_at
         FROM conditions WHERE tenant_id = $1 AND patient_id = $2 AND status = 'active' AND deleted_at IS NULL
         ORDER BY onset_date DESC NULLS LAST, created_at DESC",
        tenant_id,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    // language=PostgreSQL
    let latest_intake_id = sqlx::query_scalar!(
        "SELECT id FROM intakes WHERE tenant_id = $1 AND patient_id = $2 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1",
        tenant_id,
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let latest_intake = match latest_intake_id {
        Some(intake_id) => Some(fetch_intake(&mut tx, tenant_id, intake_id).await?),
        None => None,
    };
    // language=PostgreSQL
    let upcoming_appointments = sqlx::query_as!(
        Appointment,
        r#"SELECT a.id, a.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", a.provider_id,
                  v.name AS provider_name, a.evaluation_id, a.starts_at, a.ends_at, a.kind, a.location,
                  a.video_url, a.notes, a.status, a.cancel_reason, a.created_at, a.updated_at
           FROM appointments a JOIN patients p ON p.id = a.patient_id JOIN providers v ON v.id = a.provider_id
           WHERE a.tenant_id = $1 AND a.patient_id = $2 AND a.deleted_at IS NULL AND a.ends_at > now()
             AND a.status NOT IN ('cancelled', 'no_show')
           ORDER BY a.starts_at LIMIT $3"#,
        tenant_id,
        id,
        RECENT,
    )
    .fetch_all(&mut *tx)
    .await?;
    // language=PostgreSQL
    let recent_appointments = sqlx::query_as!(
        Appointment,
        r#"SELECT a.id, a.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", a.provider_id,
                  v.name AS provider_name, a.evaluation_id, a.starts_at, a.ends_at, a.kind, a.location,
                  a.video_url, a.notes, a.status, a.cancel_reason, a.created_at, a.updated_at
           FROM appointments a JOIN patients p ON p.id = a.patient_id JOIN providers v ON v.id = a.provider_id
           WHERE a.tenant_id = $1 AND a.patient_id = $2 AND a.deleted_at IS NULL AND a.ends_at <= now()
           ORDER BY a.starts_at DESC LIMIT $3"#,
        tenant_id,
        id,
        RECENT,
    )
    .fetch_all(&mut *tx)
    .await?;
    let recent_documents = documents::newest(&mut tx, tenant_id, id, None, RECENT).await?;
    let prom_scores = proms::latest_scores(&mut tx, tenant_id, id).await?;
    let consents = consent_statuses(&mut tx, tenant_id, id).await?;
    caller.audit(&mut tx, Entry::patient("patient.summary", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(MedicalSummary {
        patient_id: id,
        name: patient.name,
        date_of_birth: patient.date_of_birth,
        sex: patient.sex,
        medical_history: patient.medical_history,
        medications: patient.medications,
        allergies: patient.allergies,
        active_conditions,
        latest_intake,
        upcoming_appointments,
        recent_appointments,
        recent_documents,
        prom_scores,
        required_consents_granted: consents.iter().all(|c| !c.required || c.status == "granted"),
        consents,
    }))
}

/// One thing that happened to a patient's record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `intake.submitted`, `evaluation.status`, `appointment`, `document.uploaded`,
    /// `consent.granted`, `consent.revoked` or `conversation`.
    pub kind: String,
    /// The intake, evaluation, appointment, document, consent type or conversation.
    pub resource_id: Uuid,
    /// A one-line description: the complaint, the new status, the file name, …
    pub title: String,
    /// Kind-specific facts, e.g. `{"status": "triaged"}` or `{"message_count": 4}`.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Everything on a patient's record, newest first: intakes, evaluation status changes,
/// appointments (at their start), documents, consent decisions, and each conversation with
/// its message count (at its last message).
#[utoipa::path(get, path = "/patients/{id}/timeline", tag = "records", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<TimelineEntry>), (status = 404, body = Problem)))]
pub async fn timeline(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(page): Query<PageParams>) -> ApiResult<Json<Page<TimelineEntry>>> {
    let limit = page.limit()?;
    let before: Option<(DateTime<Utc>, String, Uuid)> = page.cursor()?;
    let (before_at, before_kind, before_id) = match before {
        Some((at, kind, id)) => (Some(at), Some(kind), Some(id)),
        None => (None, None, None),
    };
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let entries = sqlx::query_as!(
        TimelineEntry,
        r#"SELECT at AS "at!", kind AS "kind!", resource_id AS "resource_id!", title AS "title!", detail AS "detail!"
           FROM (
               SELECT i.created_at AS at, 'intake.submitted' AS kind, i.id AS resource_id, i.chief_complaint AS title,
                      jsonb_build_object('pain_level', i.pain_level, 'evaluation_id', e.id) AS detail
               FROM intakes i LEFT JOIN evaluations e ON e.intake_id = i.id
               WHERE i.tenant_id = $1 AND i.patient_id = $2 AND i.deleted_at IS NULL
             UNION ALL
               SELECT s.changed_at, 'evaluation.status', s.evaluation_id, s.status,
                      jsonb_build_object('status', s.status)
               FROM evaluation_status_changes s WHERE s.tenant_id = $1 AND s.patient_id = $2
             UNION ALL
               SELECT a.starts_at, 'appointment', a.id, a.kind || ' with ' || v.name,
                      jsonb_build_object('status', a.status, 'ends_at', a.ends_at, 'provider_name', v.name)
               FROM appointments a JOIN providers v ON v.id = a.provider_id
               WHERE a.tenant_id = $1 AND a.patient_id = $2 AND a.deleted_at IS NULL
             UNION ALL
               SELECT d.created_at, 'document.uploaded', d.id, d.file_name,
                      jsonb_build_object('content_type', d.content_type, 'size_bytes', d.size_bytes,
                                         'category', d.category, 'uploaded_by_role', d.uploaded_by_role)
               FROM documents d WHERE d.tenant_id = $1 AND d.patient_id = $2 AND d.deleted_at IS NULL
             UNION ALL
               SELECT c.decided_at, 'consent.' || c.decision, c.consent_type_id, t.title,
                      jsonb_build_object('version', v.version, 'recorded_by_role', c.recorded_by_role)
               FROM consent_decisions c JOIN consent_types t ON t.id = c.consent_type_id
               JOIN consent_versions v ON v.id = c.consent_version_id
               WHERE c.tenant_id = $1 AND c.patient_id = $2
             UNION ALL
               SELECT max(m.created_at), 'conversation', c.id, c.subject,
                      jsonb_build_object('message_count', count(*))
               FROM conversations c JOIN messages m ON m.conversation_id = c.id AND m.deleted_at IS NULL
               WHERE c.tenant_id = $1 AND c.patient_id = $2 AND c.deleted_at IS NULL
               GROUP BY c.id
           ) entries
           WHERE $3::timestamptz IS NULL OR (at, kind, resource_id) < ($3, $4, $5)
           ORDER BY at DESC, kind DESC, resource_id DESC
           LIMIT $6"#,
        caller.principal.tenant_id,
        id,
        before_at,
        before_kind,
        before_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("patient.timeline", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(Page::from_rows(entries, limit, |e| (e.at, e.kind.clone(), e.resource_id))))
}

