//! Intake → evaluation queue: a patient submits an intake form in the portal; it becomes an
//! evaluation in the clinic's queue, which staff triage live
//! (`pending → in_review → triaged → scheduled | closed`).
//!
//! Every change is an event on `evaluations` (the queue item as the list returns it, so open
//! dashboards update without a refetch) and on the patient's `user:<id>` channel (the status
//! their portal shows).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qivr_shared::auth::Role;
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Staged};
use crate::extract::{Caller, Clinic, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::routes::patients::own_patient_id;
use crate::state::AppState;
use crate::validate::{clean, patch, patch_text, Checks, LONG_TEXT, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_intake, list_intakes))
        .routes(routes!(list_evaluations))
        .routes(routes!(get_evaluation, update_evaluation))
}

/// The red-flag questions of the intake form. Any "yes" makes the evaluation urgent.
pub const RED_FLAGS: [&str; 8] = [
    "bladder_bowel_change",
    "saddle_numbness",
    "progressive_weakness",
    "unexplained_weight_loss",
    "night_pain",
    "fever",
    "recent_trauma",
    "history_of_cancer",
];

const STATUSES: [&str; 5] = ["pending", "in_review", "triaged", "scheduled", "closed"];
const URGENCIES: [&str; 3] = ["routine", "soon", "urgent"];

/// Which status changes triage allows. Reopening a closed evaluation sends it back to review.
fn transition_allowed(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("pending", "in_review" | "closed")
                | ("in_review", "pending" | "triaged" | "closed")
                | ("triaged", "in_review" | "scheduled" | "closed")
                | ("scheduled", "triaged" | "closed")
                | ("closed", "in_review")
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewIntake {
    /// Staff submitting on a patient's behalf name the patient; patients never do.
    pub patient_id: Option<Uuid>,
    pub chief_complaint: String,
    /// 0 (none) to 10 (worst imaginable).
    pub pain_level: i16,
    #[serde(default)]
    pub pain_areas: Vec<String>,
    pub onset: Option<String>,
    pub duration: Option<String>,
    pub history: Option<String>,
    pub medications: Option<String>,
    pub allergies: Option<String>,
    pub goals: Option<String>,
    /// The red-flag questions answered "yes", from `RED_FLAGS`.
    #[serde(default)]
    pub red_flags: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Intake {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub evaluation_id: Uuid,
    /// The evaluation's status, so the portal can show where the intake stands.
    pub status: String,
    pub chief_complaint: String,
    pub pain_level: i16,
    pub pain_areas: Vec<String>,
    pub onset: Option<String>,
    pub duration: Option<String>,
    pub history: Option<String>,
    pub medications: Option<String>,
    pub allergies: Option<String>,
    pub goals: Option<String>,
    pub red_flags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A queue item: what the evaluation list shows and what `evaluation.*` events carry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Evaluation {
    pub id: Uuid,
    pub intake_id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub status: String,
    pub urgency: String,
    pub assignee_user_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub notes: Option<String>,
    pub chief_complaint: String,
    pub pain_level: i16,
    pub red_flags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An evaluation with the intake it triages.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationDetail {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub intake: Intake,
}

/// Submits an intake form; an evaluation appears in the clinic's queue at once.
#[utoipa::path(post, path = "/intakes", tag = "evaluations", request_body = NewIntake, security(("bearer" = [])),
    responses((status = 201, body = Intake), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn submit_intake(State(state): State<AppState>, caller: Caller, Json(body): Json<NewIntake>) -> ApiResult<(StatusCode, Json<Intake>)> {
    let mut checks = Checks::new();
    checks.required("chief_complaint", &body.chief_complaint, 500);
    if !(0..=10).contains(&body.pain_level) {
        checks.fail("pain_level", "must be between 0 and 10");
    }
    if body.pain_areas.len() > 30 {
        checks.fail("pain_areas", "at most 30 areas");
    }
    for (i, area) in body.pain_areas.iter().enumerate() {
        checks.required(&format!("pain_areas[{i}]"), area, 60);
    }
    for (field, value) in [("onset", &body.onset), ("duration", &body.duration)] {
        checks.optional(field, value.as_deref(), SHORT_TEXT);
    }
    for (field, value) in [("history", &body.history), ("medications", &body.medications), ("allergies", &body.allergies), ("goals", &body.goals)] {
        checks.optional(field, value.as_deref(), LONG_TEXT);
    }
    for (i, flag) in body.red_flags.iter().enumerate() {
        if !RED_FLAGS.contains(&flag.as_str()) {
            checks.fail(&format!("red_flags[{i}]"), format!("must be one of {}", RED_FLAGS.join(", ")));
        }
    }
    if caller.principal.role == Role::Patient && body.patient_id.is_some() {
        checks.fail("patient_id", "patients submit their own intake");
    }
    if caller.principal.role.is_clinic() && body.patient_id.is_none() {
        checks.fail("patient_id", "required when staff submit an intake");
    }
    checks.finish()?;

    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let patient_id = match body.patient_id {
        Some(id) => patient_exists(&mut tx, tenant_id, id).await?,
        None => own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?,
    };
    let mut red_flags = body.red_flags.clone();
    red_flags.sort();
    red_flags.dedup();
    let pain_areas: Vec<String> = body.pain_areas.iter().map(|a| a.trim().to_string()).collect();
    // Red flags need a clinician today; severe pain soon; everything else in turn.
    let urgency = if !red_flags.is_empty() {
        "urgent"
    } else if body.pain_level >= 8 {
        "soon"
    } else {
        "routine"
    };
    // language=PostgreSQL
    let intake_id = sqlx::query_scalar!(
        "INSERT INTO intakes (tenant_id, patient_id, chief_complaint, pain_level, pain_areas, onset, duration,
                              history, medications, allergies, goals, red_flags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        tenant_id,
        patient_id,
        body.chief_complaint.trim(),
        body.pain_level,
        &pain_areas,
        clean(body.onset),
        clean(body.duration),
        clean(body.history),
        clean(body.medications),
        clean(body.allergies),
        clean(body.goals),
        &red_flags,
    )
    .fetch_one(&mut *tx)
    .await?;
    // language=PostgreSQL
    let evaluation_id = sqlx::query_scalar!(
        "INSERT INTO evaluations (tenant_id, intake_id, patient_id, urgency) VALUES ($1, $2, $3, $4) RETURNING id",
        tenant_id,
        intake_id,
        patient_id,
        urgency,
    )
    .fetch_one(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("intake.create", patient_id, "intake", intake_id)).await?;
    let staged = announce(&mut tx, tenant_id, evaluation_id, "evaluation.created").await?;
    let intake = fetch_intake(&mut tx, tenant_id, intake_id).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((StatusCode::CREATED, Json(intake)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct IntakeFilter {
    /// Staff: whose intakes. Patients always get their own.
    pub patient_id: Option<Uuid>,
}

/// Intakes, newest first: a patient's own, or (staff) one patient's.
#[utoipa::path(get, path = "/intakes", tag = "evaluations", params(IntakeFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Intake>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_intakes(State(state): State<AppState>, caller: Caller, Query(filter): Query<IntakeFilter>) -> ApiResult<Json<Page<Intake>>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let patient_id = if caller.principal.role.is_clinic() {
        let id = filter.patient_id.ok_or_else(|| ApiError::invalid("patient_id", "required for clinic staff"))?;
        patient_exists(&mut tx, tenant_id, id).await?
    } else {
        own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?
    };
    // language=PostgreSQL
    let ids = sqlx::query_scalar!(
        "SELECT id FROM intakes WHERE tenant_id = $1 AND patient_id = $2 AND deleted_at IS NULL
         ORDER BY created_at DESC LIMIT 100",
        tenant_id,
        patient_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut intakes = Vec::with_capacity(ids.len());
    for id in ids {
        intakes.push(fetch_intake(&mut tx, tenant_id, id).await?);
    }
    caller.audit(&mut tx, Entry::patient("intake.list", patient_id, "patient", patient_id)).await?;
    tx.commit().await?;
    Ok(Json(Page { items: intakes, next_cursor: None }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct EvaluationFilter {
    /// One of `pending`, `in_review`, `triaged`, `scheduled`, `closed`; comma-separated for several.
    pub status: Option<String>,
    /// `routine`, `soon` or `urgent`.
    pub urgency: Option<String>,
    /// A user id, or `me`.
    pub assignee: Option<String>,
    pub patient_id: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The evaluation queue, newest first.
#[utoipa::path(get, path = "/evaluations", tag = "evaluations", params(EvaluationFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Evaluation>), (status = 403, body = Problem)))]
pub async fn list_evaluations(State(state): State<AppState>, Clinic(caller): Clinic, Query(filter): Query<EvaluationFilter>) -> ApiResult<Json<Page<Evaluation>>> {
    let page = PageParams { cursor: filter.cursor, limit: filter.limit };
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let (after_at, after_id) = after.unzip();
    let statuses: Option<Vec<String>> = filter.status.map(|s| s.split(',').map(|s| s.trim().to_string()).collect());
    if let Some(bad) = statuses.iter().flatten().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest { field: "status".into(), detail: format!("unknown status {bad:?}") });
    }
    if let Some(urgency) = filter.urgency.as_deref().filter(|u| !URGENCIES.contains(u)) {
        return Err(ApiError::BadRequest { field: "urgency".into(), detail: format!("unknown urgency {urgency:?}") });
    }
    let assignee = match filter.assignee.as_deref() {
        None => None,
        Some("me") => Some(caller.principal.user_id),
        Some(id) => Some(Uuid::try_parse(id).map_err(|_| ApiError::BadRequest { field: "assignee".into(), detail: "must be a user id or `me`".into() })?),
    };
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let evaluations = sqlx::query_as!(
        Evaluation,
        r#"SELECT e.id, e.intake_id, e.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!",
                  e.status, e.urgency, e.assignee_user_id, u.name AS "assignee_name?", e.notes,
                  i.chief_complaint, i.pain_level, i.red_flags, e.created_at, e.updated_at
           FROM evaluations e
           JOIN intakes i ON i.id = e.intake_id
           JOIN patients p ON p.id = e.patient_id
           LEFT JOIN users u ON u.id = e.assignee_user_id
           WHERE e.tenant_id = $1 AND e.deleted_at IS NULL
             AND ($2::text[] IS NULL OR e.status = ANY($2))
             AND ($3::text IS NULL OR e.urgency = $3)
             AND ($4::uuid IS NULL OR e.assignee_user_id = $4)
             AND ($5::uuid IS NULL OR e.patient_id = $5)
             AND ($6::timestamptz IS NULL OR (e.created_at, e.id) < ($6, $7))
           ORDER BY e.created_at DESC, e.id DESC
           LIMIT $8"#,
        caller.principal.tenant_id,
        statuses.as_deref(),
        filter.urgency,
        assignee,
        filter.patient_id,
        after_at,
        after_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    let page = Page::from_rows(evaluations, limit, |e| (e.created_at, e.id));
    let listed: Vec<(Uuid, Uuid)> = page.items.iter().map(|e| (e.patient_id, e.id)).collect();
    caller.audit_listed(&mut tx, "evaluation.list", "evaluation", &listed).await?;
    tx.commit().await?;
    Ok(Json(page))
}

/// One evaluation with its intake.
#[utoipa::path(get, path = "/evaluations/{id}", tag = "evaluations", security(("bearer" = [])),
    responses((status = 200, body = EvaluationDetail), (status = 404, body = Problem)))]
pub async fn get_evaluation(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>) -> ApiResult<Json<EvaluationDetail>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let evaluation = fetch_evaluation(&mut tx, tenant_id, id).await?;
    let intake = fetch_intake(&mut tx, tenant_id, evaluation.intake_id).await?;
    caller.audit(&mut tx, Entry::patient("evaluation.read", evaluation.patient_id, "evaluation", id)).await?;
    tx.commit().await?;
    Ok(Json(EvaluationDetail { evaluation, intake }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationChanges {
    pub status: Option<String>,
    pub urgency: Option<String>,
    /// A clinic user; `null` unassigns.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_user_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// Triage: moves an evaluation through its workflow, sets urgency, assignee and notes.
#[utoipa::path(patch, path = "/evaluations/{id}", tag = "evaluations", request_body = EvaluationChanges, security(("bearer" = [])),
    responses((status = 200, body = Evaluation), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_evaluation(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>, Json(body): Json<EvaluationChanges>) -> ApiResult<Json<Evaluation>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let current = sqlx::query!(
        "SELECT status, patient_id FROM evaluations WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        tenant_id,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("evaluation"))?;

    let mut checks = Checks::new();
    if let Some(status) = &body.status {
        if !STATUSES.contains(&status.as_str()) {
            checks.fail("status", format!("must be one of {}", STATUSES.join(", ")));
        } else if !transition_allowed(&current.status, status) {
            checks.fail("status", format!("cannot go from {} to {status}", current.status));
        }
    }
    if let Some(urgency) = body.urgency.as_deref().filter(|u| !URGENCIES.contains(u)) {
        checks.fail("urgency", format!("{urgency:?} is not one of {}", URGENCIES.join(", ")));
    }
    if let Some(Some(notes)) = &body.notes {
        checks.length("notes", notes, LONG_TEXT);
    }
    if let Some(Some(assignee)) = body.assignee_user_id {
        // language=PostgreSQL
        let is_clinic_user = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND role <> 'patient'
                              AND deleted_at IS NULL AND disabled_at IS NULL) AS "exists!""#,
            tenant_id,
            assignee
        )
        .fetch_one(&mut *tx)
        .await?;
        if !is_clinic_user {
            checks.fail("assignee_user_id", "must be an active clinic user");
        }
    }
    checks.finish()?;

    let (set_assignee, assignee) = match body.assignee_user_id {
        Some(value) => (true, value),
        None => (false, None),
    };
    let (set_notes, notes) = patch_text(body.notes);
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE evaluations SET status = coalesce($3, status), urgency = coalesce($4, urgency),
                assignee_user_id = CASE WHEN $5 THEN $6 ELSE assignee_user_id END,
                notes = CASE WHEN $7 THEN $8 ELSE notes END
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        body.status,
        body.urgency,
        set_assignee,
        assignee,
        set_notes,
        notes,
    )
    .execute(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("evaluation.update", current.patient_id, "evaluation", id)).await?;
    let staged = announce(&mut tx, tenant_id, id, "evaluation.updated").await?;
    let evaluation = fetch_evaluation(&mut tx, tenant_id, id).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(Json(evaluation))
}

/// Stages `kind` for the evaluation: the queue item on `evaluations`, and the status on the
/// patient's own channel when they have a portal login.
pub(crate) async fn announce(tx: &mut Tx, tenant_id: Uuid, id: Uuid, kind: &str) -> ApiResult<Vec<Staged>> {
    let evaluation = fetch_evaluation(tx, tenant_id, id).await?;
    // language=PostgreSQL
    let patient_user = sqlx::query_scalar!("SELECT user_id FROM patients WHERE tenant_id = $1 AND id = $2", tenant_id, evaluation.patient_id)
        .fetch_one(&mut **tx)
        .await?;
    let mut staged = Vec::with_capacity(2);
    if let Some(user_id) = patient_user {
        let data = serde_json::json!({
            "id": evaluation.id, "intake_id": evaluation.intake_id, "status": evaluation.status,
            "updated_at": evaluation.updated_at,
        });
        staged.push(events::stage(tx, tenant_id, format!("user:{user_id}"), kind, data).await?);
    }
    let data = serde_json::to_value(&evaluation).expect("evaluations serialize");
    staged.push(events::stage(tx, tenant_id, "evaluations".into(), kind, data).await?);
    Ok(staged)
}

async fn patient_exists(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid) -> ApiResult<Uuid> {
    // language=PostgreSQL
    sqlx::query_scalar!("SELECT id FROM patients WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id, patient_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ApiError::NotFound("patient"))
}

async fn fetch_evaluation(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> ApiResult<Evaluation> {
    // language=PostgreSQL
    sqlx::query_as!(
        Evaluation,
        r#"SELECT e.id, e.intake_id, e.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!",
                  e.status, e.urgency, e.assignee_user_id, u.name AS "assignee_name?", e.notes,
                  i.chief_complaint, i.pain_level, i.red_flags, e.created_at, e.updated_at
           FROM evaluations e
           JOIN intakes i ON i.id = e.intake_id
           JOIN patients p ON p.id = e.patient_id
           LEFT JOIN users u ON u.id = e.assignee_user_id
           WHERE e.tenant_id = $1 AND e.id = $2 AND e.deleted_at IS NULL"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("evaluation"))
}

pub async fn fetch_intake(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> ApiResult<Intake> {
    // language=PostgreSQL
    sqlx::query_as!(
        Intake,
        r#"SELECT i.id, i.patient_id, e.id AS evaluation_id, e.status, i.chief_complaint, i.pain_level,
                  i.pain_areas, i.onset, i.duration, i.history, i.medications, i.allergies, i.goals,
                  i.red_flags, i.created_at, e.updated_at
           FROM intakes i JOIN evaluations e ON e.intake_id = i.id
           WHERE i.tenant_id = $1 AND i.id = $2"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("intake"))
}

#[cfg(test)]
mod tests {
    use super::transition_allowed;

    #[test]
    fn triage_moves_forward_and_back_one_step_and_closed_reopens_to_review() {
        assert!(transition_allowed("pending", "in_review"));
        assert!(transition_allowed("in_review", "triaged"));
        assert!(transition_allowed("triaged", "scheduled"));
        assert!(transition_allowed("scheduled", "closed"));
        assert!(transition_allowed("closed", "in_review"));
        assert!(!transition_allowed("pending", "scheduled"));
        assert!(!transition_allowed("closed", "scheduled"));
        assert!(!transition_allowed("pending", "triaged"));
    }
}
