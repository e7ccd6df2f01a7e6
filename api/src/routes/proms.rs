//! PROMs over HTTP: templates (versioned), assignment to patients, completion in the portal,
//! alerts for staff, trends, clinic analytics and FHIR export.
//!
//! - Templates: `/prom-templates`. Saving changes (`PUT`) adds a version; instances keep the
//!   version they were created with, and completed ones keep the scores computed at submission.
//! - Assignment: `POST /prom-assignments` creates every instance of the schedule at once, each
//!   with its due date. The patient hears `prom.assigned` on `user:<id>` and gets an email.
//! - Completion: `PUT /prom-instances/{id}/answers` saves a draft (resumable);
//!   `POST /prom-instances/{id}/submit` checks the answers against the instance's version,
//!   scores them on the server and fires item alerts.
//! - Staff hear `prom.assigned`, `prom.submitted`, `prom.alert` and `prom.alert.acknowledged`
//!   on the staff-only `proms` channel.
//!
//! Instances open for answering two days before they are due ([`OPENS_BEFORE_DUE`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use qivr_shared::auth::Role;
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use sqlx::types::Json as Jsonb;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::extract::{Caller, Clinic, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::proms::definition::{Answers, Band, Definition};
use crate::proms::instruments::{self, Instrument};
use crate::proms::scoring::{self, Change, FiredAlert, ScaleScore};
use crate::proms::fhir;
use crate::routes::patients::{ensure_visible, own_patient_id};
use crate::state::AppState;
use crate::validate::{clean, Checks, LONG_TEXT, SHORT_TEXT};

/// How long before its due date an instance may be answered.
pub const OPENS_BEFORE_DUE: Duration = Duration::days(2);

/// The staff channel of PROM events.
const CHANNEL: &str = "proms";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instruments))
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template))
        .routes(routes!(template_fhir))
        .routes(routes!(create_assignment))
        .routes(routes!(list_instances))
        .routes(routes!(get_instance))
        .routes(routes!(save_answers))
        .routes(routes!(submit_instance))
        .routes(routes!(instance_fhir))
        .routes(routes!(list_alerts))
        .routes(routes!(acknowledge_alert))
        .routes(routes!(patient_trends))
        .routes(routes!(analytics))
}

// ---------------------------------------------------------------- templates

/// A standard instrument, ready to start a template from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromStandardInstrument)]
pub struct StandardInstrument {
    pub instrument: Instrument,
    pub name: String,
    /// False for licensed instruments: the clinic enters the items' wording.
    pub ships_items: bool,
    pub definition: Definition,
}

/// The standard instruments (PHQ-9, GAD-7 with items; ODI, NDI, QuickDASH, KOOS as rules).
#[utoipa::path(get, path = "/prom-instruments", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = Page<StandardInstrument>), (status = 403, body = Problem)))]
pub async fn list_instruments(Clinic(_caller): Clinic) -> Json<Page<StandardInstrument>> {
    let items = Instrument::ALL
        .into_iter()
        .map(|instrument| StandardInstrument {
            instrument,
            name: instrument.name().into(),
            ships_items: instrument.ships_items(),
            definition: instruments::definition(instrument),
        })
        .collect();
    Json(Page { items, next_cursor: None })
}

/// A template in its current version (or the version asked for).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromTemplate)]
pub struct Template {
    pub id: Uuid,
    pub instrument: Option<String>,
    pub version: i32,
    /// The newest version; `version` is lower when an older one was asked for.
    pub current_version: i32,
    pub name: String,
    pub description: Option<String>,
    pub definition: Definition,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromTemplateSummary)]
pub struct TemplateSummary {
    pub id: Uuid,
    pub instrument: Option<String>,
    pub version: i32,
    pub name: String,
    pub description: Option<String>,
    pub items: i64,
    /// The scales' labels; empty when the template is not scored.
    pub scales: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromNewTemplate)]
pub struct NewTemplate {
    /// Start from a standard instrument; `name` and `definition` default to its own.
    pub instrument: Option<Instrument>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub definition: Option<Definition>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromTemplateVersion)]
pub struct TemplateVersion {
    pub name: String,
    pub description: Option<String>,
    pub definition: Definition,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct VersionParam {
    /// A version number; the current one when absent.
    pub version: Option<i32>,
}

/// The clinic's questionnaires, in their current versions.
#[utoipa::path(get, path = "/prom-templates", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = Page<TemplateSummary>), (status = 403, body = Problem)))]
pub async fn list_templates(State(state): State<AppState>, Clinic(caller): Clinic) -> ApiResult<Json<Page<TemplateSummary>>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let rows = sqlx::query!(
        r#"SELECT t.id, t.instrument, v.version, v.name, v.description, v.definition AS "definition: Jsonb<Definition>", t.updated_at
           FROM prom_templates t JOIN prom_template_versions v ON v.template_id = t.id AND v.version = t.current_version
           WHERE t.tenant_id = $1 AND t.deleted_at IS NULL ORDER BY v.name, t.id LIMIT 500"#,
        caller.principal.tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(|r| TemplateSummary {
            id: r.id,
            instrument: r.instrument,
            version: r.version,
            name: r.name,
            description: r.description,
            items: r.definition.items().count() as i64,
            scales: r.definition.scales.iter().map(|s| s.label.clone()).collect(),
            updated_at: r.updated_at,
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// Creates a questionnaire (version 1), custom or from a standard instrument.
#[utoipa::path(post, path = "/prom-templates", tag = "proms", request_body = NewTemplate, security(("bearer" = [])),
    responses((status = 201, body = Template), (status = 422, body = Problem)))]
pub async fn create_template(State(state): State<AppState>, Clinic(caller): Clinic, Json(body): Json<NewTemplate>) -> ApiResult<(StatusCode, Json<Template>)> {
    let name = body.name.or_else(|| body.instrument.map(|i| i.name().to_string())).unwrap_or_default();
    let Some(definition) = body.definition.or_else(|| body.instrument.map(instruments::definition)) else {
        return Err(ApiError::invalid("definition", "required unless an instrument is named"));
    };
    let version = TemplateVersion { name, description: body.description, definition };
    check_version(&version)?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let id = insert_template(&mut tx, tenant_id, body.instrument, &version).await?;
    let template = fetch_template(&mut tx, tenant_id, id, None).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(template)))
}

/// Inserts a template and its first version; the demo seed uses it too.
pub(crate) async fn insert_template(tx: &mut Tx, tenant_id: Uuid, instrument: Option<Instrument>, version: &TemplateVersion) -> sqlx::Result<Uuid> {
    // language=PostgreSQL
    let id = sqlx::query_scalar!(
        "INSERT INTO prom_templates (tenant_id, instrument) VALUES ($1, $2) RETURNING id",
        tenant_id,
        instrument.map(Instrument::as_str)
    )
    .fetch_one(&mut **tx)
    .await?;
    insert_version(tx, tenant_id, id, 1, version).await?;
    Ok(id)
}

async fn insert_version(tx: &mut Tx, tenant_id: Uuid, template_id: Uuid, number: i32, version: &TemplateVersion) -> sqlx::Result<()> {
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO prom_template_versions (tenant_id, template_id, version, name, description, definition)
         VALUES ($1, $2, $3, $4, $5, $6)",
        tenant_id,
        template_id,
        number,
        version.name.trim(),
        clean(version.description.clone()),
        serde_json::to_value(&version.definition).expect("definitions serialize"),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn check_version(version: &TemplateVersion) -> ApiResult<()> {
    let mut checks = Checks::new();
    checks.required("name", &version.name, SHORT_TEXT);
    checks.optional("description", version.description.as_deref(), LONG_TEXT);
    version.definition.check(&mut checks, "definition");
    checks.finish()
}

/// A template: its current version, or `?version=n`.
#[utoipa::path(get, path = "/prom-templates/{id}", tag = "proms", params(VersionParam), security(("bearer" = [])),
    responses((status = 200, body = Template), (status = 404, body = Problem)))]
pub async fn get_template(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>, Query(params): Query<VersionParam>) -> ApiResult<Json<Template>> {
    let mut tx = caller.begin(&state).await?;
    let template = fetch_template(&mut tx, caller.principal.tenant_id, id, params.version).await?;
    tx.commit().await?;
    Ok(Json(template))
}

/// Saves changes as a new version. Instances already created keep theirs.
#[utoipa::path(put, path = "/prom-templates/{id}", tag = "proms", request_body = TemplateVersion, security(("bearer" = [])),
    responses((status = 200, body = Template), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_template(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>, Json(body): Json<TemplateVersion>) -> ApiResult<Json<Template>> {
    check_version(&body)?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let current = sqlx::query_scalar!(
        "SELECT current_version FROM prom_templates WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
        tenant_id,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("template"))?;
    insert_version(&mut tx, tenant_id, id, current + 1, &body).await?;
    // language=PostgreSQL
    sqlx::query!("UPDATE prom_templates SET current_version = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, id, current + 1)
        .execute(&mut *tx)
        .await?;
    let template = fetch_template(&mut tx, tenant_id, id, None).await?;
    tx.commit().await?;
    Ok(Json(template))
}

/// The template version as a FHIR R4 `Questionnaire`.
#[utoipa::path(get, path = "/prom-templates/{id}/fhir", tag = "proms", params(VersionParam), security(("bearer" = [])),
    responses((status = 200, body = serde_json::Value, content_type = "application/fhir+json"), (status = 404, body = Problem)))]
pub async fn template_fhir(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>, Query(params): Query<VersionParam>) -> ApiResult<Json<serde_json::Value>> {
    let mut tx = caller.begin(&state).await?;
    let t = fetch_template(&mut tx, caller.principal.tenant_id, id, params.version).await?;
    tx.commit().await?;
    Ok(Json(fhir::questionnaire(t.id, t.version, &t.name, t.description.as_deref(), &t.definition)))
}

async fn fetch_template(tx: &mut Tx, tenant_id: Uuid, id: Uuid, version: Option<i32>) -> ApiResult<Template> {
    // language=PostgreSQL
    let row = sqlx::query!(
        r#"SELECT t.id, t.instrument, t.current_version, v.version, v.name, v.description,
                  v.definition AS "definition: Jsonb<Definition>", t.created_at, v.created_at AS updated_at
           FROM prom_templates t JOIN prom_template_versions v ON v.template_id = t.id
           WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL AND v.version = coalesce($3, t.current_version)"#,
        tenant_id,
        id,
        version
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("template"))?;
    Ok(Template {
        id: row.id,
        instrument: row.instrument,
        version: row.version,
        current_version: row.current_version,
        name: row.name,
        description: row.description,
        definition: row.definition.0,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

// ---------------------------------------------------------------- assignment

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromNewAssignment)]
pub struct NewAssignment {
    pub patient_id: Uuid,
    pub template_id: Uuid,
    /// When the first completion is due; now when absent.
    pub first_due_at: Option<DateTime<Utc>>,
    /// Repeat every this many days (1–365)…
    pub every_days: Option<i32>,
    /// …this many times in all (1–52, default 1).
    pub occurrences: Option<i32>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromAssignment)]
pub struct Assignment {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub template_id: Uuid,
    pub first_due_at: DateTime<Utc>,
    pub every_days: Option<i32>,
    pub occurrences: i32,
    pub note: Option<String>,
    pub instances: Vec<InstanceSummary>,
}

/// Assigns a questionnaire to a patient, once or on a schedule; every instance is created
/// now with its due date. The patient is told live and by email.
#[utoipa::path(post, path = "/prom-assignments", tag = "proms", request_body = NewAssignment, security(("bearer" = [])),
    responses((status = 201, body = Assignment), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_assignment(State(state): State<AppState>, Clinic(caller): Clinic, Json(body): Json<NewAssignment>) -> ApiResult<(StatusCode, Json<Assignment>)> {
    let occurrences = body.occurrences.unwrap_or(1);
    let mut checks = Checks::new();
    if !(1..=52).contains(&occurrences) {
        checks.fail("occurrences", "must be between 1 and 52");
    }
    match body.every_days {
        Some(days) if !(1..=365).contains(&days) => checks.fail("every_days", "must be between 1 and 365"),
        None if occurrences > 1 => checks.fail("every_days", "required when there is more than one occurrence"),
        _ => {}
    }
    checks.optional("note", body.note.as_deref(), LONG_TEXT);
    let first_due_at = body.first_due_at.unwrap_or_else(Utc::now);
    if first_due_at < Utc::now() - Duration::days(1) {
        checks.fail("first_due_at", "must not be in the past");
    }
    checks.finish()?;

    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, body.patient_id).await?;
    // language=PostgreSQL
    let version = sqlx::query!(
        "SELECT v.id, v.name FROM prom_templates t JOIN prom_template_versions v ON v.template_id = t.id AND v.version = t.current_version
         WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL",
        tenant_id,
        body.template_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("template"))?;
    let note = clean(body.note);
    // language=PostgreSQL
    let id = sqlx::query_scalar!(
        "INSERT INTO prom_assignments (tenant_id, patient_id, template_id, first_due_at, every_days, occurrences, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        tenant_id,
        body.patient_id,
        body.template_id,
        first_due_at,
        body.every_days,
        occurrences,
        note,
    )
    .fetch_one(&mut *tx)
    .await?;
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO prom_instances (tenant_id, assignment_id, patient_id, template_id, template_version_id, due_at)
         SELECT $1, $2, $3, $4, $5, $6::timestamptz + make_interval(days => n * coalesce($7::int, 0))
         FROM generate_series(0, $8::int - 1) AS n",
        tenant_id,
        id,
        body.patient_id,
        body.template_id,
        version.id,
        first_due_at,
        body.every_days,
        occurrences,
    )
    .execute(&mut *tx)
    .await?;
    let instances = fetch_instances(&mut tx, tenant_id, &InstanceQuery { assignment_id: Some(id), ..InstanceQuery::default() }).await?;
    queue_assigned_email(&mut tx, tenant_id, body.patient_id, id, &version.name, first_due_at).await?;
    caller.audit(&mut tx, Entry::patient("prom.assign", body.patient_id, "prom_assignment", id)).await?;
    let mut staged = Vec::new();
    let data = serde_json::to_value(&instances).expect("instances serialize");
    if let Some(user_id) = patient_user(&mut tx, tenant_id, body.patient_id).await? {
        staged.push(events::stage(&mut tx, tenant_id, format!("user:{user_id}"), "prom.assigned", serde_json::json!({ "instances": data })).await?);
    }
    staged.push(events::stage(&mut tx, tenant_id, CHANNEL.into(), "prom.assigned", serde_json::json!({ "instances": data })).await?);
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((
        StatusCode::CREATED,
        Json(Assignment {
            id,
            patient_id: body.patient_id,
            template_id: body.template_id,
            first_due_at,
            every_days: body.every_days,
            occurrences,
            note,
            instances,
        }),
    ))
}

/// Queues the "questionnaire to complete" email, once per assignment, unless the patient
/// has no email or turned these off.
async fn queue_assigned_email(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, assignment_id: Uuid, name: &str, due: DateTime<Utc>) -> sqlx::Result<()> {
    // language=PostgreSQL
    let patient = sqlx::query!(
        r#"SELECT p.email, p.first_name, t.name AS clinic,
                  EXISTS (SELECT 1 FROM notification_preferences n
                          WHERE n.tenant_id = p.tenant_id AND n.user_id = p.user_id AND n.kind = 'prom' AND NOT n.email) AS "opted_out!"
           FROM patients p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1 AND p.id = $2"#,
        tenant_id,
        patient_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let (Some(to), false) = (patient.email, patient.opted_out) else { return Ok(()) };
    let body = format!(
        "Hello {},\n\n{} has asked you to complete a questionnaire, \"{name}\", due {}.\n\n\
         You can fill it in from the patient portal; your answers are saved as you go.\n",
        patient.first_name,
        patient.clinic,
        due.format("%A %e %B %Y"),
    );
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO emails (tenant_id, idempotency_key, to_address, subject, body_text, kind)
         VALUES ($1, $2, $3, $4, $5, 'prom') ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        tenant_id,
        format!("prom-assigned:{assignment_id}"),
        to,
        format!("A questionnaire from {}", patient.clinic),
        body,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn patient_user(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    // language=PostgreSQL
    sqlx::query_scalar!("SELECT user_id FROM patients WHERE tenant_id = $1 AND id = $2", tenant_id, patient_id)
        .fetch_one(&mut **tx)
        .await
}

// ---------------------------------------------------------------- instances

/// One completion asked of a patient, as lists show it and events carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PromInstanceSummary)]
pub struct InstanceSummary {
    pub id: Uuid,
    pub assignment_id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub template_id: Uuid,
    pub template_name: String,
    pub template_version: i32,
    pub instrument: Option<String>,
    pub due_at: DateTime<Utc>,
    /// `pending`, `in_progress` or `completed`.
    pub status: String,
    /// Not completed and past its due date.
    pub overdue: bool,
    /// May be answered now (it opens two days before it is due).
    pub available: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub scores: Option<Vec<ScaleScore>>,
    /// `none`, `needs_review` (an alert fired) or `reviewed`.
    pub review_status: String,
}

/// An instance with its questions (the version it was assigned with) and answers so far.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromInstance)]
pub struct Instance {
    #[serde(flatten)]
    pub summary: InstanceSummary,
    pub definition: Definition,
    #[schema(value_type = Object)]
    pub answers: Answers,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct InstanceFilter {
    /// Staff: one patient's. Patients always get their own.
    pub patient_id: Option<Uuid>,
    /// `pending`, `in_progress`, `completed`; comma-separated for several.
    pub status: Option<String>,
    /// Only instances past their due date and not completed.
    pub overdue: Option<bool>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Default)]
struct InstanceQuery {
    id: Option<Uuid>,
    assignment_id: Option<Uuid>,
    patient_id: Option<Uuid>,
    statuses: Option<Vec<String>>,
    overdue: bool,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
}

const STATUSES: [&str; 3] = ["pending", "in_progress", "completed"];

/// Instances, latest due first: a patient's own; for staff, the clinic's (filtered).
#[utoipa::path(get, path = "/prom-instances", tag = "proms", params(InstanceFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<InstanceSummary>), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn list_instances(State(state): State<AppState>, caller: Caller, Query(filter): Query<InstanceFilter>) -> ApiResult<Json<Page<InstanceSummary>>> {
    let page = PageParams { cursor: filter.cursor, limit: filter.limit };
    let limit = page.limit()?;
    let statuses: Option<Vec<String>> = filter.status.map(|s| s.split(',').map(|s| s.trim().to_string()).collect());
    if let Some(bad) = statuses.iter().flatten().find(|s| !STATUSES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest { field: "status".into(), detail: format!("unknown status {bad:?}") });
    }
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let patient_id = if caller.principal.role.is_clinic() {
        if let Some(id) = filter.patient_id {
            ensure_visible(&mut tx, &caller, id).await?;
        }
        filter.patient_id
    } else {
        Some(own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?)
    };
    let query = InstanceQuery {
        patient_id,
        statuses,
        overdue: filter.overdue.unwrap_or(false),
        after: page.cursor()?,
        limit: limit + 1,
        ..InstanceQuery::default()
    };
    let rows = fetch_instances(&mut tx, tenant_id, &query).await?;
    let page = Page::from_rows(rows, limit, |i| (i.due_at, i.id));
    let listed: Vec<(Uuid, Uuid)> = page.items.iter().map(|i| (i.patient_id, i.id)).collect();
    caller.audit_listed(&mut tx, "prom.list", "prom_instance", &listed).await?;
    tx.commit().await?;
    Ok(Json(page))
}

/// One instance with its questions and the answers saved so far.
#[utoipa::path(get, path = "/prom-instances/{id}", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = Instance), (status = 404, body = Problem)))]
pub async fn get_instance(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Instance>> {
    let mut tx = caller.begin(&state).await?;
    let instance = fetch_instance(&mut tx, &caller, id, false).await?;
    caller.audit(&mut tx, Entry::patient("prom.read", instance.summary.patient_id, "prom_instance", id)).await?;
    tx.commit().await?;
    Ok(Json(instance))
}

/// Answers for an instance, checked against the version the patient was shown.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromInstanceAnswers)]
pub struct InstanceAnswers {
    /// The template version the answers are for; must be the instance's.
    pub template_version: i32,
    /// Item id → value: option value or scale number, text, or `YYYY-MM-DD`.
    #[schema(value_type = Object)]
    pub answers: Answers,
}

/// Saves a draft: answers are checked, required items may still be open.
#[utoipa::path(put, path = "/prom-instances/{id}/answers", tag = "proms", request_body = InstanceAnswers, security(("bearer" = [])),
    responses((status = 200, body = Instance), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn save_answers(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<InstanceAnswers>) -> ApiResult<Json<Instance>> {
    let mut tx = caller.begin(&state).await?;
    let instance = fetch_instance(&mut tx, &caller, id, true).await?;
    let answers = check_answerable(&instance, &body, false)?;
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE prom_instances SET answers = $3, status = 'in_progress', started_at = coalesce(started_at, now())
         WHERE tenant_id = $1 AND id = $2",
        caller.principal.tenant_id,
        id,
        serde_json::to_value(&answers).expect("answers serialize"),
    )
    .execute(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("prom.save", instance.summary.patient_id, "prom_instance", id)).await?;
    let instance = fetch_instance(&mut tx, &caller, id, false).await?;
    tx.commit().await?;
    Ok(Json(instance))
}

/// Submits the answers: scored on the server; item alerts reach staff at once and mark the
/// response for review.
#[utoipa::path(post, path = "/prom-instances/{id}/submit", tag = "proms", request_body = InstanceAnswers, security(("bearer" = [])),
    responses((status = 200, body = Instance), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn submit_instance(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<InstanceAnswers>) -> ApiResult<Json<Instance>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let instance = fetch_instance(&mut tx, &caller, id, true).await?;
    let answers = check_answerable(&instance, &body, true)?;
    let outcome = scoring::score(&instance.definition, &answers);
    let patient_id = instance.summary.patient_id;
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE prom_instances SET answers = $3, scores = $4, status = 'completed', submitted_at = now(),
                started_at = coalesce(started_at, now()), review_status = CASE WHEN $5 THEN 'needs_review' ELSE 'none' END
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        serde_json::to_value(&answers).expect("answers serialize"),
        serde_json::to_value(&outcome.scales).expect("scores serialize"),
        !outcome.alerts.is_empty(),
    )
    .execute(&mut *tx)
    .await?;
    let mut staged = Vec::new();
    for FiredAlert { item, value, message } in &outcome.alerts {
        // language=PostgreSQL
        let alert_id = sqlx::query_scalar!(
            "INSERT INTO prom_alerts (tenant_id, instance_id, patient_id, item_id, value, message) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            tenant_id,
            id,
            patient_id,
            item,
            value,
            message,
        )
        .fetch_one(&mut *tx)
        .await?;
        let alert = fetch_alert(&mut tx, tenant_id, alert_id).await?;
        staged.push(events::stage(&mut tx, tenant_id, CHANNEL.into(), "prom.alert", serde_json::to_value(&alert).expect("alerts serialize")).await?);
    }
    caller
        .audit(&mut tx, Entry::patient("prom.submit", patient_id, "prom_instance", id).detail(serde_json::json!({ "alerts": outcome.alerts.len() })))
        .await?;
    let instance = fetch_instance(&mut tx, &caller, id, false).await?;
    let data = serde_json::to_value(&instance.summary).expect("instances serialize");
    staged.push(events::stage(&mut tx, tenant_id, CHANNEL.into(), "prom.submitted", data.clone()).await?);
    if let Some(user_id) = patient_user(&mut tx, tenant_id, patient_id).await? {
        staged.push(events::stage(&mut tx, tenant_id, format!("user:{user_id}"), "prom.submitted", data).await?);
    }
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(Json(instance))
}

/// The checks a draft or submission must pass before its answers are stored.
fn check_answerable(instance: &Instance, body: &InstanceAnswers, complete: bool) -> ApiResult<Answers> {
    if instance.summary.status == "completed" {
        return Err(ApiError::Conflict { field: None, detail: "this questionnaire has already been submitted".into() });
    }
    if !instance.summary.available {
        return Err(ApiError::Conflict { field: Some("due_at"), detail: "this questionnaire does not open until two days before it is due".into() });
    }
    if body.template_version != instance.summary.template_version {
        return Err(ApiError::invalid(
            "template_version",
            format!("this questionnaire is version {}, not {}", instance.summary.template_version, body.template_version),
        ));
    }
    instance.definition.check_answers(&body.answers, complete)
}

/// The response as a FHIR R4 `QuestionnaireResponse`.
#[utoipa::path(get, path = "/prom-instances/{id}/fhir", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = serde_json::Value, content_type = "application/fhir+json"), (status = 404, body = Problem)))]
pub async fn instance_fhir(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<serde_json::Value>> {
    let mut tx = caller.begin(&state).await?;
    let instance = fetch_instance(&mut tx, &caller, id, false).await?;
    let s = &instance.summary;
    caller.audit(&mut tx, Entry::patient("prom.export", s.patient_id, "prom_instance", id)).await?;
    tx.commit().await?;
    Ok(Json(fhir::questionnaire_response(&fhir::Response {
        id,
        template_id: s.template_id,
        version: s.template_version,
        patient_id: s.patient_id,
        completed: s.status == "completed",
        authored: s.submitted_at.or(s.started_at),
        definition: &instance.definition,
        answers: &instance.answers,
    })))
}

/// An instance the caller may see (a patient: only their own; anything else is a 404),
/// optionally locked for update.
async fn fetch_instance(tx: &mut Tx, caller: &Caller, id: Uuid, lock: bool) -> ApiResult<Instance> {
    let tenant_id = caller.principal.tenant_id;
    if lock {
        // language=PostgreSQL
        sqlx::query!("SELECT id FROM prom_instances WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let patient_id = if caller.principal.role == Role::Patient { Some(own_patient_id(tx, caller).await?.ok_or(ApiError::NotFound("questionnaire"))?) } else { None };
    let query = InstanceQuery { id: Some(id), patient_id, limit: 1, ..InstanceQuery::default() };
    let summary = fetch_instances(tx, tenant_id, &query).await?.pop().ok_or(ApiError::NotFound("questionnaire"))?;
    // language=PostgreSQL
    let row = sqlx::query!(
        r#"SELECT v.definition AS "definition: Jsonb<Definition>", i.answers AS "answers: Jsonb<Answers>"
           FROM prom_instances i JOIN prom_template_versions v ON v.id = i.template_version_id
           WHERE i.tenant_id = $1 AND i.id = $2"#,
        tenant_id,
        id
    )
    .fetch_one(&mut **tx)
    .await?;
    // language=PostgreSQL
    let alert_ids = sqlx::query_scalar!("SELECT id FROM prom_alerts WHERE tenant_id = $1 AND instance_id = $2 ORDER BY created_at", tenant_id, id)
        .fetch_all(&mut **tx)
        .await?;
    let mut alerts = Vec::with_capacity(alert_ids.len());
    for alert_id in alert_ids {
        alerts.push(fetch_alert(tx, tenant_id, alert_id).await?);
    }
    Ok(Instance { summary, definition: row.definition.0, answers: row.answers.0, alerts })
}

async fn fetch_instances(tx: &mut Tx, tenant_id: Uuid, q: &InstanceQuery) -> sqlx::Result<Vec<InstanceSummary>> {
    let (after_due, after_id) = q.after.unzip();
    // language=PostgreSQL
    let rows = sqlx::query!(
        r#"SELECT i.id, i.assignment_id, i.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!",
                  i.template_id, v.name AS template_name, v.version AS template_version, t.instrument,
                  i.due_at, i.status, i.started_at, i.submitted_at, i.review_status,
                  i.scores AS "scores: Jsonb<Vec<ScaleScore>>",
                  (i.status <> 'completed' AND i.due_at < now()) AS "overdue!",
                  (i.due_at <= now() + make_interval(secs => $9)) AS "available!"
           FROM prom_instances i
           JOIN patients p ON p.id = i.patient_id
           JOIN prom_template_versions v ON v.id = i.template_version_id
           JOIN prom_templates t ON t.id = i.template_id
           WHERE i.tenant_id = $1 AND i.deleted_at IS NULL
             AND ($2::uuid IS NULL OR i.id = $2)
             AND ($3::uuid IS NULL OR i.assignment_id = $3)
             AND ($4::uuid IS NULL OR i.patient_id = $4)
             AND ($5::text[] IS NULL OR i.status = ANY($5))
             AND (NOT $6 OR (i.status <> 'completed' AND i.due_at < now()))
             AND ($7::timestamptz IS NULL OR (i.due_at, i.id) < ($7, $8))
           ORDER BY i.due_at DESC, i.id DESC
           LIMIT $10"#,
        tenant_id,
        q.id,
        q.assignment_id,
        q.patient_id,
        q.statuses.as_deref(),
        q.overdue,
        after_due,
        after_id,
        OPENS_BEFORE_DUE.num_seconds() as f64,
        if q.limit > 0 { q.limit } else { 100 },
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| InstanceSummary {
            id: r.id,
            assignment_id: r.assignment_id,
            patient_id: r.patient_id,
            patient_name: r.patient_name,
            template_id: r.template_id,
            template_name: r.template_name,
            template_version: r.template_version,
            instrument: r.instrument,
            due_at: r.due_at,
            status: r.status,
            overdue: r.overdue,
            available: r.available,
            started_at: r.started_at,
            submitted_at: r.submitted_at,
            scores: r.scores.map(|s| s.0),
            review_status: r.review_status,
        })
        .collect())
}

// ---------------------------------------------------------------- alerts

/// An item alert that fired on a submission.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromAlert)]
pub struct Alert {
    pub id: Uuid,
    pub instance_id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub template_name: String,
    pub item_id: String,
    pub item_text: String,
    pub value: f64,
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by_name: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AlertFilter {
    /// Only alerts nobody has acknowledged yet.
    pub open: Option<bool>,
    pub patient_id: Option<Uuid>,
}

/// Item alerts, newest first (at most 100).
#[utoipa::path(get, path = "/prom-alerts", tag = "proms", params(AlertFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Alert>), (status = 403, body = Problem)))]
pub async fn list_alerts(State(state): State<AppState>, Clinic(caller): Clinic, Query(filter): Query<AlertFilter>) -> ApiResult<Json<Page<Alert>>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let ids = sqlx::query_scalar!(
        "SELECT id FROM prom_alerts WHERE tenant_id = $1 AND deleted_at IS NULL
           AND (NOT $2 OR acknowledged_at IS NULL) AND ($3::uuid IS NULL OR patient_id = $3)
         ORDER BY created_at DESC LIMIT 100",
        tenant_id,
        filter.open.unwrap_or(false),
        filter.patient_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut alerts = Vec::with_capacity(ids.len());
    for id in ids {
        alerts.push(fetch_alert(&mut tx, tenant_id, id).await?);
    }
    let listed: Vec<(Uuid, Uuid)> = alerts.iter().map(|a| (a.patient_id, a.id)).collect();
    caller.audit_listed(&mut tx, "prom.alert.list", "prom_alert", &listed).await?;
    tx.commit().await?;
    Ok(Json(Page { items: alerts, next_cursor: None }))
}

/// A clinician has seen the alert. Once every alert of a response is acknowledged, the
/// response is `reviewed`.
#[utoipa::path(post, path = "/prom-alerts/{id}/acknowledge", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = Alert), (status = 404, body = Problem)))]
pub async fn acknowledge_alert(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>) -> ApiResult<Json<Alert>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let alert = sqlx::query!(
        "UPDATE prom_alerts SET acknowledged_at = coalesce(acknowledged_at, now()), acknowledged_by = coalesce(acknowledged_by, $3)
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING instance_id, patient_id",
        tenant_id,
        id,
        caller.principal.user_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("alert"))?;
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE prom_instances SET review_status = 'reviewed'
         WHERE tenant_id = $1 AND id = $2 AND review_status = 'needs_review'
           AND NOT EXISTS (SELECT 1 FROM prom_alerts WHERE tenant_id = $1 AND instance_id = $2 AND acknowledged_at IS NULL)",
        tenant_id,
        alert.instance_id,
    )
    .execute(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("prom.alert.acknowledge", alert.patient_id, "prom_alert", id)).await?;
    let alert = fetch_alert(&mut tx, tenant_id, id).await?;
    let staged = events::stage(&mut tx, tenant_id, CHANNEL.into(), "prom.alert.acknowledged", serde_json::to_value(&alert).expect("alerts serialize")).await?;
    tx.commit().await?;
    state.events.publish([staged]).await;
    Ok(Json(alert))
}

async fn fetch_alert(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> sqlx::Result<Alert> {
    // language=PostgreSQL
    let row = sqlx::query!(
        r#"SELECT a.id, a.instance_id, a.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!",
                  v.name AS template_name, v.definition AS "definition: Jsonb<Definition>", a.item_id, a.value, a.message,
                  a.created_at, a.acknowledged_at, u.name AS "acknowledged_by_name?"
           FROM prom_alerts a
           JOIN patients p ON p.id = a.patient_id
           JOIN prom_instances i ON i.id = a.instance_id
           JOIN prom_template_versions v ON v.id = i.template_version_id
           LEFT JOIN users u ON u.id = a.acknowledged_by
           WHERE a.tenant_id = $1 AND a.id = $2"#,
        tenant_id,
        id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Alert {
        item_text: row.definition.item(&row.item_id).map(|i| i.text.clone()).unwrap_or_default(),
        id: row.id,
        instance_id: row.instance_id,
        patient_id: row.patient_id,
        patient_name: row.patient_name,
        template_name: row.template_name,
        item_id: row.item_id,
        value: row.value,
        message: row.message,
        created_at: row.created_at,
        acknowledged_at: row.acknowledged_at,
        acknowledged_by_name: row.acknowledged_by_name,
    })
}

// ---------------------------------------------------------------- trends and analytics

/// One questionnaire's scores for a patient over time.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromTrend)]
pub struct Trend {
    pub template_id: Uuid,
    pub template_name: String,
    pub instrument: Option<String>,
    pub scales: Vec<ScaleTrend>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromScaleTrend)]
pub struct ScaleTrend {
    pub scale: String,
    pub label: String,
    /// From the latest version the patient answered.
    pub bands: Vec<Band>,
    pub mcid: Option<f64>,
    pub higher_is_better: bool,
    pub points: Vec<TrendPoint>,
    /// Latest score against the first, judged by the MCID.
    pub change_from_baseline: Option<Change>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromTrendPoint)]
pub struct TrendPoint {
    pub instance_id: Uuid,
    pub submitted_at: DateTime<Utc>,
    pub score: Option<f64>,
    pub band: Option<String>,
    /// Against the previous scored completion, judged by the MCID.
    pub change: Option<Change>,
}

/// A patient's scores over time, per questionnaire and scale, with bands and the MCID.
#[utoipa::path(get, path = "/patients/{id}/prom-trends", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = Page<Trend>), (status = 404, body = Problem)))]
pub async fn patient_trends(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Page<Trend>>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let rows = sqlx::query!(
        r#"SELECT i.id, i.template_id, t.instrument, v.name, v.version, v.definition AS "definition: Jsonb<Definition>",
                  i.submitted_at AS "submitted_at!", i.scores AS "scores!: Jsonb<Vec<ScaleScore>>"
           FROM prom_instances i
           JOIN prom_template_versions v ON v.id = i.template_version_id
           JOIN prom_templates t ON t.id = i.template_id
           WHERE i.tenant_id = $1 AND i.patient_id = $2 AND i.status = 'completed' AND i.scores IS NOT NULL AND i.deleted_at IS NULL
           ORDER BY i.submitted_at"#,
        tenant_id,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("prom.trends", id, "patient", id)).await?;
    tx.commit().await?;

    let mut by_template: BTreeMap<Uuid, Vec<_>> = BTreeMap::new();
    for row in rows {
        by_template.entry(row.template_id).or_default().push(row);
    }
    let mut trends: Vec<Trend> = by_template
        .into_values()
        .filter_map(|rows| {
            let latest = rows.iter().max_by_key(|r| (r.version, r.submitted_at))?;
            let scales = latest
                .definition
                .scales
                .iter()
                .map(|rule| {
                    let mut points: Vec<TrendPoint> = Vec::new();
                    let mut previous: Option<f64> = None;
                    let mut first: Option<f64> = None;
                    for row in &rows {
                        let Some(scored) = row.scores.iter().find(|s| s.scale == rule.id) else { continue };
                        let change = match (previous, scored.score) {
                            (Some(before), Some(now)) => scoring::change(rule, before, now),
                            _ => None,
                        };
                        if scored.score.is_some() {
                            previous = scored.score;
                            first = first.or(scored.score);
                        }
                        points.push(TrendPoint { instance_id: row.id, submitted_at: row.submitted_at, score: scored.score, band: scored.band.clone(), change });
                    }
                    let change_from_baseline = match (first, previous) {
                        (Some(a), Some(b)) if points.iter().filter(|p| p.score.is_some()).count() > 1 => scoring::change(rule, a, b),
                        _ => None,
                    };
                    ScaleTrend {
                        scale: rule.id.clone(),
                        label: rule.label.clone(),
                        bands: rule.bands.clone(),
                        mcid: rule.mcid,
                        higher_is_better: rule.higher_is_better,
                        points,
                        change_from_baseline,
                    }
                })
                .collect();
            Some(Trend { template_id: latest.template_id, template_name: latest.name.clone(), instrument: latest.instrument.clone(), scales })
        })
        .collect();
    trends.sort_by(|a, b| a.template_name.cmp(&b.template_name));
    Ok(Json(Page { items: trends, next_cursor: None }))
}

/// Completion and outcome per questionnaire across the clinic.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PromTemplateStats)]
pub struct TemplateStats {
    pub template_id: Uuid,
    pub template_name: String,
    pub instrument: Option<String>,
    /// Instances due by now, or completed early.
    pub due: i64,
    pub completed: i64,
    pub overdue: i64,
    /// `completed / due`, 0–1; `None` when nothing is due yet.
    pub completion_rate: Option<f64>,
    /// The first scale's label, which the change figures are about.
    pub scale: Option<String>,
    /// Patients with at least two scored completions.
    pub patients_with_change: i64,
    /// Mean of (latest − first) score over those patients.
    pub average_change: Option<f64>,
    pub higher_is_better: bool,
    /// How many of them improved by at least the MCID.
    pub improved: i64,
}

/// The clinic's completion rates and average change by questionnaire.
#[utoipa::path(get, path = "/prom-analytics", tag = "proms", security(("bearer" = [])),
    responses((status = 200, body = Page<TemplateStats>), (status = 403, body = Problem)))]
pub async fn analytics(State(state): State<AppState>, Clinic(caller): Clinic) -> ApiResult<Json<Page<TemplateStats>>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let templates = sqlx::query!(
        r#"SELECT t.id, v.name, t.instrument, v.definition AS "definition: Jsonb<Definition>",
                  count(i.id) FILTER (WHERE i.due_at <= now() OR i.status = 'completed') AS "due!",
                  count(i.id) FILTER (WHERE i.status = 'completed') AS "completed!",
                  count(i.id) FILTER (WHERE i.status <> 'completed' AND i.due_at < now()) AS "overdue!"
           FROM prom_templates t
           JOIN prom_template_versions v ON v.template_id = t.id AND v.version = t.current_version
           LEFT JOIN prom_instances i ON i.template_id = t.id AND i.deleted_at IS NULL
           WHERE t.tenant_id = $1 AND t.deleted_at IS NULL
           GROUP BY t.id, v.name, t.instrument, v.definition
           ORDER BY v.name"#,
        tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    // language=PostgreSQL
    let completions = sqlx::query!(
        r#"SELECT template_id, patient_id, scores AS "scores!: Jsonb<Vec<ScaleScore>>"
           FROM prom_instances WHERE tenant_id = $1 AND status = 'completed' AND scores IS NOT NULL AND deleted_at IS NULL
           ORDER BY submitted_at"#,
        tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::new("prom.analytics")).await?;
    tx.commit().await?;

    let items = templates
        .into_iter()
        .map(|t| {
            let rule = t.definition.scales.first();
            // Per patient: (first, latest) scores of the first scale.
            let mut spans: BTreeMap<Uuid, (f64, f64, usize)> = BTreeMap::new();
            if let Some(rule) = rule {
                for c in completions.iter().filter(|c| c.template_id == t.id) {
                    let Some(score) = c.scores.iter().find(|s| s.scale == rule.id).and_then(|s| s.score) else { continue };
                    let span = spans.entry(c.patient_id).or_insert((score, score, 0));
                    span.1 = score;
                    span.2 += 1;
                }
            }
            let changed: Vec<(f64, f64)> = spans.values().filter(|s| s.2 > 1).map(|s| (s.0, s.1)).collect();
            let improved = rule.map_or(0, |rule| changed.iter().filter(|(a, b)| scoring::change(rule, *a, *b) == Some(Change::Improved)).count());
            TemplateStats {
                template_id: t.id,
                template_name: t.name,
                instrument: t.instrument,
                due: t.due,
                completed: t.completed,
                overdue: t.overdue,
                completion_rate: (t.due > 0).then(|| (t.completed as f64 / t.due as f64 * 1000.0).round() / 1000.0),
                scale: rule.map(|r| r.label.clone()),
                patients_with_change: changed.len() as i64,
                average_change: (!changed.is_empty())
                    .then(|| (changed.iter().map(|(a, b)| b - a).sum::<f64>() / changed.len() as f64 * 100.0).round() / 100.0),
                higher_is_better: rule.is_some_and(|r| r.higher_is_better),
                improved: improved as i64,
            }
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}
