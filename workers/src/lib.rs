//! Background work: the outbox relay that publishes whatever the fast path missed, the job
//! queue (claimed with `FOR UPDATE SKIP LOCKED`), notifications, reminders, and email through
//! SES v2 (or the dev mailbox).
