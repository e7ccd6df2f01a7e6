//! A clinic's own identity provider (what Cognito user pools were): admins register its
//! issuer, audience (app client id) and JWKS URL; tokens it issues are then accepted for users
//! whose `external_subject` matches the token's `sub`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{on_unique_violation, ApiError, ApiResult};
use crate::extract::{Admin, Json, Path};
use crate::pagination::Page;
use crate::state::AppState;
use crate::validate::Checks;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers, create_provider))
        .routes(routes!(delete_provider))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityProvider {
    pub id: Uuid,
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewIdentityProvider {
    /// Exactly the tokens' `iss`, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub issuer: String,
    /// The app client id: the ID tokens' `aud`, or the access tokens' `client_id`.
    pub audience: String,
    pub jwks_url: String,
}

/// The clinic's registered identity providers.
#[utoipa::path(get, path = "/identity-providers", operation_id = "list_identity_providers", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Page<IdentityProvider>), (status = 403, body = Problem)))]
pub async fn list_providers(State(state): State<AppState>, Admin(caller): Admin) -> ApiResult<Json<Page<IdentityProvider>>> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let providers = sqlx::query_as!(
        IdentityProvider,
        "SELECT id, issuer, audience, jwks_url, created_at FROM identity_providers
         WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at",
        caller.principal.tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(Page { items: providers, next_cursor: None }))
}

/// Registers an identity provider.
#[utoipa::path(post, path = "/identity-providers", operation_id = "create_identity_provider", tag = "identity", request_body = NewIdentityProvider, security(("bearer" = [])),
    responses((status = 201, body = IdentityProvider), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_provider(State(state): State<AppState>, Admin(caller): Admin, Json(body): Json<NewIdentityProvider>) -> ApiResult<(StatusCode, Json<IdentityProvider>)> {
    let mut checks = Checks::new();
    checks.required("issuer", &body.issuer, 500);
    checks.required("audience", &body.audience, 255);
    checks.required("jwks_url", &body.jwks_url, 1000);
    for (field, value) in [("issuer", &body.issuer), ("jwks_url", &body.jwks_url)] {
        if !value.trim().is_empty() && !value.starts_with("https://") && !value.starts_with("http://") {
            checks.fail(field, "must be an http(s) URL");
        }
    }
    checks.finish()?;
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let provider = sqlx::query_as!(
        IdentityProvider,
        "INSERT INTO identity_providers (tenant_id, issuer, audience, jwks_url) VALUES ($1, $2, $3, $4)
         RETURNING id, issuer, audience, jwks_url, created_at",
        caller.principal.tenant_id,
        body.issuer.trim(),
        body.audience.trim(),
        body.jwks_url.trim(),
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(on_unique_violation("issuer", "this issuer is already registered"))?;
    caller.audit(&mut tx, Entry { resource_type: Some("identity_provider"), resource_id: Some(provider.id), ..Entry::new("identity_provider.create") }).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(provider)))
}

/// Removes an identity provider; its tokens stop working at once.
#[utoipa::path(delete, path = "/identity-providers/{id}", operation_id = "delete_identity_provider", tag = "identity", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_provider(State(state): State<AppState>, Admin(caller): Admin, Path(id): Path<Uuid>) -> ApiResult<StatusCode> {
    let mut tx = caller.begin(&state).await?;
    // language=PostgreSQL
    let deleted = sqlx::query!(
        "UPDATE identity_providers SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
        caller.principal.tenant_id,
        id
    )
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(ApiError::NotFound("identity provider"));
    }
    caller.audit(&mut tx, Entry { resource_type: Some("identity_provider"), resource_id: Some(id), ..Entry::new("identity_provider.delete") }).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
