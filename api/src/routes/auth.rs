//! Sign-in and sessions: login, refresh-token rotation with reuse detection, logout,
//! invitations, the current user, and our public keys.
//!
//! A session is one login. Its refresh tokens form a family: each refresh marks the token used
//! and hands out the next. Presenting a used token again means it was copied, so the whole
//! family (the session) is revoked. Refresh tokens look like `<tenant id>.<secret>`: the
//! tenant part lets us open a tenant-scoped transaction before the lookup; only the SHA-256 of
//! the whole token is stored.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::State;
use axum::http::StatusCode;
use bytes::Bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota};
use qivr_shared::auth::{password, Role};
use qivr_shared::tenancy::{self, Tx};
use qivr_shared::Problem;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, Actor, Entry};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, ClientInfo, Json};
use crate::state::AppState;
use crate::validate::{normalize_email, Checks};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(accept_invitation))
        .routes(routes!(me))
}

/// Shortest password we accept when one is set.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The clinic's slug, e.g. `harbour-physio`.
    pub tenant: String,
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub token_type: &'static str,
    /// The server ends a session unused for this long; clients can log off idle users sooner.
    pub idle_timeout_secs: u64,
    pub user: UserSummary,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummary {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub role: Role,
    pub email: String,
    pub name: String,
}

/// Limits login attempts per client address, on top of the per-account lockout, so one
/// address cannot try passwords against many accounts.
pub struct LoginThrottle(DefaultKeyedRateLimiter<IpAddr>);

impl LoginThrottle {
    pub fn per_minute(attempts: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(attempts.max(1)).expect("non-zero"));
        LoginThrottle(DefaultKeyedRateLimiter::keyed(quota))
    }

    fn check(&self, client: &ClientInfo) -> ApiResult<()> {
        let Some(ip) = client.ip.as_deref().and_then(|ip| ip.parse().ok()) else { return Ok(()) };
        self.0.check_key(&ip).map_err(|_| ApiError::RateLimited { retry_after_secs: 60 })
    }
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem),
              (status = 422, body = Problem), (status = 429, description = "locked out or throttled", body = Problem)))]
pub async fn login(State(state): State<AppState>, client: ClientInfo, Json(body): Json<LoginRequest>) -> ApiResult<Json<TokenResponse>> {
    let mut checks = Checks::new();
    checks.required("tenant", &body.tenant, 63);
    checks.required("email", &body.email, 254);
    checks.required("password", &body.password, 1024);
    checks.finish()?;
    state.login_throttle.check(&client)?;

    let invalid = || ApiError::Unauthorized("invalid clinic, email or password".into());
    // language=PostgreSQL
    let tenant_id = sqlx::query_scalar!("SELECT id FROM tenants WHERE slug = $1 AND deleted_at IS NULL", body.tenant.trim())
        .fetch_optional(&state.pool)
        .await?;
    let Some(tenant_id) = tenant_id else {
        password::verify(body.password, None).await;
        return Err(invalid());
    };

    let mut tx = tenancy::begin(&state.pool, tenant_id, None).await?;
    // language=PostgreSQL
    let user = sqlx::query!(
        r#"SELECT id, role AS "role: Role", name, email, password_hash, failed_logins, locked_until, disabled_at
           FROM users WHERE tenant_id = $1 AND email = $2 AND deleted_at IS NULL FOR UPDATE"#,
        tenant_id,
        normalize_email(&body.email),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (actor_id, actor_role) = (user.as_ref().map(|u| u.id), user.as_ref().map(|u| u.role));
    let actor = move || Actor { user_id: actor_id, role: actor_role };

    if let Some(until) = user.as_ref().and_then(|u| u.locked_until).filter(|until| *until > Utc::now()) {
        audit::record(&mut tx, tenant_id, actor(), &client, Entry::new("auth.login_locked")).await?;
        tx.commit().await?;
        return Err(locked(until));
    }

    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = password::verify(body.password, hash).await;
    let user = match user {
        Some(user) if verified && user.disabled_at.is_none() => user,
        Some(user) => {
            let config = state.auth.config();
            let failures = user.failed_logins + 1;
            let lock = failures >= config.max_failed_logins;
            // language=PostgreSQL
            let locked_until = sqlx::query_scalar!(
                "UPDATE users SET failed_logins = CASE WHEN $3 THEN 0 ELSE $2 END,
                                  locked_until = CASE WHEN $3 THEN now() + make_interval(secs => $4) END
                 WHERE tenant_id = $1 AND id = $5 RETURNING locked_until",
                tenant_id,
                failures,
                lock,
                config.lockout_secs as f64,
                user.id,
            )
            .fetch_one(&mut *tx)
            .await?;
            let detail = serde_json::json!({ "consecutive_failures": failures });
            audit::record(&mut tx, tenant_id, actor(), &client, Entry::new("auth.login_failed").detail(detail)).await?;
            if lock {
                audit::record(&mut tx, tenant_id, actor(), &client, Entry::new("auth.lockout")).await?;
            }
            tx.commit().await?;
            return Err(locked_until.map(locked).unwrap_or_else(invalid));
        }
        None => {
            audit::record(&mut tx, tenant_id, actor(), &client, Entry::new("auth.login_failed")).await?;
            tx.commit().await?;
            return Err(invalid());
        }
    };

    // language=PostgreSQL
    sqlx::query!(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now()
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        user.id
    )
    .execute(&mut *tx)
    .await?;
    let (session_id, refresh_token) = start_session(&state, &mut tx, tenant_id, user.id, &client).await?;
    audit::record(&mut tx, tenant_id, actor(), &client, Entry::new("auth.login")).await?;
    tx.commit().await?;

    let summary = UserSummary { id: user.id, tenant_id, role: user.role, email: user.email, name: user.name };
    tokens(&state, summary, session_id, refresh_token)
}

fn locked(until: DateTime<Utc>) -> ApiError {
    let secs = (until - Utc::now()).num_seconds().max(1) as u64;
    ApiError::Locked {
        detail: format!(
            "too many failed sign-ins: this account is locked for {} more minute(s)",
            secs.div_ceil(60)
        ),
        retry_after_secs: secs,
    }
}

/// Exchanges a refresh token for a new access token and the next refresh token.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem)))]
pub async fn refresh(State(state): State<AppState>, client: ClientInfo, Json(body): Json<RefreshRequest>) -> ApiResult<Json<TokenResponse>> {
    let ended = || ApiError::Unauthorized("session has ended; sign in again".into());
    let tenant_id = parse_token(&body.refresh_token).ok_or_else(ended)?;
    let mut tx = tenancy::begin(&state.pool, tenant_id, None).await?;
    // language=PostgreSQL
    let row = sqlx::query!(
        r#"SELECT rt.id, rt.used_at, s.id AS session_id, s.user_id,
                  (s.revoked_at IS NULL AND s.expires_at > now()
                   AND s.last_seen_at > now() - make_interval(secs => $3)) AS "live!",
                  u.role AS "role: Role", u.name, u.email,
                  (u.disabled_at IS NULL AND u.deleted_at IS NULL) AS "active!"
           FROM refresh_tokens rt
           JOIN sessions s ON s.id = rt.session_id
           JOIN users u ON u.id = s.user_id
           WHERE rt.tenant_id = $1 AND rt.token_hash = $2
           FOR UPDATE OF rt, s"#,
        tenant_id,
        token_hash(&body.refresh_token),
        state.auth.config().idle_timeout_secs as f64,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(ended)?;
    let actor = Actor { user_id: Some(row.user_id), role: Some(row.role) };

    let grace = chrono::Duration::seconds(state.auth.config().refresh_reuse_grace_secs as i64);
    if row.used_at.is_some_and(|used_at| used_at + grace < chrono::Utc::now()) {
        revoke_session(&mut tx, tenant_id, row.session_id, "refresh_reuse").await?;
        let entry = Entry::new("auth.refresh_reuse").detail(serde_json::json!({ "session_id": row.session_id }));
        audit::record(&mut tx, tenant_id, actor, &client, entry).await?;
        tx.commit().await?;
        tracing::warn!(tenant.id = %tenant_id, session.id = %row.session_id, "refresh token reused; session revoked");
        disconnect_session(&state, tenant_id, row.session_id).await;
        return Err(ApiError::Unauthorized("refresh token already used; the session has been revoked".into()));
    }
    if !row.live || !row.active {
        return Err(ended());
    }

    // Within the grace window a used token keeps its first `used_at`, so the window never grows.
    // language=PostgreSQL
    sqlx::query!("UPDATE refresh_tokens SET used_at = coalesce(used_at, now()) WHERE tenant_id = $1 AND id = $2", tenant_id, row.id)
        .execute(&mut *tx)
        .await?;
    // language=PostgreSQL
    sqlx::query!("UPDATE sessions SET last_seen_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id, row.session_id)
        .execute(&mut *tx)
        .await?;
    let refresh_token = issue_refresh_token(&mut tx, tenant_id, row.session_id).await?;
    tx.commit().await?;

    let summary = UserSummary { id: row.user_id, tenant_id, role: row.role, email: row.email, name: row.name };
    tokens(&state, summary, row.session_id, refresh_token)
}

/// Ends a session: its refresh tokens stop working and its access tokens are refused from now
/// on. Either credential identifies the session, so a client whose access token has expired
/// can still log out with its refresh token. Always 204: logging out twice is not an error.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body(content = Option<RefreshRequest>),
    responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, client: ClientInfo, caller: Result<Caller, ApiError>, body: Bytes) -> ApiResult<StatusCode> {
    let mut ended = Vec::new();
    if let Ok(caller) = caller {
        let mut tx = caller.begin(&state).await?;
        if let Some(session_id) = caller.principal.session_id {
            revoke_session(&mut tx, caller.principal.tenant_id, session_id, "logout").await?;
            ended.push((caller.principal.tenant_id, session_id));
        }
        caller.audit(&mut tx, Entry::new("auth.logout")).await?;
        tx.commit().await?;
    }
    let refresh_token = serde_json::from_slice::<RefreshRequest>(&body).ok().map(|body| body.refresh_token);
    if let Some(tenant_id) = refresh_token.as_deref().and_then(parse_token) {
        let mut tx = tenancy::begin(&state.pool, tenant_id, None).await?;
        // language=PostgreSQL
        let session = sqlx::query!(
            r#"SELECT s.id, s.user_id, u.role AS "role: Role" FROM refresh_tokens rt
               JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id
               WHERE rt.tenant_id = $1 AND rt.token_hash = $2 AND s.revoked_at IS NULL"#,
            tenant_id,
            token_hash(refresh_token.as_deref().unwrap_or_default()),
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(session) = session {
            revoke_session(&mut tx, tenant_id, session.id, "logout").await?;
            ended.push((tenant_id, session.id));
            let actor = Actor { user_id: Some(session.user_id), role: Some(session.role) };
            audit::record(&mut tx, tenant_id, actor, &client, Entry::new("auth.logout")).await?;
        }
        tx.commit().await?;
    }
    for (tenant_id, session_id) in ended {
        disconnect_session(&state, tenant_id, session_id).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Closes the session's WebSocket connections on every hub node.
async fn disconnect_session(state: &AppState, tenant_id: Uuid, session_id: Uuid) {
    if let Err(error) = state.realtime.disconnect_session(tenant_id, session_id).await {
        tracing::warn!(%error, session.id = %session_id, "could not disconnect the session's sockets; they close when their token expires");
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptInvitation {
    /// The token from the invitation email.
    pub token: String,
    pub password: String,
}

/// Sets the password of an invited user and signs them in.
#[utoipa::path(post, path = "/auth/invitations/accept", tag = "auth", request_body = AcceptInvitation,
    responses((status = 200, body = TokenResponse), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn accept_invitation(State(state): State<AppState>, client: ClientInfo, Json(body): Json<AcceptInvitation>) -> ApiResult<Json<TokenResponse>> {
    let mut checks = Checks::new();
    if body.password.chars().count() < MIN_PASSWORD_CHARS {
        checks.fail("password", format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    checks.length("password", &body.password, 1024);
    checks.finish()?;
    let gone = || ApiError::NotFound("invitation");
    let tenant_id = parse_token(&body.token).ok_or_else(gone)?;

    let mut tx = tenancy::begin(&state.pool, tenant_id, None).await?;
    // language=PostgreSQL
    let invitation = sqlx::query!(
        r#"SELECT i.id, u.id AS user_id, u.role AS "role: Role", u.name, u.email
           FROM invitations i JOIN users u ON u.id = i.user_id
           WHERE i.tenant_id = $1 AND i.token_hash = $2 AND i.accepted_at IS NULL
             AND i.expires_at > now() AND u.deleted_at IS NULL AND u.disabled_at IS NULL
           FOR UPDATE OF i"#,
        tenant_id,
        token_hash(&body.token),
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(gone)?;
    let hash = password::hash(body.password).await?;
    // language=PostgreSQL
    sqlx::query!("UPDATE invitations SET accepted_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id, invitation.id)
        .execute(&mut *tx)
        .await?;
    // language=PostgreSQL
    sqlx::query!("UPDATE users SET password_hash = $3, last_login_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id, invitation.user_id, hash)
        .execute(&mut *tx)
        .await?;
    let (session_id, refresh_token) = start_session(&state, &mut tx, tenant_id, invitation.user_id, &client).await?;
    let actor = Actor { user_id: Some(invitation.user_id), role: Some(invitation.role) };
    audit::record(&mut tx, tenant_id, actor, &client, Entry::new("auth.invitation_accepted")).await?;
    tx.commit().await?;
    let summary = UserSummary {
        id: invitation.user_id,
        tenant_id,
        role: invitation.role,
        email: invitation.email,
        name: invitation.name,
    };
    tokens(&state, summary, session_id, refresh_token)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub role: Role,
    pub email: String,
    pub name: String,
    pub tenant: TenantSummary,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// The signed-in user and their clinic.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Me>> {
    let principal = caller.principal;
    // language=PostgreSQL
    let tenant = sqlx::query_as!(TenantSummary, "SELECT id, slug, name FROM tenants WHERE id = $1", principal.tenant_id)
        .fetch_one(&state.pool)
        .await?;
    Ok(Json(Me {
        id: principal.user_id,
        tenant_id: principal.tenant_id,
        role: principal.role,
        email: principal.email,
        name: principal.name,
        tenant,
    }))
}

/// Our public signing keys (`/.well-known/jwks.json`).
pub async fn jwks(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(state.auth.keys().jwks().clone())
}

/// Opens a session for `user_id` and returns it with its first refresh token.
async fn start_session(state: &AppState, tx: &mut Tx, tenant_id: Uuid, user_id: Uuid, client: &ClientInfo) -> ApiResult<(Uuid, String)> {
    // language=PostgreSQL
    let session_id = sqlx::query_scalar!(
        "INSERT INTO sessions (tenant_id, user_id, expires_at, ip, user_agent)
         VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5) RETURNING id",
        tenant_id,
        user_id,
        state.auth.config().refresh_ttl_secs as f64,
        client.ip,
        client.user_agent,
    )
    .fetch_one(&mut **tx)
    .await?;
    let refresh_token = issue_refresh_token(tx, tenant_id, session_id).await?;
    Ok((session_id, refresh_token))
}

async fn issue_refresh_token(tx: &mut Tx, tenant_id: Uuid, session_id: Uuid) -> sqlx::Result<String> {
    let token = new_token(tenant_id);
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO refresh_tokens (tenant_id, session_id, token_hash) VALUES ($1, $2, $3)",
        tenant_id,
        session_id,
        token_hash(&token),
    )
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// Revokes a session (idempotent).
pub async fn revoke_session(tx: &mut Tx, tenant_id: Uuid, session_id: Uuid, reason: &str) -> sqlx::Result<()> {
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE sessions SET revoked_at = now(), revoked_reason = $3
         WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
        tenant_id,
        session_id,
        reason,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn tokens(state: &AppState, user: UserSummary, session_id: Uuid, refresh_token: String) -> ApiResult<Json<TokenResponse>> {
    let access = state.auth.issue(user.id, user.tenant_id, user.role, session_id)?;
    Ok(Json(TokenResponse {
        access_token: access.token,
        refresh_token,
        expires_in: access.expires_in,
        token_type: "Bearer",
        idle_timeout_secs: state.auth.config().idle_timeout_secs,
        user,
    }))
}

/// A new secret token that names its tenant: `<tenant id>.<256 random bits>`. Used for
/// refresh tokens and invitations.
pub fn new_token(tenant_id: Uuid) -> String {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    format!("{}.{}", tenant_id.simple(), URL_SAFE_NO_PAD.encode(secret))
}

/// The tenant a token names, if it is shaped like one of ours.
fn parse_token(token: &str) -> Option<Uuid> {
    let (tenant, secret) = token.split_once('.')?;
    (secret.len() == 43).then_some(())?;
    Uuid::try_parse(tenant).ok()
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
