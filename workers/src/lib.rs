//! Background work, run by `qivr serve` (role `workers`) or `qivr worker`.
//!
//! # Layout
//!
//! - [`relay`]: the outbox relay, and marking rows the fast path published.
//! - [`email`]: delivering queued emails through SES v2, or keeping them in the dev mailbox.
//! - [`notifications`]: queueing "you have an unread message" emails for offline recipients.
//! - [`appointments`]: appointment emails, and queueing reminders before appointments.
//! - [`prom_reminders`]: queueing "your questionnaire is due" emails.
//!
//! Work queues are tables claimed with `FOR UPDATE SKIP LOCKED`, so any number of worker
//! processes share them safely. Workers read across clinics only in transactions that say so
//! (`app.relay` / `app.worker`), which row-level security admits.

pub mod appointments;
pub mod email;
pub mod notifications;
pub mod prom_reminders;
pub mod relay;
