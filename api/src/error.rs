//! The API's one error type, and how each variant becomes a problem+json response.
//!
//! Handlers return `Result<_, ApiError>`. Use the variant that says what went wrong for the
//! *caller*: `NotFound` for anything outside the caller's tenant or reach (another tenant's
//! resource must be indistinguishable from a missing one), `Forbidden` only for a role that
//! may never use an endpoint, `Validation` with every bad field named. `Internal` is always a
//! bug or an outage: it is logged once here with its cause chain and the caller sees no
//! details.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qivr_shared::auth::AuthError;
use qivr_shared::{FieldError, Problem};

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { field: Option<&'static str>, detail: String },
    #[error("invalid request")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    BadRequest { field: String, detail: String },
    #[error("{field} too large (at most {max_bytes} bytes)")]
    PayloadTooLarge { field: &'static str, max_bytes: u64 },
    /// A body or file of a type the endpoint does not take (415), naming the field.
    #[error("{detail}")]
    UnsupportedMediaType { field: &'static str, detail: String },
    #[error("{detail}")]
    Locked { detail: String, retry_after_secs: u64 },
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Locked { .. } | ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Internal(error.into())
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Database(error) => ApiError::Internal(error.into()),
            AuthError::ProviderUnavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "external identity provider unavailable");
                ApiError::Unauthorized("the identity provider could not be reached".into())
            }
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let problem = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                Problem::new(status, "an unexpected error occurred; it has been logged".to_string())
            }
            ApiError::Validation(errors) => Problem::validation(errors.clone()),
            ApiError::BadRequest { field, detail } => Problem {
                errors: vec![FieldError::new(field.clone(), detail.clone())],
                ..Problem::new(status, detail.clone())
            },
            ApiError::Conflict { field: Some(field), detail } => Problem {
                errors: vec![FieldError::new(*field, detail.clone())],
                ..Problem::new(status, detail.clone())
            },
            ApiError::PayloadTooLarge { field, .. } | ApiError::UnsupportedMediaType { field, .. } => Problem {
                errors: vec![FieldError::new(*field, self.to_string())],
                ..Problem::new(status, self.to_string())
            },
            ApiError::Locked { .. } => {
                Problem::new(status, self.to_string()).with_type("https://qivr.dev/problems/account-locked")
            }
            other => Problem::new(status, other.to_string()),
        };
        let mut response = problem.into_response();
        match self {
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Locked { retry_after_secs, .. } | ApiError::RateLimited { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

/// Maps a unique-constraint violation to a 409 naming `field`; anything else stays internal.
pub fn on_unique_violation(field: &'static str, detail: &'static str) -> impl FnOnce(sqlx::Error) -> ApiError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            ApiError::Conflict { field: Some(field), detail: detail.to_string() }
        }
        _ => error.into(),
    }
}
