//! The hub's one error type.
//!
//! Errors never travel to clients as they are: the connection maps each failure to one of the
//! protocol's error codes (`bad_request`, `forbidden`, ...) or close codes, and logs the cause.
//! Callers of the [`crate::Publisher`] get them as they are.

/// Boxed cause from code outside the hub (for example a [`crate::ConversationAccess`]
/// implementation's database error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not one of the channel names of DESIGN §6.
    #[error("invalid channel name `{0}`")]
    InvalidChannel(String),
    /// The channel exists but takes no publications of this kind from clients, or keeps no
    /// presence.
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The broker cannot serve the request now (Redis is being reconnected); try again.
    #[error("the broker is unavailable")]
    Unavailable,
    /// Something the broker stored could not be read back.
    #[error("malformed broker data: {0}")]
    Malformed(String),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The conversation membership lookup failed.
    #[error("conversation access lookup failed")]
    Access(#[source] BoxError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
