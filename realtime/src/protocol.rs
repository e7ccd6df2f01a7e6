//! Protocol v1 on the wire (DESIGN §6): the frames clients send, the frames the server sends,
//! and the close codes.
//!
//! Client frames are parsed in two steps, first the envelope (`op`, `id`) and then the fields
//! of that op, so a frame with a known `id` but bad fields gets an `error` echoing its `id`.
//! Event frames are not built here with serde but by [`crate::event`], once per event and
//! node, and shared by every subscriber.
//!
//! Besides the frames DESIGN §6 lists, requests that have no listed answer get a short
//! acknowledgement echoing their `id`: `unsubscribed`, `published` and `refreshed`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// WebSocket close codes of protocol v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// Bad or missing token, auth timeout, revoked session.
    Unauthorized = 4001,
    /// The access token expired without a `refresh`.
    TokenExpired = 4002,
    /// The client fell behind (its queue overflowed) or missed events the hub could not
    /// recover for it: reconnect and subscribe with `since`.
    SlowConsumer = 4008,
    /// Too many frames, too fast.
    RateLimited = 4029,
    /// The server is shutting down: reconnect (elsewhere) and recover.
    ShuttingDown = 4500,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Unauthorized => "unauthorized",
            CloseCode::TokenExpired => "token expired",
            CloseCode::SlowConsumer => "slow consumer",
            CloseCode::RateLimited => "rate limited",
            CloseCode::ShuttingDown => "server shutting down",
        }
    }

    pub fn from_code(code: u16) -> Option<Self> {
        [
            Self::Unauthorized,
            Self::TokenExpired,
            Self::SlowConsumer,
            Self::RateLimited,
            Self::ShuttingDown,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// The `code` of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    /// Not in DESIGN §6's list: the hub could not reach its broker (Redis is restarting).
    /// The request may be retried.
    Unavailable,
}

/// The first parse of every client frame.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub op: String,
    #[serde(default)]
    pub id: Option<u64>,
}

/// A client's position in a channel, as the server last told it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct StreamPosition {
    pub offset: String,
    pub epoch: String,
}

#[derive(Debug, Deserialize)]
pub struct AuthRequest {
    pub token: String,
}

#[derive(Debug, Deserialize)]
pub struct SubscribeRequest {
    pub channel: String,
    #[serde(default)]
    pub since: Option<StreamPosition>,
}

#[derive(Debug, Deserialize)]
pub struct ChannelRequest {
    pub channel: String,
}

#[derive(Debug, Deserialize)]
pub struct PublishRequest {
    pub channel: String,
    pub kind: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Who someone is, as presence and `connected` show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub user_id: Uuid,
    pub name: String,
    pub role: String,
}

/// The user in `connected`, shaped like the `user` of the REST login response.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectedUser {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub role: &'static str,
    pub email: String,
    pub name: String,
}

/// Server frames other than events (see [`crate::event`]).
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Connected {
        id: Option<u64>,
        user: &'a ConnectedUser,
        expires_in: i64,
    },
    Subscribed {
        id: Option<u64>,
        channel: &'a str,
        offset: String,
        epoch: &'a str,
        recovered: bool,
        /// Missed events, oldest first, each exactly the `event` frame it would have been.
        events: Vec<&'a serde_json::value::RawValue>,
    },
    Unsubscribed {
        id: Option<u64>,
        channel: &'a str,
    },
    Published {
        id: Option<u64>,
        channel: &'a str,
    },
    Presence {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        channel: &'a str,
        present: &'a [UserInfo],
    },
    Refreshed {
        id: Option<u64>,
        expires_in: i64,
    },
    RefreshRequired {
        expires_in: i64,
    },
    Error {
        id: Option<u64>,
        code: ErrorCode,
        message: &'a str,
        /// Set when the error concerns a channel outside any request (access withdrawn).
        #[serde(skip_serializing_if = "Option::is_none")]
        channel: Option<&'a str>,
    },
}

impl ServerFrame<'_> {
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }
}

pub fn error_frame(id: Option<u64>, code: ErrorCode, message: &str) -> String {
    ServerFrame::Error {
        id,
        code,
        message,
        channel: None,
    }
    .to_text()
}
