//! Who is calling: passwords, the JWTs we issue, external identity providers, and the
//! [`Authenticator`] that turns any accepted bearer token into a [`Principal`].
//!
//! - [`password`]: argon2id hashing, off the async threads.
//! - [`keys`]: our Ed25519 signing keys, kept in the database so every node signs and verifies
//!   alike, published as a JWKS.
//! - [`external`]: tenants' own identity providers (what Cognito user pools were), verified
//!   against their JWKS.
//! - [`authenticator`]: the one entry point used by the API and the realtime hub.

pub mod authenticator;
pub mod external;
pub mod keys;
pub mod password;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use authenticator::Authenticator;

/// What a user may do. Providers are records, not users, so they have no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "user_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    Patient,
}

impl Role {
    /// Admins and staff work in the clinic dashboard; patients never may.
    pub fn is_clinic(self) -> bool {
        matches!(self, Role::Admin | Role::Staff)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Patient => "patient",
        }
    }
}

/// The claims of the access tokens we issue (DESIGN §4), plus `sid`, the session (refresh
/// token family) the token belongs to, so logout and idle timeout end it at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub tid: Uuid,
    pub role: Role,
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
}

/// An authenticated caller, as the database knows them right now (role and name come from
/// the `users` row, not from the token, so a role change takes effect at once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Principal {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub role: Role,
    pub name: String,
    pub email: String,
    /// Our session, when the token is one we issued; external tokens have none.
    #[serde(skip)]
    pub session_id: Option<Uuid>,
    /// When the presented token expires (Unix seconds).
    #[serde(skip)]
    pub expires_at: i64,
}

/// Why a token was not accepted. Every variant is a 401 to the caller; the reason is logged
/// and, where it helps a client decide what to do, shown.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("session has ended; sign in again")]
    SessionEnded,
    #[error("identity provider keys unavailable")]
    ProviderUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => {
                tracing::debug!(%error, "token rejected");
                AuthError::Invalid
            }
        }
    }
}
