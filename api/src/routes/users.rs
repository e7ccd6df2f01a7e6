//! Clinic logins: admins invite staff and admins, change roles, disable accounts, and map
//! users to an external identity provider's subjects.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qivr_shared::auth::Role;
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
use crate::routes::auth::{new_token, revoke_session, token_hash};
use crate::state::AppState;
use crate::validate::{clean, normalize_email, patch, Checks, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
}

/// How long an invitation link works.
const INVITATION_DAYS: f64 = 7.0;

#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// Set once the user has chosen a password (accepted their invitation).
    pub has_password: bool,
    pub external_subject: Option<String>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The clinic's users (admins and staff; patients are listed under patients), by name.
#[utoipa::path(get, path = "/users", tag = "users", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<User>), (status = 403, body = Problem)))]
pub async fn list_users(State(state): State<AppState>, Admin(caller): Admin, Query(params): Query<PageParams>) -> ApiResult<Json<Page<User>>> {
    let limit = params.limit()?;
    let after: Option<(String, Uuid)> = params.cursor()?;
    let (after_name, after_id) = after.unzip();
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let users = sqlx::query_as!(
        User,
        r#"SELECT id, tenant_id, email, name, role AS "role: Role", disabled_at IS NOT NULL AS "disabled!",
                  password_hash IS NOT NULL AS "has_password!", external_subject, last_login_at, created_at
           FROM users
           WHERE tenant_id = $1 AND deleted_at IS NULL AND role <> 'patient'
             AND ($2::text IS NULL OR (lower(name), id) > ($2, $3))
           ORDER BY lower(name), id LIMIT $4"#,
        caller.principal.tenant_id,
        after_name,
        after_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(Page::from_rows(users, limit, |u| (u.name.to_lowercase(), u.id))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// `admin` or `staff`; patients get logins through `POST /patients/{id}/invite`.
    pub role: Role,
}

/// Creates a clinic login and emails the person an invitation to choose a password.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser, security(("bearer" = [])),
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(State(state): State<AppState>, Admin(caller): Admin, Json(body): Json<NewUser>) -> ApiResult<(StatusCode, Json<User>)> {
    let mut checks = Checks::new();
    let email = normalize_email(&body.email);
    checks.email("email", &email);
    checks.required("name", &body.name, SHORT_TEXT);
    if body.role == Role::Patient {
        checks.fail("role", "must be admin or staff; invite patients from their record");
    }
    checks.finish()?;

    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let user = sqlx::query_as!(
        User,
        r#"INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, $3, $4)
           RETURNING id, tenant_id, email, name, role AS "role: Role", false AS "disabled!",
                     false AS "has_password!", external_subject, last_login_at, created_at"#,
        caller.principal.tenant_id,
        email,
        body.name.trim(),
        body.role as Role,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(on_unique_violation("email", "a user with this email already exists"))?;
    invite(&state, &mut tx, &caller, user.id, &user.email, &user.name, "clinic").await?;
    let detail = serde_json::json!({ "role": user.role });
    caller.audit(&mut tx, Entry { resource_type: Some("user"), resource_id: Some(user.id), ..Entry::new("user.create") }.detail(detail)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `true` disables the login and ends its sessions; `false` enables it again.
    pub disabled: Option<bool>,
    /// The `sub` of this user's tokens at the clinic's identity provider; `null` unlinks.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub external_subject: Option<Option<String>>,
}

/// Changes a clinic user's name, role, status or external identity. Role changes are audited.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", request_body = UserChanges, security(("bearer" = [])),
    responses((status = 200, body = User), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_user(State(state): State<AppState>, Admin(caller): Admin, Path(id): Path<Uuid>, Json(body): Json<UserChanges>) -> ApiResult<Json<User>> {
    let mut checks = Checks::new();
    if let Some(name) = &body.name {
        checks.required("name", name, SHORT_TEXT);
    }
    if body.role == Some(Role::Patient) {
        checks.fail("role", "must be admin or staff");
    }
    if id == caller.principal.user_id {
        if body.disabled == Some(true) {
            checks.fail("disabled", "admins cannot disable themselves");
        }
        if body.role.is_some_and(|r| r != Role::Admin) {
            checks.fail("role", "admins cannot demote themselves");
        }
    }
    if let Some(Some(subject)) = &body.external_subject {
        checks.required("external_subject", subject, 255);
    }
    checks.finish()?;

    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let before = sqlx::query!(
        r#"SELECT role AS "role: Role" FROM users
           WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL AND role <> 'patient' FOR UPDATE"#,
        caller.principal.tenant_id,
        id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("user"))?;
    let (set_subject, subject) = match body.external_subject {
        Some(subject) => (true, clean(subject)),
        None => (false, None),
    };
    // language=PostgreSQL
    let user = sqlx::query_as!(
        User,
        r#"UPDATE users SET
               name = coalesce($3, name),
               role = coalesce($4, role),
               disabled_at = CASE WHEN $5::bool IS NULL THEN disabled_at
                                  WHEN $5 THEN coalesce(disabled_at, now()) ELSE NULL END,
               external_subject = CASE WHEN $6 THEN $7 ELSE external_subject END
           WHERE tenant_id = $1 AND id = $2
           RETURNING id, tenant_id, email, name, role AS "role: Role", disabled_at IS NOT NULL AS "disabled!",
                     password_hash IS NOT NULL AS "has_password!", external_subject, last_login_at, created_at"#,
        caller.principal.tenant_id,
        id,
        body.name.as_deref().map(str::trim),
        body.role as Option<Role>,
        body.disabled,
        set_subject,
        subject,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(on_unique_violation("external_subject", "another user has this external subject"))?;

    if user.role != before.role {
        let detail = serde_json::json!({ "from": before.role, "to": user.role });
        caller.audit(&mut tx, Entry { resource_type: Some("user"), resource_id: Some(id), ..Entry::new("user.role_change") }.detail(detail)).await?;
    }
    if body.disabled == Some(true) {
        end_sessions(&mut tx, caller.principal.tenant_id, id).await?;
        caller.audit(&mut tx, Entry { resource_type: Some("user"), resource_id: Some(id), ..Entry::new("user.disable") }).await?;
    }
    tx.commit().await?;
    if body.disabled == Some(true) {
        if let Err(error) = state.realtime.disconnect_user(caller.principal.tenant_id, id).await {
            tracing::warn!(%error, user.id = %id, "could not disconnect the disabled user's sockets");
        }
    }
    Ok(Json(user))
}

/// Revokes every live session of a user.
async fn end_sessions(tx: &mut Tx, tenant_id: Uuid, user_id: Uuid) -> sqlx::Result<()> {
    // language=PostgreSQL
    let sessions = sqlx::query_scalar!(
        "SELECT id FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        tenant_id,
        user_id
    )
    .fetch_all(&mut **tx)
    .await?;
    for session in sessions {
        revoke_session(tx, tenant_id, session, "user_disabled").await?;
    }
    Ok(())
}

/// Creates an invitation for `user_id` and queues its email (once per invitation). `app` is
/// where the link leads: `clinic` or `portal`.
pub async fn invite(state: &AppState, tx: &mut Tx, caller: &Caller, user_id: Uuid, email: &str, name: &str, app: &str) -> ApiResult<()> {
    let tenant_id = caller.principal.tenant_id;
    let token = new_token(tenant_id);
    // language=PostgreSQL
    let invitation_id = sqlx::query_scalar!(
        "INSERT INTO invitations (tenant_id, user_id, token_hash, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(days => $4::float8::int)) RETURNING id",
        tenant_id,
        user_id,
        token_hash(&token),
        INVITATION_DAYS,
    )
    .fetch_one(&mut **tx)
    .await?;
    // language=PostgreSQL
    let clinic = sqlx::query_scalar!("SELECT name FROM tenants WHERE id = $1", tenant_id)
        .fetch_one(&mut **tx)
        .await?;
    let link = format!("{}/{app}/accept-invite#token={token}", state.config.public_url());
    let body = format!(
        "Hello {name},\n\n{clinic} has invited you to Qivr. Choose your password here \
         (the link works for {INVITATION_DAYS} days):\n\n{link}\n\nIf you did not expect this, ignore this email.\n"
    );
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO emails (tenant_id, idempotency_key, to_address, subject, body_text, kind)
         VALUES ($1, $2, $3, $4, $5, 'invitation')",
        tenant_id,
        format!("invitation:{invitation_id}"),
        email,
        format!("Your invitation to {clinic} on Qivr"),
        body,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
