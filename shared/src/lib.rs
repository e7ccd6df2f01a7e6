//! Everything the Qivr crates share and nothing that belongs to one of them.
//!
//! # Layout
//!
//! - [`config`]: the typed configuration (environment + optional `qivr.toml`) with the
//!   embedded defaults, loaded once at start-up and passed down explicitly.
//! - [`problem`]: RFC 9457 problem details, the one error body every HTTP endpoint returns.
//! - [`db`]: the PostgreSQL pool (running as the RLS-bound application role), migrations, and
//!   the embedded private cluster used when no `DATABASE_URL` is configured.
//! - [`tenancy`]: opening a transaction scoped to one tenant, which is how every query that
//!   touches tenant data reaches the database.
//! - [`auth`]: passwords, our own JWTs and their keys, external per-tenant identity providers,
//!   and the [`auth::Authenticator`] that turns a bearer token into a [`auth::Principal`].
//!
//! The API, the realtime hub and the workers depend on this crate; it depends on none of them.

pub mod auth;
pub mod config;
pub mod db;
pub mod problem;
pub mod tenancy;

pub use config::Config;
pub use problem::{FieldError, Problem};
