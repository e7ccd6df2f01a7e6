//! The Qivr REST API (`/api/v1`) and the home of the `qivr` binary.
//!
//! # Layout
//!
//! - [`cli`]: the `qivr` subcommands; `serve` wires the database, the API, the realtime hub
//!   and the workers together.
//! - [`app`]: [`Application`], the router and its middleware (request ids, tracing, metrics,
//!   panics and unknown routes as problem+json).
//! - [`routes`]: one module per resource; each lists its handlers for the router and the
//!   OpenAPI document.
//! - [`extract`]: request extractors that name the bad field, and the role guards
//!   ([`extract::Clinic`], [`extract::Admin`]).
//! - [`error`]: [`error::ApiError`], the one error type, mapped to problem+json.
//! - [`audit`]: writing the access audit log in the same transaction as the access.
//! - [`events`]: staging events in the outbox with the change, publishing them after commit.
//! - [`validate`], [`pagination`]: input checks and cursor lists.
//! - [`proms`]: questionnaire definitions, the scoring engine, standard instruments, FHIR.
//! - [`storage`], [`file_types`]: where document bytes live, and which files are accepted.
//! - [`provision`]: `tenant create` and the demo clinics.
//! - [`web`]: serving the built dashboard and portal.
//!
//! Every handler that touches tenant data opens a tenant-scoped transaction
//! ([`extract::Caller::begin`]); row-level security backs up the explicit `tenant_id` filters.

pub mod app;
pub mod audit;
pub mod cli;
pub mod error;
pub mod events;
pub mod extract;
pub mod file_types;
pub mod metrics;
pub mod pagination;
pub mod proms;
pub mod provision;
pub mod routes;
pub mod state;
pub mod storage;
pub mod validate;
pub mod web;

pub use app::Application;
