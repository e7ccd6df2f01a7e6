//! Black-box tests of the API: the real server on port 0 against a fresh PostgreSQL database
//! per test (`qivr_shared::db::testing`), seeded with the demo clinics.

mod access;
mod appointments;
mod attachments;
mod auth;
mod consents;
mod conventions;
mod documents;
mod email;
mod evaluations;
mod external_identity;
mod helpers;
mod messaging;
mod patients;
mod proms;
mod summary;
mod tenancy;
mod users_and_audit;
