//! The application state handed to every handler.

use std::ops::Deref;
use std::sync::Arc;

use qivr_realtime::Publisher;
use qivr_shared::auth::Authenticator;
use qivr_shared::Config;
use sqlx::PgPool;

use crate::events::Events;
use crate::metrics::HttpMetrics;
use crate::routes::auth::LoginThrottle;
use crate::storage::Storage;

/// Cheap to clone: handlers get `State<AppState>` and read through to [`App`].
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

pub struct App {
    pub config: Config,
    /// Connections run as the RLS-bound application role; see `qivr_shared::db`.
    pub pool: PgPool,
    /// Shared with the realtime hub, which authenticates WebSocket connections the same way.
    pub auth: Arc<Authenticator>,
    /// Per-address limit on login attempts, on top of the per-account lockout.
    pub login_throttle: LoginThrottle,
    pub metrics: HttpMetrics,
    /// Publishes committed changes to realtime subscribers (the outbox fast path).
    pub events: Events,
    /// For what is not an event: disconnecting revoked sessions and disabled users.
    pub realtime: Publisher,
    /// Where document bytes are kept.
    pub storage: Storage,
    /// Only for `/readyz`; the realtime broker keeps its own connections.
    pub redis: Option<redis::Client>,
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}
