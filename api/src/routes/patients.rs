//! Patient records: demographics, contact details, medical history and conditions.
//!
//! Clinic staff see every patient of their clinic; a patient sees only their own record (any
//! other id is a 404, exactly like another clinic's patient). Every read and write is written
//! to the access audit log in the same transaction.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use qivr_shared::auth::Role;
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{on_unique_violation, ApiError, ApiResult};
use crate::extract::{Caller, Clinic, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::routes::users::invite;
use crate::state::AppState;
use crate::validate::{clean, normalize_email, patch, patch_text, Checks, LONG_TEXT, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_patients, create_patient))
        .routes(routes!(my_record))
        .routes(routes!(get_patient, update_patient, delete_patient))
        .routes(routes!(invite_patient))
        .routes(routes!(list_conditions, create_condition))
        .routes(routes!(update_condition, delete_condition))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Patient {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub medical_history: Option<String>,
    pub medications: Option<String>,
    pub allergies: Option<String>,
    /// The patient's portal login, once invited.
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PatientSearch {
    /// Matches name, email or phone (case-insensitive, anywhere in the text).
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The clinic's patients by name, optionally filtered.
#[utoipa::path(get, path = "/patients", tag = "patients", params(PatientSearch), security(("bearer" = [])),
    responses((status = 200, body = Page<Patient>), (status = 403, body = Problem)))]
pub async fn list_patients(State(state): State<AppState>, Clinic(caller): Clinic, Query(search): Query<PatientSearch>) -> ApiResult<Json<Page<Patient>>> {
    let page = PageParams { cursor: search.cursor, limit: search.limit };
    let limit = page.limit()?;
    let after: Option<(String, String, Uuid)> = page.cursor()?;
    let (after_last, after_first, after_id) = match after {
        Some((last, first, id)) => (Some(last), Some(first), Some(id)),
        None => (None, None, None),
    };
    let pattern = clean(search.q).map(|q| format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));

    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let patients = sqlx::query_as!(
        Patient,
        r#"SELECT id, first_name, last_name, date_of_birth, sex, email, phone, address,
                  medical_history, medications, allergies, user_id, created_at, updated_at
           FROM patients
           WHERE tenant_id = $1 AND deleted_at IS NULL
             AND ($2::text IS NULL OR first_name || ' ' || last_name ILIKE $2
                  OR last_name || ' ' || first_name ILIKE $2 OR email ILIKE $2 OR phone ILIKE $2)
             AND ($3::text IS NULL OR (lower(last_name), lower(first_name), id) > ($3, $4, $5))
           ORDER BY lower(last_name), lower(first_name), id
           LIMIT $6"#,
        caller.principal.tenant_id,
        pattern,
        after_last,
        after_first,
        after_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    let page = Page::from_rows(patients, limit, |p| (p.last_name.to_lowercase(), p.first_name.to_lowercase(), p.id));
    let listed: Vec<(Uuid, Uuid)> = page.items.iter().map(|p| (p.id, p.id)).collect();
    caller.audit_listed(&mut tx, "patient.list", "patient", &listed).await?;
    tx.commit().await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPatient {
    pub first_name: String,
    pub last_name: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: NaiveDate,
    pub sex: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub medical_history: Option<String>,
    pub medications: Option<String>,
    pub allergies: Option<String>,
}

/// Registers a patient with the clinic (no portal login until invited).
#[utoipa::path(post, path = "/patients", tag = "patients", request_body = NewPatient, security(("bearer" = [])),
    responses((status = 201, body = Patient), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_patient(State(state): State<AppState>, Clinic(caller): Clinic, Json(body): Json<NewPatient>) -> ApiResult<(StatusCode, Json<Patient>)> {
    let email = clean(body.email).map(|e| normalize_email(&e));
    let mut checks = Checks::new();
    checks.required("first_name", &body.first_name, SHORT_TEXT);
    checks.required("last_name", &body.last_name, SHORT_TEXT);
    checks.birth_date("date_of_birth", body.date_of_birth);
    if let Some(email) = &email {
        checks.email("email", email);
    }
    check_details(&mut checks, body.sex.as_deref(), body.phone.as_deref(), body.address.as_deref());
    check_history(&mut checks, body.medical_history.as_deref(), body.medications.as_deref(), body.allergies.as_deref());
    checks.finish()?;

    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let patient = sqlx::query_as!(
        Patient,
        r#"INSERT INTO patients (tenant_id, first_name, last_name, date_of_birth, sex, email, phone,
                                 address, medical_history, medications, allergies)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           RETURNING id, first_name, last_name, date_of_birth, sex, email, phone, address,
                     medical_history, medications, allergies, user_id, created_at, updated_at"#,
        caller.principal.tenant_id,
        body.first_name.trim(),
        body.last_name.trim(),
        body.date_of_birth,
        clean(body.sex),
        email,
        clean(body.phone),
        clean(body.address),
        clean(body.medical_history),
        clean(body.medications),
        clean(body.allergies),
    )
    .fetch_one(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("patient.create", patient.id, "patient", patient.id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(patient)))
}

/// The signed-in patient's own record.
#[utoipa::path(get, path = "/patients/me", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = Patient), (status = 404, body = Problem)))]
pub async fn my_record(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Patient>> {
    let mut tx = caller.begin(&state).await?;
    let id = own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?;
    let patient = fetch(&mut tx, &caller, id).await?;
    caller.audit(&mut tx, Entry::patient("patient.read", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(patient))
}

/// One patient.
#[utoipa::path(get, path = "/patients/{id}", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = Patient), (status = 404, body = Problem)))]
pub async fn get_patient(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Patient>> {
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    let patient = fetch(&mut tx, &caller, id).await?;
    caller.audit(&mut tx, Entry::patient("patient.read", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(patient))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub sex: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub medical_history: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub medications: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub allergies: Option<Option<String>>,
}

/// Changes a patient's record: any field for staff; a patient may change only their own
/// contact details (`phone`, `address`). An explicit `null` clears an optional field.
#[utoipa::path(patch, path = "/patients/{id}", tag = "patients", request_body = PatientChanges, security(("bearer" = [])),
    responses((status = 200, body = Patient), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_patient(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<PatientChanges>) -> ApiResult<Json<Patient>> {
    let mut checks = Checks::new();
    if caller.principal.role == Role::Patient {
        let clinical = [
            ("first_name", body.first_name.is_some()),
            ("last_name", body.last_name.is_some()),
            ("date_of_birth", body.date_of_birth.is_some()),
            ("sex", body.sex.is_some()),
            ("email", body.email.is_some()),
            ("medical_history", body.medical_history.is_some()),
            ("medications", body.medications.is_some()),
            ("allergies", body.allergies.is_some()),
        ];
        if let Some((field, _)) = clinical.iter().find(|(_, set)| *set) {
            return Err(ApiError::Forbidden(format!("{field}: patients may change only their phone and address; ask the clinic")));
        }
    }
    if let Some(name) = &body.first_name {
        checks.required("first_name", name, SHORT_TEXT);
    }
    if let Some(name) = &body.last_name {
        checks.required("last_name", name, SHORT_TEXT);
    }
    if let Some(date) = body.date_of_birth {
        checks.birth_date("date_of_birth", date);
    }
    let email = body.email.map(|e| clean(e).map(|e| normalize_email(&e)));
    if let Some(Some(email)) = &email {
        checks.email("email", email);
    }
    let flat = |v: &Option<Option<String>>| v.as_ref().and_then(|v| v.as_deref().map(str::to_owned));
    check_details(&mut checks, flat(&body.sex).as_deref(), flat(&body.phone).as_deref(), flat(&body.address).as_deref());
    check_history(&mut checks, flat(&body.medical_history).as_deref(), flat(&body.medications).as_deref(), flat(&body.allergies).as_deref());
    checks.finish()?;

    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // `set_x` says whether the field was sent; the value may be NULL to clear it.
    let (set_sex, sex) = patch_text(body.sex);
    let (set_email, email) = patch_text(email);
    let (set_phone, phone) = patch_text(body.phone);
    let (set_address, address) = patch_text(body.address);
    let (set_history, history) = patch_text(body.medical_history);
    let (set_medications, medications) = patch_text(body.medications);
    let (set_allergies, allergies) = patch_text(body.allergies);
    // language=PostgreSQL
    let patient = sqlx::query_as!(
        Patient,
        r#"UPDATE patients SET
               first_name = coalesce($3, first_name),
               last_name = coalesce($4, last_name),
               date_of_birth = coalesce($5, date_of_birth),
               sex = CASE WHEN $6 THEN $7 ELSE sex END,
               email = CASE WHEN $8 THEN $9 ELSE email END,
               phone = CASE WHEN $10 THEN $11 ELSE phone END,
               address = CASE WHEN $12 THEN $13 ELSE address END,
               medical_history = CASE WHEN $14 THEN $15 ELSE medical_history END,
               medications = CASE WHEN $16 THEN $17 ELSE medications END,
               allergies = CASE WHEN $18 THEN $19 ELSE allergies END
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
           RETURNING id, first_name, last_name, date_of_birth, sex, email, phone, address,
                     medical_history, medications, allergies, user_id, created_at, updated_at"#,
        caller.principal.tenant_id,
        id,
        body.first_name.as_deref().map(str::trim),
        body.last_name.as_deref().map(str::trim),
        body.date_of_birth,
        set_sex,
        sex,
        set_email,
        email,
        set_phone,
        phone,
        set_address,
        address,
        set_history,
        history,
        set_medications,
        medications,
        set_allergies,
        allergies,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("patient"))?;
    caller.audit(&mut tx, Entry::patient("patient.update", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(patient))
}

/// Soft-deletes a patient; their record stays in the database for the audit trail.
#[utoipa::path(delete, path = "/patients/{id}", tag = "patients", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_patient(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let deleted = sqlx::query!(
        "UPDATE patients SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        caller.principal.tenant_id,
        id
    )
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::NotFound("patient"));
    }
    caller.audit(&mut tx, Entry::patient("patient.delete", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives the patient a portal login (at the email on their record) and emails them an
/// invitation to choose a password. Sending again re-invites until they have accepted.
#[utoipa::path(post, path = "/patients/{id}/invite", tag = "patients", security(("bearer" = [])),
    responses((status = 202), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn invite_patient(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let patient = sqlx::query!(
        r#"SELECT p.first_name, p.last_name, p.email, p.user_id, u.password_hash IS NOT NULL AS "has_password?"
           FROM patients p LEFT JOIN users u ON u.id = p.user_id
           WHERE p.tenant_id = $1 AND p.id = $2 AND p.deleted_at IS NULL FOR UPDATE OF p"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("patient"))?;
    let email = patient.email.ok_or_else(|| ApiError::invalid("email", "the patient has no email address on record"))?;
    if patient.has_password == Some(true) {
        return Err(ApiError::Conflict { field: None, detail: "the patient already has a portal login".into() });
    }
    let name = format!("{} {}", patient.first_name, patient.last_name);
    let user_id = match patient.user_id {
        Some(user_id) => user_id,
        None => {
            // language=PostgreSQL
            let user_id = sqlx::query_scalar!(
                "INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, $3, 'patient') RETURNING id",
                tenant_id,
                email,
                name,
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(on_unique_violation("email", "another login already uses this email"))?;
            // language=PostgreSQL
            sqlx::query!("UPDATE patients SET user_id = $3 WHERE tenant_id = $1 AND id = $2", tenant_id, id, user_id)
                .execute(&mut *tx)
                .await?;
            user_id
        }
    };
    invite(&state, &mut tx, &caller, user_id, &email, &name, "portal").await?;
    caller.audit(&mut tx, Entry::patient("patient.invite", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Condition {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub name: String,
    /// `active` or `resolved`.
    pub status: String,
    pub onset_date: Option<NaiveDate>,
    pub resolved_date: Option<NaiveDate>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A patient's conditions, active first.
#[utoipa::path(get, path = "/patients/{id}/conditions", tag = "patients", security(("bearer" = [])),
    responses((status = 200, body = Page<Condition>), (status = 404, body = Problem)))]
pub async fn list_conditions(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Page<Condition>>> {
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let conditions = sqlx::query_as!(
        Condition,
        "SELECT id, patient_id, name, status, onset_date, resolved_date, notes, created_at, updated_at
         FROM conditions WHERE tenant_id = $1 AND patient_id = $2 AND deleted_at IS NULL
         ORDER BY status = 'resolved', onset_date DESC NULLS LAST, created_at DESC",
        caller.principal.tenant_id,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("condition.list", id, "patient", id)).await?;
    tx.commit().await?;
    Ok(Json(Page { items: conditions, next_cursor: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCondition {
    pub name: String,
    /// `active` (default) or `resolved`.
    pub status: Option<String>,
    pub onset_date: Option<NaiveDate>,
    pub resolved_date: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// Records a condition.
#[utoipa::path(post, path = "/patients/{id}/conditions", tag = "patients", request_body = NewCondition, security(("bearer" = [])),
    responses((status = 201, body = Condition), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_condition(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>, Json(body): Json<NewCondition>) -> ApiResult<(StatusCode, Json<Condition>)> {
    let status = body.status.unwrap_or_else(|| "active".into());
    let mut checks = Checks::new();
    checks.required("name", &body.name, SHORT_TEXT);
    check_condition(&mut checks, &status, body.onset_date, body.resolved_date, body.notes.as_deref());
    checks.finish()?;

    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let condition = sqlx::query_as!(
        Condition,
        "INSERT INTO conditions (tenant_id, patient_id, name, status, onset_date, resolved_date, notes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, patient_id, name, status, onset_date, resolved_date, notes, created_at, updated_at",
        caller.principal.tenant_id,
        id,
        body.name.trim(),
        status,
        body.onset_date,
        body.resolved_date,
        clean(body.notes),
    )
    .fetch_one(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("condition.create", id, "condition", condition.id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(condition)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionChanges {
    pub name: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<NaiveDate>)]
    pub onset_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<NaiveDate>)]
    pub resolved_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// Changes a condition, e.g. marks it resolved.
#[utoipa::path(patch, path = "/patients/{id}/conditions/{condition_id}", tag = "patients", request_body = ConditionChanges, security(("bearer" = [])),
    responses((status = 200, body = Condition), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_condition(State(state): State<AppState>, Clinic(caller): Clinic, Path((id, condition_id)): Path<(Uuid, Uuid)>, Json(body): Json<ConditionChanges>) -> ApiResult<Json<Condition>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let current = sqlx::query!(
        "SELECT status, onset_date, resolved_date FROM conditions
         WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND deleted_at IS NULL FOR UPDATE",
        caller.principal.tenant_id,
        id,
        condition_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("condition"))?;
    let status = body.status.clone().unwrap_or(current.status);
    let onset = body.onset_date.unwrap_or(current.onset_date);
    let resolved = match body.resolved_date {
        Some(date) => date,
        // Resolving without a date means resolved today; reactivating clears it.
        None if status == "resolved" => current.resolved_date.or_else(|| Some(Utc::now().date_naive())),
        None => None,
    };
    let (set_notes, notes) = patch_text(body.notes);
    let mut checks = Checks::new();
    if let Some(name) = &body.name {
        checks.required("name", name, SHORT_TEXT);
    }
    check_condition(&mut checks, &status, onset, resolved, notes.as_deref());
    checks.finish()?;

    // language=PostgreSQL
    let condition = sqlx::query_as!(
        Condition,
        "UPDATE conditions SET name = coalesce($4, name), status = $5, onset_date = $6, resolved_date = $7,
                               notes = CASE WHEN $8 THEN $9 ELSE notes END
         WHERE tenant_id = $1 AND patient_id = $2 AND id = $3
         RETURNING id, patient_id, name, status, onset_date, resolved_date, notes, created_at, updated_at",
        caller.principal.tenant_id,
        id,
        condition_id,
        body.name.as_deref().map(str::trim),
        status,
        onset,
        resolved,
        set_notes,
        notes,
    )
    .fetch_one(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("condition.update", id, "condition", condition_id)).await?;
    tx.commit().await?;
    Ok(Json(condition))
}

/// Removes a condition recorded in error (soft delete).
#[utoipa::path(delete, path = "/patients/{id}/conditions/{condition_id}", tag = "patients", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_condition(State(state): State<AppState>, Clinic(caller): Clinic, Path((id, condition_id)): Path<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let deleted = sqlx::query!(
        "UPDATE conditions SET deleted_at = now()
         WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND deleted_at IS NULL",
        caller.principal.tenant_id,
        id,
        condition_id
    )
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::NotFound("condition"));
    }
    caller.audit(&mut tx, Entry::patient("condition.delete", id, "condition", condition_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own patient record id, if they are a patient with one.
pub async fn own_patient_id(tx: &mut Tx, caller: &Caller) -> sqlx::Result<Option<Uuid>> {
    if caller.principal.role != Role::Patient {
        return Ok(None);
    }
    // language=PostgreSQL
    sqlx::query_scalar!(
        "SELECT id FROM patients WHERE tenant_id = $1 AND user_id = $2 AND deleted_at IS NULL",
        caller.principal.tenant_id,
        caller.principal.user_id
    )
    .fetch_optional(&mut **tx)
    .await
}

/// Staff may reach any patient of their clinic; a patient only their own record. Anything
/// else, including another clinic's patient, is a 404.
pub async fn ensure_visible(tx: &mut Tx, caller: &Caller, patient_id: Uuid) -> ApiResult<()> {
    let visible = if caller.principal.role.is_clinic() {
        // language=PostgreSQL
        sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM patients WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL) AS "exists!""#,
            caller.principal.tenant_id,
            patient_id
        )
        .fetch_one(&mut **tx)
        .await?
    } else {
        own_patient_id(tx, caller).await? == Some(patient_id)
    };
    if visible {
        Ok(())
    } else {
        Err(ApiError::NotFound("patient"))
    }
}

async fn fetch(tx: &mut Tx, caller: &Caller, id: Uuid) -> ApiResult<Patient> {
    // language=PostgreSQL
    sqlx::query_as!(
        Patient,
        r#"SELECT id, first_name, last_name, date_of_birth, sex, email, phone, address,
                  medical_history, medications, allergies, user_id, created_at, updated_at
           FROM patients WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL"#,
        caller.principal.tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("patient"))
}

fn check_details(checks: &mut Checks, sex: Option<&str>, phone: Option<&str>, address: Option<&str>) {
    checks.optional("sex", sex, 50);
    checks.optional("phone", phone, 50);
    checks.optional("address", address, 500);
}

fn check_history(checks: &mut Checks, history: Option<&str>, medications: Option<&str>, allergies: Option<&str>) {
    checks.optional("medical_history", history, LONG_TEXT);
    checks.optional("medications", medications, LONG_TEXT);
    checks.optional("allergies", allergies, LONG_TEXT);
}

fn check_condition(checks: &mut Checks, status: &str, onset: Option<NaiveDate>, resolved: Option<NaiveDate>, notes: Option<&str>) {
    if status != "active" && status != "resolved" {
        checks.fail("status", "must be active or resolved");
    }
    if let (Some(onset), Some(resolved)) = (onset, resolved) {
        if resolved < onset {
            checks.fail("resolved_date", "must not be before onset_date");
        }
    }
    checks.optional("notes", notes, LONG_TEXT);
}
