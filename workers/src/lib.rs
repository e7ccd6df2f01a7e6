//! Background work: the outbox relay that publishes whatever the fast path missed, and (as
//! their issues land) the job queue claimed with `FOR UPDATE SKIP LOCKED`, notifications,
//! reminders, and email through SES v2 or the dev mailbox.
//!
//! # Layout
//!
//! - [`relay`]: the outbox relay, and marking rows the fast path published.

pub mod relay;
