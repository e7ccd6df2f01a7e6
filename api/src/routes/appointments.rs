//! Appointments: staff schedule patients with providers; patients see theirs and, as the
//! clinic's self-booking setting allows, request or book and cancel.
//!
//! A provider is never double-booked: an exclusion constraint over (provider, time range)
//! decides, so two racing requests cannot both win; the loser gets a 409. Status moves along
//! `requested → scheduled → confirmed → checked_in → completed`, with `cancelled` and
//! `no_show` as exits. Every change is an event on `appointments` (all staff) and on the
//! patient's `user:<id>`, and queues an email to the patient.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qivr_shared::auth::Role;
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use qivr_workers::appointments::{Notice, What};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Staged};
use crate::extract::{Admin, Caller, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::routes::conversations::post_system_message;
use crate::routes::patients::own_patient_id;
use crate::state::AppState;
use crate::validate::{clean, patch, patch_text, Checks, LONG_TEXT, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_appointments, create_appointment))
        .routes(routes!(get_appointment, update_appointment))
        .routes(routes!(get_settings, update_settings))
}

/// Longest appointment we accept.
const MAX_HOURS: i64 = 12;

fn transition_allowed(from: &str, to: &str) -> bool {
    from == to
        || matches!(
            (from, to),
            ("requested", "scheduled" | "cancelled")
                | ("scheduled", "confirmed" | "checked_in" | "cancelled" | "no_show")
                | ("confirmed", "checked_in" | "cancelled" | "no_show")
                | ("checked_in", "completed")
        )
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Appointment {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub provider_id: Uuid,
    pub provider_name: String,
    pub evaluation_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// `initial`, `follow_up`, `review`, `telehealth`, …
    pub kind: String,
    pub location: Option<String>,
    pub video_url: Option<String>,
    pub notes: Option<String>,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AppointmentFilter {
    /// Appointments ending after this instant (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Appointments starting before this instant.
    pub to: Option<DateTime<Utc>>,
    pub provider_id: Option<Uuid>,
    /// Staff only; patients always see their own.
    pub patient_id: Option<Uuid>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Appointments by start time: the clinic's, or a patient's own.
#[utoipa::path(get, path = "/appointments", tag = "appointments", params(AppointmentFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Appointment>), (status = 404, body = Problem)))]
pub async fn list_appointments(State(state): State<AppState>, caller: Caller, Query(filter): Query<AppointmentFilter>) -> ApiResult<Json<Page<Appointment>>> {
    let page = PageParams { cursor: filter.cursor, limit: filter.limit };
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let (after_at, after_id) = after.unzip();
    let mut tx = caller.begin(&state).await?;
    let patient_id = if caller.principal.role.is_clinic() {
        filter.patient_id
    } else {
        Some(own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?)
    };
    // language=PostgreSQL
    let appointments = sqlx::query_as!(
        Appointment,
        r#"SELECT a.id, a.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", a.provider_id,
                  v.name AS provider_name, a.evaluation_id, a.starts_at, a.ends_at, a.kind, a.location,
                  a.video_url, a.notes, a.status, a.cancel_reason, a.created_at, a.updated_at
           FROM appointments a JOIN patients p ON p.id = a.patient_id JOIN providers v ON v.id = a.provider_id
           WHERE a.tenant_id = $1 AND a.deleted_at IS NULL
             AND ($2::timestamptz IS NULL OR a.ends_at > $2)
             AND ($3::timestamptz IS NULL OR a.starts_at < $3)
             AND ($4::uuid IS NULL OR a.provider_id = $4)
             AND ($5::uuid IS NULL OR a.patient_id = $5)
             AND ($6::text IS NULL OR a.status = $6)
             AND ($7::timestamptz IS NULL OR (a.starts_at, a.id) > ($7, $8))
           ORDER BY a.starts_at, a.id LIMIT $9"#,
        caller.principal.tenant_id,
        filter.from,
        filter.to,
        filter.provider_id,
        patient_id,
        filter.status,
        after_at,
        after_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    let page = Page::from_rows(appointments, limit, |a| (a.starts_at, a.id));
    let listed: Vec<(Uuid, Uuid)> = page.items.iter().map(|a| (a.patient_id, a.id)).collect();
    caller.audit_listed(&mut tx, "appointment.list", "appointment", &listed).await?;
    tx.commit().await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAppointment {
    /// Staff name the patient; patients book for themselves.
    pub patient_id: Option<Uuid>,
    pub provider_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub kind: Option<String>,
    pub location: Option<String>,
    pub video_url: Option<String>,
    pub notes: Option<String>,
    /// The evaluation this appointment follows from; it moves to `scheduled`.
    pub evaluation_id: Option<Uuid>,
}

/// One appointment: a patient's own, or (staff) any of the clinic's.
#[utoipa::path(get, path = "/appointments/{id}", tag = "appointments", security(("bearer" = [])),
    responses((status = 200, body = Appointment), (status = 404, body = Problem)))]
pub async fn get_appointment(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Appointment>> {
    let mut tx = caller.begin(&state).await?;
    let appointment = fetch(&mut tx, caller.principal.tenant_id, id).await?;
    if caller.principal.role == Role::Patient && own_patient_id(&mut tx, &caller).await? != Some(appointment.patient_id) {
        return Err(ApiError::NotFound("appointment"));
    }
    caller.audit(&mut tx, Entry::patient("appointment.read", appointment.patient_id, "appointment", id)).await?;
    tx.commit().await?;
    Ok(Json(appointment))
}

/// Books an appointment. Patients may, as the clinic's self-booking setting allows: a
/// request (staff confirm it) or a direct booking within the provider's working hours.
#[utoipa::path(post, path = "/appointments", tag = "appointments", request_body = NewAppointment, security(("bearer" = [])),
    responses((status = 201, body = Appointment), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, description = "the provider is already booked then", body = Problem), (status = 422, body = Problem)))]
pub async fn create_appointment(State(state): State<AppState>, caller: Caller, Json(body): Json<NewAppointment>) -> ApiResult<(StatusCode, Json<Appointment>)> {
    let is_patient = caller.principal.role == Role::Patient;
    let mut checks = Checks::new();
    check_times(&mut checks, body.starts_at, body.ends_at);
    if body.starts_at < Utc::now() - chrono::Duration::hours(1) && is_patient {
        checks.fail("starts_at", "must be in the future");
    }
    checks.optional("kind", body.kind.as_deref(), 50);
    checks.optional("location", body.location.as_deref(), SHORT_TEXT);
    checks.optional("video_url", body.video_url.as_deref(), 500);
    checks.optional("notes", body.notes.as_deref(), LONG_TEXT);
    match (is_patient, body.patient_id) {
        (true, Some(_)) => checks.fail("patient_id", "patients book for themselves"),
        (false, None) => checks.fail("patient_id", "required when staff book"),
        _ => {}
    }
    if is_patient && body.evaluation_id.is_some() {
        checks.fail("evaluation_id", "set by the clinic");
    }
    checks.finish()?;

    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let patient_id = match body.patient_id {
        Some(id) => {
            // language=PostgreSQL
            sqlx::query_scalar!("SELECT id FROM patients WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id, id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(ApiError::NotFound("patient"))?
        }
        None => own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?,
    };
    // language=PostgreSQL
    let provider = sqlx::query!(
        "SELECT active, working_hours FROM providers WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        tenant_id,
        body.provider_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::invalid("provider_id", "no such provider"))?;
    if !provider.active {
        return Err(ApiError::invalid("provider_id", "this provider takes no new bookings"));
    }
    let status = if is_patient {
        let settings = settings(&mut tx, tenant_id).await?;
        match settings.self_booking.as_str() {
            "off" => return Err(ApiError::Forbidden("this clinic does not take bookings online; please call the clinic".into())),
            "direct" => {
                let hours: Vec<super::providers::WorkingHours> = serde_json::from_value(provider.working_hours).unwrap_or_default();
                if !within_hours(&hours, body.starts_at, body.ends_at, &settings.timezone) {
                    return Err(ApiError::invalid("starts_at", "outside the provider's working hours"));
                }
                "scheduled"
            }
            _ => "requested",
        }
    } else {
        "scheduled"
    };
    if let Some(evaluation_id) = body.evaluation_id {
        // language=PostgreSQL
        let evaluation = sqlx::query_scalar!(
            "SELECT patient_id FROM evaluations WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
            tenant_id,
            evaluation_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if evaluation != Some(patient_id) {
            return Err(ApiError::invalid("evaluation_id", "no such evaluation for this patient"));
        }
    }

    // language=PostgreSQL
    let id = sqlx::query_scalar!(
        "INSERT INTO appointments (tenant_id, patient_id, provider_id, evaluation_id, starts_at, ends_at, kind,
                                   location, video_url, notes, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        tenant_id,
        patient_id,
        body.provider_id,
        body.evaluation_id,
        body.starts_at,
        body.ends_at,
        clean(body.kind).unwrap_or_else(|| "follow_up".into()),
        clean(body.location),
        clean(body.video_url),
        clean(body.notes),
        status,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(double_booking)?;
    let mut staged = Vec::new();
    if let Some(evaluation_id) = body.evaluation_id {
        // language=PostgreSQL
        let scheduled = sqlx::query!(
            "UPDATE evaluations SET status = 'scheduled' WHERE tenant_id = $1 AND id = $2 AND status = 'triaged'",
            tenant_id,
            evaluation_id
        )
        .execute(&mut *tx)
        .await?;
        if scheduled.rows_affected() > 0 {
            staged.extend(super::evaluations::announce(&mut tx, tenant_id, evaluation_id, "evaluation.updated").await?);
        }
    }
    caller.audit(&mut tx, Entry::patient("appointment.create", patient_id, "appointment", id)).await?;
    let appointment = fetch(&mut tx, tenant_id, id).await?;
    let notice = (appointment.status != "requested").then_some(What::Booked);
    staged.extend(announce(&mut tx, &caller, &appointment, "appointment.created", is_patient, notice).await?);
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((StatusCode::CREATED, Json(appointment)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentChanges {
    pub status: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub provider_id: Option<Uuid>,
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub video_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub cancel_reason: Option<String>,
}

/// Reschedules, changes status, or cancels. Patients may only cancel their own upcoming
/// appointments (`{"status": "cancelled"}`).
#[utoipa::path(patch, path = "/appointments/{id}", tag = "appointments", request_body = AppointmentChanges, security(("bearer" = [])),
    responses((status = 200, body = Appointment), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_appointment(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<AppointmentChanges>) -> ApiResult<Json<Appointment>> {
    let tenant_id = caller.principal.tenant_id;
    let is_patient = caller.principal.role == Role::Patient;
    let mut tx = caller.begin(&state).await?;
    let current = fetch(&mut tx, tenant_id, id).await?;
    if is_patient && own_patient_id(&mut tx, &caller).await? != Some(current.patient_id) {
        return Err(ApiError::NotFound("appointment"));
    }
    if is_patient {
        let only_cancel = body.status.as_deref() == Some("cancelled")
            && body.starts_at.is_none() && body.ends_at.is_none() && body.provider_id.is_none()
            && body.kind.is_none() && body.location.is_none() && body.video_url.is_none() && body.notes.is_none();
        if !only_cancel {
            return Err(ApiError::Forbidden("patients can only cancel; ask the clinic to change an appointment".into()));
        }
    }
    let status = body.status.clone().unwrap_or_else(|| current.status.clone());
    let starts_at = body.starts_at.unwrap_or(current.starts_at);
    let ends_at = body.ends_at.unwrap_or(current.ends_at);
    let mut checks = Checks::new();
    if !transition_allowed(&current.status, &status) {
        checks.fail("status", format!("cannot go from {} to {status}", current.status));
    }
    check_times(&mut checks, starts_at, ends_at);
    checks.optional("cancel_reason", body.cancel_reason.as_deref(), SHORT_TEXT);
    checks.optional("kind", body.kind.as_deref(), 50);
    let (set_location, location) = patch_text(body.location);
    let (set_video, video_url) = patch_text(body.video_url);
    let (set_notes, notes) = patch_text(body.notes);
    checks.optional("notes", notes.as_deref(), LONG_TEXT);
    checks.finish()?;

    // language=PostgreSQL
    sqlx::query!(
        "UPDATE appointments SET status = $3, starts_at = $4, ends_at = $5, provider_id = coalesce($6, provider_id),
                kind = coalesce($7, kind), location = CASE WHEN $8 THEN $9 ELSE location END,
                video_url = CASE WHEN $10 THEN $11 ELSE video_url END, notes = CASE WHEN $12 THEN $13 ELSE notes END,
                cancel_reason = CASE WHEN $3 = 'cancelled' THEN coalesce($14, cancel_reason) ELSE cancel_reason END
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        status,
        starts_at,
        ends_at,
        body.provider_id,
        clean(body.kind),
        set_location,
        location,
        set_video,
        video_url,
        set_notes,
        notes,
        clean(body.cancel_reason),
    )
    .execute(&mut *tx)
    .await
    .map_err(double_booking)?;
    caller.audit(&mut tx, Entry::patient("appointment.update", current.patient_id, "appointment", id)).await?;
    let appointment = fetch(&mut tx, tenant_id, id).await?;
    let cancelled = appointment.status == "cancelled" && current.status != "cancelled";
    let kind = if cancelled { "appointment.cancelled" } else { "appointment.updated" };
    let moved = appointment.starts_at != current.starts_at || appointment.provider_id != current.provider_id;
    let notice = if cancelled {
        Some(What::Cancelled)
    } else if current.status == "requested" && appointment.status == "scheduled" {
        Some(What::Booked)
    } else {
        moved.then_some(What::Changed)
    };
    let staged = announce(&mut tx, &caller, &appointment, kind, is_patient, notice).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(Json(appointment))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClinicSettings {
    /// Patients booking online: `off`, `request` (staff confirm) or `direct` (into free slots
    /// within providers' working hours).
    pub self_booking: String,
    /// Hours before an appointment that its reminder goes out.
    pub reminder_hours: i32,
    /// IANA time zone of providers' working hours, e.g. `Australia/Sydney`.
    pub timezone: String,
}

/// The clinic's scheduling settings.
#[utoipa::path(get, path = "/clinic/settings", tag = "appointments", security(("bearer" = [])),
    responses((status = 200, body = ClinicSettings)))]
pub async fn get_settings(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<ClinicSettings>> {
    let mut tx = caller.begin(&state).await?;
    let settings = settings(&mut tx, caller.principal.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(settings))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChanges {
    pub self_booking: Option<String>,
    pub reminder_hours: Option<i32>,
    pub timezone: Option<String>,
}

/// Changes the clinic's scheduling settings.
#[utoipa::path(patch, path = "/clinic/settings", tag = "appointments", request_body = SettingsChanges, security(("bearer" = [])),
    responses((status = 200, body = ClinicSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_settings(State(state): State<AppState>, Admin(caller): Admin, Json(body): Json<SettingsChanges>) -> ApiResult<Json<ClinicSettings>> {
    let mut checks = Checks::new();
    if let Some(mode) = body.self_booking.as_deref().filter(|m| !["off", "request", "direct"].contains(m)) {
        checks.fail("self_booking", format!("{mode:?} is not one of off, request, direct"));
    }
    if body.reminder_hours.is_some_and(|h| !(1..=336).contains(&h)) {
        checks.fail("reminder_hours", "must be between 1 and 336");
    }
    if let Some(zone) = &body.timezone {
        if zone.parse::<chrono_tz::Tz>().is_err() {
            checks.fail("timezone", "must be an IANA time zone such as Australia/Sydney");
        }
    }
    checks.finish()?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    settings(&mut tx, tenant_id).await?;
    // language=PostgreSQL
    let updated = sqlx::query_as!(
        ClinicSettings,
        "UPDATE clinic_settings SET self_booking = coalesce($2, self_booking), reminder_hours = coalesce($3, reminder_hours),
                timezone = coalesce($4, timezone)
         WHERE tenant_id = $1 RETURNING self_booking, reminder_hours, timezone",
        tenant_id,
        body.self_booking,
        body.reminder_hours,
        body.timezone,
    )
    .fetch_one(&mut *tx)
    .await?;
    let data = serde_json::to_value(&updated).expect("settings serialize");
    caller.audit(&mut tx, Entry::new("clinic.settings_update").detail(data.clone())).await?;
    let staged = events::stage(&mut tx, tenant_id, "appointments".into(), "clinic.settings_updated", data).await?;
    tx.commit().await?;
    state.events.publish(vec![staged]).await;
    Ok(Json(updated))
}

/// The clinic's settings, created with the defaults on first use.
async fn settings(tx: &mut Tx, tenant_id: Uuid) -> sqlx::Result<ClinicSettings> {
    // language=PostgreSQL
    sqlx::query!("INSERT INTO clinic_settings (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING", tenant_id)
        .execute(&mut **tx)
        .await?;
    // language=PostgreSQL
    sqlx::query_as!(ClinicSettings, "SELECT self_booking, reminder_hours, timezone FROM clinic_settings WHERE tenant_id = $1", tenant_id)
        .fetch_one(&mut **tx)
        .await
}

/// Stages the events of an appointment change and, when `notice` says what the patient should
/// be told, queues their email (unless they turned these off) and posts it as a system message
/// in their open conversation. `by_patient` tells staff dashboards to alert: the patient booked
/// or cancelled themselves.
async fn announce(tx: &mut Tx, caller: &Caller, appointment: &Appointment, kind: &str, by_patient: bool, notice: Option<What>) -> ApiResult<Vec<Staged>> {
    let tenant_id = caller.principal.tenant_id;
    let mut data = serde_json::to_value(appointment).expect("appointments serialize");
    data["by_patient"] = by_patient.into();
    let mut staged = vec![events::stage(tx, tenant_id, "appointments".into(), kind, data.clone()).await?];
    // language=PostgreSQL
    let patient = sqlx::query!(
        r#"SELECT p.user_id, p.email, p.first_name, t.name AS clinic, coalesce(s.timezone, 'UTC') AS "timezone!",
                  EXISTS (SELECT 1 FROM notification_preferences n WHERE n.tenant_id = p.tenant_id AND n.user_id = p.user_id
                          AND n.kind = $3 AND NOT n.email) AS "opted_out!"
           FROM patients p JOIN tenants t ON t.id = p.tenant_id LEFT JOIN clinic_settings s ON s.tenant_id = p.tenant_id
           WHERE p.tenant_id = $1 AND p.id = $2"#,
        tenant_id,
        appointment.patient_id,
        What::Booked.kind(),
    )
    .fetch_one(&mut **tx)
    .await?;
    if let Some(user_id) = patient.user_id {
        data.as_object_mut().expect("an object").remove("notes");
        staged.push(events::stage(tx, tenant_id, format!("user:{user_id}"), kind, data).await?);
    }
    let Some(what) = notice else { return Ok(staged) };
    let notice = Notice {
        first_name: &patient.first_name,
        provider: &appointment.provider_name,
        clinic: &patient.clinic,
        starts_at: appointment.starts_at,
        timezone: &patient.timezone,
    };
    if let (false, Some(to)) = (patient.opted_out, &patient.email) {
        let (subject, body) = notice.compose(what);
        // language=PostgreSQL
        sqlx::query!(
            "INSERT INTO emails (tenant_id, idempotency_key, to_address, subject, body_text, kind)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
            tenant_id,
            what.idempotency_key(appointment.id, appointment.updated_at),
            to,
            subject,
            body,
            what.kind(),
        )
        .execute(&mut **tx)
        .await?;
    }
    staged.extend(post_system_message(tx, caller, appointment.patient_id, &notice.headline(what)).await?);
    Ok(staged)
}

async fn fetch(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> ApiResult<Appointment> {
    // language=PostgreSQL
    sqlx::query_as!(
        Appointment,
        r#"SELECT a.id, a.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", a.provider_id,
                  v.name AS provider_name, a.evaluation_id, a.starts_at, a.ends_at, a.kind, a.location,
                  a.video_url, a.notes, a.status, a.cancel_reason, a.created_at, a.updated_at
           FROM appointments a JOIN patients p ON p.id = a.patient_id JOIN providers v ON v.id = a.provider_id
           WHERE a.tenant_id = $1 AND a.id = $2 AND a.deleted_at IS NULL"#,
        tenant_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("appointment"))
}

/// The exclusion constraint's verdict as a 409 naming the time.
fn double_booking(error: sqlx::Error) -> ApiError {
    match &error {
        sqlx::Error::Database(db) if db.constraint() == Some("appointments_no_double_booking") => ApiError::Conflict {
            field: Some("starts_at"),
            detail: "the provider already has an appointment at that time".into(),
        },
        _ => error.into(),
    }
}

fn check_times(checks: &mut Checks, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) {
    if ends_at <= starts_at {
        checks.fail("ends_at", "must be after starts_at");
    } else if ends_at - starts_at > chrono::Duration::hours(MAX_HOURS) {
        checks.fail("ends_at", format!("appointments last at most {MAX_HOURS} hours"));
    }
}

/// Whether the whole appointment falls inside one of the provider's weekly blocks, read in
/// the clinic's time zone.
fn within_hours(hours: &[super::providers::WorkingHours], starts_at: DateTime<Utc>, ends_at: DateTime<Utc>, timezone: &str) -> bool {
    use chrono::Datelike;
    let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let (start, end) = (starts_at.with_timezone(&zone), ends_at.with_timezone(&zone));
    start.date_naive() == end.date_naive()
        && hours.iter().any(|block| {
            u32::from(block.weekday) == start.weekday().number_from_monday()
                && block.start <= start.time()
                && end.time() <= block.end
        })
}


#[cfg(test)]
mod tests {
    use chrono::{NaiveTime, TimeZone};

    use super::*;
    use crate::routes::providers::WorkingHours;

    #[test]
    fn appointments_move_forward_and_only_open_ones_cancel() {
        assert!(transition_allowed("requested", "scheduled"));
        assert!(transition_allowed("scheduled", "confirmed"));
        assert!(transition_allowed("confirmed", "checked_in"));
        assert!(transition_allowed("checked_in", "completed"));
        assert!(transition_allowed("scheduled", "cancelled"));
        assert!(!transition_allowed("completed", "cancelled"));
        assert!(!transition_allowed("cancelled", "scheduled"));
        assert!(!transition_allowed("scheduled", "completed"));
    }

    #[test]
    fn working_hours_are_read_in_the_clinics_time_zone() {
        let monday_9_to_5 = [WorkingHours { weekday: 1, start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(), end: NaiveTime::from_hms_opt(17, 0, 0).unwrap() }];
        // Monday 2026-11-30 10:00 in Sydney (UTC+11) is Sunday 23:00 UTC.
        let start = Utc.with_ymd_and_hms(2026, 11, 29, 23, 0, 0).unwrap();
        let end = start + chrono::Duration::minutes(45);
        assert!(within_hours(&monday_9_to_5, start, end, "Australia/Sydney"));
        assert!(!within_hours(&monday_9_to_5, start, end, "UTC"));
        let late = Utc.with_ymd_and_hms(2026, 11, 30, 5, 30, 0).unwrap(); // 16:30 Sydney
        assert!(!within_hours(&monday_9_to_5, late, late + chrono::Duration::hours(1), "Australia/Sydney"));
    }
}
