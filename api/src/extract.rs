//! Request extractors whose failures are problem+json naming the field, and the
//! authenticated-caller extractors that carry the role guards.
//!
//! - [`Json`], [`Query`], [`Path`]: like axum's, but a malformed body, a missing or mistyped
//!   field, or a bad query parameter becomes a 4xx whose `errors[].field` is the JSON path of
//!   the culprit (via `serde_path_to_error`). A path segment that does not parse names no
//!   resource that could exist, so it is a 404.
//! - [`Caller`]: any authenticated user. [`Clinic`]: admin or staff, the guard on every clinic
//!   endpoint, so a patient is refused before a handler runs. [`Admin`]: admins only.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use qivr_shared::auth::{Principal, Role};
use qivr_shared::tenancy::{self, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A JSON request body or response.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::BadRequest {
                field: "content-type".into(),
                detail: "expected a JSON body (Content-Type: application/json)".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { field: "body", max_bytes: crate::app::MAX_BODY_BYTES as u64 }
            } else {
                ApiError::BadRequest { field: "body".into(), detail: rejection.body_text() }
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Deserializes `bytes`, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if let Some(field) = nul_character_path(bytes) {
        return Err(ApiError::invalid(field, "must not contain NUL characters"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = strip_position(&inner.to_string());
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest { field: "body".into(), detail: format!("malformed JSON: {message}") };
        }
        ApiError::invalid(field_name(&path, &message), message)
    })
}

/// PostgreSQL text cannot hold U+0000, which JSON can only spell `\u0000`: finds the first
/// string (or key) that holds one, as a field path.
fn nul_character_path(bytes: &[u8]) -> Option<String> {
    let escaped = bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"));
    if !escaped {
        return None;
    }
    fn walk(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(path),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, v)| walk(v, format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if k.contains('\0') { Some(child) } else { walk(v, child) }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, String::new()).map(|path| if path.is_empty() { "body".into() } else { path })
}

/// Query string parameters.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some((key, _)) = form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(ApiError::BadRequest { field: key.into_owned(), detail: "must not contain NUL characters".into() });
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|error| {
            let path = error.path().to_string();
            let message = error.into_inner().to_string();
            ApiError::BadRequest { field: field_name(&path, &message), detail: message }
        })
    }
}

/// A path parameter. Anything unparsable is a resource that cannot exist: 404.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|_| ApiError::NotFound("resource"))
    }
}

/// `missing field `x`` at path `a.b` names `a.b.x`; otherwise the path itself.
fn field_name(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(field)) => field.to_string(),
        (path, Some(field)) => format!("{path}.{field}"),
        (".", None) => "body".to_string(),
        (path, None) => path.to_string(),
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(ClientInfo {
            ip: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string()),
            user_agent: header(USER_AGENT.as_str()).map(|ua| ua.chars().take(300).collect()),
            request_id: header("x-request-id"),
        })
    }
}

/// An authenticated user of any role.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub client: ClientInfo,
}

impl Caller {
    /// A transaction scoped to the caller's tenant, recording the caller as author.
    pub async fn begin(&self, state: &AppState) -> sqlx::Result<Tx> {
        tenancy::begin(&state.pool, self.principal.tenant_id, Some(self.principal.user_id)).await
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
        let principal = state.auth.authenticate(token.trim()).await?;
        tracing::Span::current().record("tenant.id", tracing::field::display(principal.tenant_id));
        tracing::Span::current().record("user.id", tracing::field::display(principal.user_id));
        let client = ClientInfo::from_request_parts(parts, state).await.unwrap_or_default();
        Ok(Caller { principal, client })
    }
}

/// Admin or staff: every clinic endpoint takes this, so patients never reach them.
pub struct Clinic(pub Caller);

impl FromRequestParts<AppState> for Clinic {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.principal.role.is_clinic() {
            return Err(ApiError::Forbidden("this endpoint is for clinic staff".into()));
        }
        Ok(Clinic(caller))
    }
}

/// Admins only.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.principal.role != Role::Admin {
            return Err(ApiError::Forbidden("this endpoint is for clinic admins".into()));
        }
        Ok(Admin(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        age: u8,
    }

    fn field_of(body: &str) -> String {
        match parse_json::<Body>(body.as_bytes()).unwrap_err() {
            ApiError::Validation(errors) => errors[0].field.clone(),
            ApiError::BadRequest { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_bodies_name_the_field_at_fault() {
        assert_eq!(field_of(r#"{"inner": {"age": 1}}"#), "name");
        assert_eq!(field_of(r#"{"name": "a", "inner": {}}"#), "inner.age");
        assert_eq!(field_of(r#"{"name": "a", "inner": {"age": "old"}}"#), "inner.age");
        assert_eq!(field_of(r#"{"name": 5, "inner": {"age": 1}}"#), "name");
        assert_eq!(field_of(r#"{"name": "a", "#), "body");
        assert_eq!(field_of(r#""text""#), "body");
        assert_eq!(field_of(r#"{"name": "a\u0000b", "inner": {"age": 1}}"#), "name");
    }
}
