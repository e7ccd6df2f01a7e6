//! Which emails a user gets: each kind of notification can be turned off (DESIGN §7). The
//! workers and the routes that queue emails honour `notification_preferences` rows; no row
//! means the default, on.

use axum::extract::State;
use qivr_shared::auth::Role;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, Json, Path};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_preferences)).routes(routes!(set_preference))
}

/// The kinds a user can turn off, what they are in words, and whether patients (`true`) or
/// everyone gets them.
const KINDS: [(&str, &str, bool); 4] = [
    ("unread_message", "A message has been waiting unread for a few minutes while you were away", false),
    ("appointment", "An appointment is booked, changed or cancelled", true),
    ("appointment_reminder", "A reminder before an appointment", true),
    ("prom", "A questionnaire is assigned to you or due", true),
];

fn kinds_for(role: Role) -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS.into_iter().filter(move |(_, _, patients_only)| !patients_only || role == Role::Patient).map(|(kind, description, _)| (kind, description))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPreference {
    /// `unread_message`, `appointment`, `appointment_reminder` or `prom`.
    pub kind: String,
    pub description: String,
    /// Whether this kind is emailed.
    pub email: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceChange {
    pub email: bool,
}

/// The caller's notification settings, one per kind that applies to them.
#[utoipa::path(get, path = "/me/notification-preferences", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = [NotificationPreference])))]
pub async fn list_preferences(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<NotificationPreference>>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let off: Vec<String> = sqlx::query_scalar!(
        "SELECT kind FROM notification_preferences WHERE tenant_id = $1 AND user_id = $2 AND NOT email",
        caller.principal.tenant_id,
        caller.principal.user_id
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let preferences = kinds_for(caller.principal.role)
        .map(|(kind, description)| NotificationPreference { kind: kind.into(), description: description.into(), email: !off.iter().any(|k| k == kind) })
        .collect();
    Ok(Json(preferences))
}

/// Turns one kind of email on or off for the caller.
#[utoipa::path(put, path = "/me/notification-preferences/{kind}", tag = "auth", request_body = PreferenceChange, security(("bearer" = [])),
    responses((status = 200, body = NotificationPreference), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_preference(State(state): State<AppState>, caller: Caller, Path(kind): Path<String>, Json(body): Json<PreferenceChange>) -> ApiResult<Json<NotificationPreference>> {
    let (kind, description) = kinds_for(caller.principal.role).find(|(k, _)| *k == kind).ok_or(ApiError::NotFound("notification kind"))?;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO notification_preferences (tenant_id, user_id, kind, email) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id, kind) DO UPDATE SET email = excluded.email, updated_at = now()",
        caller.principal.tenant_id,
        caller.principal.user_id,
        kind,
        body.email
    )
    .execute(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::new("notification_preference.update").detail(serde_json::json!({ "kind": kind, "email": body.email }))).await?;
    tx.commit().await?;
    Ok(Json(NotificationPreference { kind: kind.into(), description: description.into(), email: body.email }))
}
