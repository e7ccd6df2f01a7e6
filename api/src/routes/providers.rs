//! Providers: the clinicians appointments are booked with. They are records, not logins;
//! admins manage them, everyone in the clinic (patients booking too) can list them.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveTime, Utc};
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::events::{self, Staged};
use crate::extract::{Admin, Caller, Json, Path, Query};
use crate::pagination::Page;
use crate::state::AppState;
use crate::validate::{clean, patch, patch_text, Checks, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers, create_provider))
        .routes(routes!(update_provider))
        .routes(routes!(busy_times))
}

/// One weekly block of working time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkingHours {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// `HH:MM`, in the clinic's time zone.
    #[schema(value_type = String, example = "09:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "17:00")]
    pub end: NaiveTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    pub id: Uuid,
    pub name: String,
    pub specialty: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    pub working_hours: Vec<WorkingHours>,
    pub created_at: DateTime<Utc>,
}

struct ProviderRow {
    id: Uuid,
    name: String,
    specialty: Option<String>,
    email: Option<String>,
    active: bool,
    working_hours: serde_json::Value,
    created_at: DateTime<Utc>,
}

impl From<ProviderRow> for Provider {
    fn from(row: ProviderRow) -> Self {
        Provider {
            id: row.id,
            name: row.name,
            specialty: row.specialty,
            email: row.email,
            active: row.active,
            working_hours: serde_json::from_value(row.working_hours).unwrap_or_default(),
            created_at: row.created_at,
        }
    }
}

/// The clinic's providers, active first, by name.
#[utoipa::path(get, path = "/providers", tag = "appointments", security(("bearer" = [])),
    responses((status = 200, body = Page<Provider>)))]
pub async fn list_providers(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Page<Provider>>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let rows = sqlx::query_as!(
        ProviderRow,
        "SELECT id, name, specialty, email, active, working_hours, created_at FROM providers
         WHERE tenant_id = $1 AND deleted_at IS NULL AND (active OR $2)
         ORDER BY NOT active, lower(name), id",
        caller.principal.tenant_id,
        caller.principal.role.is_clinic(),
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(Page { items: rows.into_iter().map(Provider::from).collect(), next_cursor: None }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewProvider {
    pub name: String,
    pub specialty: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub working_hours: Vec<WorkingHours>,
}

/// Adds a provider.
#[utoipa::path(post, path = "/providers", tag = "appointments", request_body = NewProvider, security(("bearer" = [])),
    responses((status = 201, body = Provider), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_provider(State(state): State<AppState>, Admin(caller): Admin, Json(body): Json<NewProvider>) -> ApiResult<(StatusCode, Json<Provider>)> {
    let mut checks = Checks::new();
    checks.required("name", &body.name, SHORT_TEXT);
    checks.optional("specialty", body.specialty.as_deref(), SHORT_TEXT);
    if let Some(email) = clean(body.email.clone()) {
        checks.email("email", &email);
    }
    check_hours(&mut checks, &body.working_hours);
    checks.finish()?;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let row = sqlx::query_as!(
        ProviderRow,
        "INSERT INTO providers (tenant_id, name, specialty, email, working_hours) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, name, specialty, email, active, working_hours, created_at",
        caller.principal.tenant_id,
        body.name.trim(),
        clean(body.specialty),
        clean(body.email).map(|e| e.to_lowercase()),
        serde_json::to_value(&body.working_hours).expect("hours serialize"),
    )
    .fetch_one(&mut *tx)
    .await?;
    let provider = Provider::from(row);
    let staged = announce(&mut tx, caller.principal.tenant_id, "provider.created", &provider).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((StatusCode::CREATED, Json(provider)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderChanges {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub specialty: Option<Option<String>>,
    /// Inactive providers take no new bookings; their appointments stay.
    pub active: Option<bool>,
    pub working_hours: Option<Vec<WorkingHours>>,
}

/// Changes a provider.
#[utoipa::path(patch, path = "/providers/{id}", tag = "appointments", request_body = ProviderChanges, security(("bearer" = [])),
    responses((status = 200, body = Provider), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_provider(State(state): State<AppState>, Admin(caller): Admin, Path(id): Path<Uuid>, Json(body): Json<ProviderChanges>) -> ApiResult<Json<Provider>> {
    let mut checks = Checks::new();
    if let Some(name) = &body.name {
        checks.required("name", name, SHORT_TEXT);
    }
    if let Some(hours) = &body.working_hours {
        check_hours(&mut checks, hours);
    }
    checks.finish()?;
    let (set_specialty, specialty) = patch_text(body.specialty);
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let row = sqlx::query_as!(
        ProviderRow,
        "UPDATE providers SET name = coalesce($3, name), active = coalesce($4, active),
                working_hours = coalesce($5, working_hours),
                specialty = CASE WHEN $6 THEN $7 ELSE specialty END
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
         RETURNING id, name, specialty, email, active, working_hours, created_at",
        caller.principal.tenant_id,
        id,
        body.name.as_deref().map(str::trim),
        body.active,
        body.working_hours.map(|h| serde_json::to_value(h).expect("hours serialize")),
        set_specialty,
        specialty,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("provider"))?;
    let provider = Provider::from(row);
    let staged = announce(&mut tx, caller.principal.tenant_id, "provider.updated", &provider).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(Json(provider))
}

fn check_hours(checks: &mut Checks, hours: &[WorkingHours]) {
    for (i, block) in hours.iter().enumerate() {
        if !(1..=7).contains(&block.weekday) {
            checks.fail(&format!("working_hours[{i}].weekday"), "must be 1 (Monday) to 7 (Sunday)");
        }
        if block.end <= block.start {
            checks.fail(&format!("working_hours[{i}].end"), "must be after start");
        }
    }
}

/// Tells open dashboards (the `appointments` channel) that the list of providers changed, so
/// calendars and booking forms show the new name, hours or status without a reload.
async fn announce(tx: &mut Tx, tenant_id: Uuid, kind: &str, provider: &Provider) -> ApiResult<Vec<Staged>> {
    let data = serde_json::to_value(provider).expect("providers serialize");
    Ok(vec![events::stage(tx, tenant_id, "appointments".into(), kind, data).await?])
}

/// Longest range one busy-times request may cover.
const MAX_BUSY_RANGE_DAYS: i64 = 62;

#[derive(Debug, Deserialize, IntoParams)]
pub struct BusyRange {
    /// Start of the range (RFC 3339).
    pub from: DateTime<Utc>,
    /// End of the range (RFC 3339), at most 62 days after `from`.
    pub to: DateTime<Utc>,
}

/// A time the provider is booked, without who or why.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusyTime {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// When a provider is booked between `from` and `to`: what a patient booking a free slot must
/// avoid. Only times, never patients, so everyone in the clinic may ask.
#[utoipa::path(get, path = "/providers/{id}/busy", tag = "appointments", params(BusyRange), security(("bearer" = [])),
    responses((status = 200, body = [BusyTime]), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn busy_times(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(range): Query<BusyRange>) -> ApiResult<Json<Vec<BusyTime>>> {
    if range.to <= range.from {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if range.to - range.from > chrono::Duration::days(MAX_BUSY_RANGE_DAYS) {
        return Err(ApiError::invalid("to", "the range may cover at most 62 days"));
    }
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    sqlx::query_scalar!("SELECT id FROM providers WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id, id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ApiError::NotFound("provider"))?;
    // The same appointments the double-booking constraint counts.
    // language=PostgreSQL
    let busy = sqlx::query_as!(
        BusyTime,
        "SELECT starts_at, ends_at FROM appointments
         WHERE tenant_id = $1 AND provider_id = $2 AND deleted_at IS NULL AND status NOT IN ('cancelled', 'no_show')
           AND tstzrange(starts_at, ends_at) && tstzrange($3, $4)
         ORDER BY starts_at",
        tenant_id,
        id,
        range.from,
        range.to,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(busy))
}
