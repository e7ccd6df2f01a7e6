//! The REST API under `/api/v1`, one module per resource. Each module's `routes()` lists its
//! handlers; the OpenAPI document is collected from their `#[utoipa::path]` attributes.

pub mod appointments;
pub mod audit;
pub mod auth;
pub mod consents;
pub mod conversations;
pub mod documents;
pub mod evaluations;
pub mod health;
pub mod identity_providers;
pub mod mailbox;
pub mod notification_preferences;
pub mod patients;
pub mod proms;
pub mod providers;
pub mod records;
pub mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(patients::routes())
        .merge(evaluations::routes())
        .merge(providers::routes())
        .merge(appointments::routes())
        .merge(conversations::routes())
        .merge(proms::routes())
        .merge(documents::routes())
        .merge(consents::routes())
        .merge(records::routes())
        .merge(audit::routes())
        .merge(identity_providers::routes())
        .merge(mailbox::routes())
        .merge(notification_preferences::routes())
}
