//! The hub's tests: real servers on port 0, a fresh PostgreSQL database each
//! (`#[sqlx::test]`), and the local Redis under a key prefix of their own.

mod helpers;

mod access;
mod delivery;
mod lifecycle;
mod presence;
mod protocol;
mod recovery;
mod redis_restart;
