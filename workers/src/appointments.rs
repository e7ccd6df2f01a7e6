//! Appointment emails: booked, changed and cancelled (queued by the API in the transaction that
//! makes the change) and the reminder before it (queued here, `reminder_hours` before the start,
//! a per-clinic setting).
//!
//! Each is queued once: the idempotency key names the appointment, what happened and a version
//! (for a reminder, the start time, so an appointment moved after its reminder is reminded of
//! again). Patients who turned a kind off (`notification_preferences`) get none of it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::email::worker_transaction;

const INTERVAL: Duration = Duration::from_secs(30);

/// What an appointment email tells the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Booked,
    Changed,
    Cancelled,
    Reminder,
}

impl What {
    /// The notification kind a patient can turn off.
    pub fn kind(self) -> &'static str {
        match self {
            What::Reminder => "appointment_reminder",
            _ => "appointment",
        }
    }

    fn word(self) -> &'static str {
        match self {
            What::Booked => "booked",
            What::Changed => "changed",
            What::Cancelled => "cancelled",
            What::Reminder => "reminder",
        }
    }

    /// The idempotency key of this email about an appointment at `version` (its `updated_at`,
    /// or for a reminder its start).
    pub fn idempotency_key(self, appointment_id: impl std::fmt::Display, version: DateTime<Utc>) -> String {
        format!("appointment:{appointment_id}:{}:{}", self.word(), version.timestamp_micros())
    }
}

/// The facts an appointment email states; the time is shown in the clinic's time zone.
pub struct Notice<'a> {
    pub first_name: &'a str,
    pub provider: &'a str,
    pub clinic: &'a str,
    pub starts_at: DateTime<Utc>,
    pub timezone: &'a str,
}

impl Notice<'_> {
    /// One line saying what happened and when: the email's subject, and the system message in
    /// the patient's conversation.
    pub fn headline(&self, what: What) -> String {
        match what {
            What::Reminder => format!("Reminder: your appointment with {} on {}", self.provider, self.when()),
            _ => format!("Appointment {} with {}: {}", what.word(), self.provider, self.when()),
        }
    }

    /// Subject and body. Only the time, provider and clinic: never notes or the reason for the
    /// visit, which are health data.
    pub fn compose(&self, what: What) -> (String, String) {
        let when = self.when();
        let line = match what {
            What::Reminder => format!("This is a reminder of your appointment with {} at {} on {when}.", self.provider, self.clinic),
            _ => format!("Your appointment with {} at {} on {when} has been {}.", self.provider, self.clinic, what.word()),
        };
        let body = format!("Hello {},\n\n{line}\n\nYou can see your appointments in the patient portal.\n", self.first_name);
        (self.headline(what), body)
    }

    fn when(&self) -> String {
        let zone: Tz = self.timezone.parse().unwrap_or(Tz::UTC);
        self.starts_at.with_timezone(&zone).format("%A %-d %B %Y, %H:%M %Z").to_string()
    }
}

/// Queues appointment reminders until `shutdown` is cancelled.
pub async fn run(pool: PgPool, shutdown: CancellationToken) {
    loop {
        if let Err(error) = remind_once(&pool).await {
            tracing::warn!(error = format!("{error:#}"), "appointment reminder pass failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}

/// One pass over every clinic; returns how many reminders it queued.
#[tracing::instrument(skip_all)]
pub async fn remind_once(pool: &PgPool) -> anyhow::Result<usize> {
    let mut tx = worker_transaction(pool).await?;
    // Appointments still on that start within their clinic's reminder window, whose patient has
    // an address and has not turned reminders off.
    // language=PostgreSQL
    let due = sqlx::query!(
        r#"SELECT a.id, a.tenant_id, a.starts_at, p.email AS "email!", p.first_name, v.name AS provider,
                  t.name AS clinic, s.timezone
           FROM appointments a
           JOIN patients p ON p.tenant_id = a.tenant_id AND p.id = a.patient_id
           JOIN providers v ON v.tenant_id = a.tenant_id AND v.id = a.provider_id
           JOIN clinic_settings s ON s.tenant_id = a.tenant_id
           JOIN tenants t ON t.id = a.tenant_id
           WHERE a.deleted_at IS NULL AND a.status IN ('scheduled', 'confirmed')
             AND a.starts_at > now() AND a.starts_at <= now() + make_interval(hours => s.reminder_hours)
             AND p.deleted_at IS NULL AND p.email IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM notification_preferences n
                             WHERE n.tenant_id = a.tenant_id AND n.user_id = p.user_id
                               AND n.kind = 'appointment_reminder' AND NOT n.email)
           ORDER BY a.starts_at
           LIMIT 500"#
    )
    .fetch_all(&mut *tx)
    .await?;

    let mut queued = 0;
    for row in due {
        let notice = Notice { first_name: &row.first_name, provider: &row.provider, clinic: &row.clinic, starts_at: row.starts_at, timezone: &row.timezone };
        let (subject, body) = notice.compose(What::Reminder);
        // language=PostgreSQL
        let inserted = sqlx::query!(
            "INSERT INTO emails (tenant_id, idempotency_key, to_address, subject, body_text, kind)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
            row.tenant_id,
            What::Reminder.idempotency_key(row.id, row.starts_at),
            row.email,
            subject,
            body,
            What::Reminder.kind(),
        )
        .execute(&mut *tx)
        .await?;
        queued += inserted.rows_affected() as usize;
    }
    tx.commit().await?;
    if queued > 0 {
        tracing::info!(queued, "appointment reminders queued");
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_show_the_clinic_time_and_no_clinical_detail() {
        let notice = Notice {
            first_name: "Pat",
            provider: "Dr Lee",
            clinic: "Harbour Physio",
            starts_at: "2026-12-01T22:30:00Z".parse().unwrap(),
            timezone: "Australia/Sydney",
        };
        let (subject, body) = notice.compose(What::Reminder);
        assert_eq!(subject, "Reminder: your appointment with Dr Lee on Wednesday 2 December 2026, 09:30 AEDT");
        assert!(body.starts_with("Hello Pat,"));
        assert!(body.contains("with Dr Lee at Harbour Physio"));
        let (subject, _) = notice.compose(What::Cancelled);
        assert_eq!(subject, "Appointment cancelled with Dr Lee: Wednesday 2 December 2026, 09:30 AEDT");
    }

    #[test]
    fn a_moved_appointment_gets_a_new_reminder_key() {
        let at: DateTime<Utc> = "2026-12-01T22:30:00Z".parse().unwrap();
        let id = uuid::Uuid::nil();
        assert_ne!(What::Reminder.idempotency_key(id, at), What::Reminder.idempotency_key(id, at + chrono::Duration::hours(1)));
        assert_ne!(What::Reminder.idempotency_key(id, at), What::Booked.idempotency_key(id, at));
    }
}
