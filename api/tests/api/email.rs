//! Email through the real SES v2 client against a real SES v2 emulator (the npm package
//! `aws-ses-v2-local`, installed under `tools/ses-emulator`), read back from its `GET /store`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

/// A running emulator, killed when dropped.
struct SesEmulator {
    url: String,
    child: Child,
}

impl SesEmulator {
    async fn start() -> Self {
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/ses-emulator/node_modules/.bin/aws-ses-v2-local");
        assert!(std::path::Path::new(bin).exists(), "install the SES emulator: npm ci --prefix tools/ses-emulator (scripts/test.sh does)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{url}/store")).await.is_ok() {
                return Self { url, child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the SES emulator did not come up");
    }

    /// Every email the emulator received for `address`.
    async fn sent_to(&self, address: &str) -> Vec<Value> {
        let store: Value = reqwest::get(format!("{}/store", self.url)).await.unwrap().json().await.unwrap();
        store["emails"].as_array().unwrap().iter().filter(|email| email.to_string().contains(address)).cloned().collect()
    }

    /// Waits up to 20 s for at least `count` emails to `address`.
    async fn wait_for(&self, address: &str, count: usize) -> Vec<Value> {
        for _ in 0..200 {
            let sent = self.sent_to(address).await;
            if sent.len() >= count {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no email to {address} arrived");
    }
}

impl Drop for SesEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn app_with_ses(ses: &SesEmulator) -> TestApp {
    let url = ses.url.clone();
    spawn_app_with(move |config| {
        config.ses_endpoint = Some(url);
        config.email.unread_notify_after_secs = 1;
    })
    .await
}

async fn staff_writes_to(app: &TestApp, patient: usize, text: &str) -> String {
    let staff = app.login("harbour-physio", "staff").await;
    let patient_id = app.patient_id("harbour-physio", patient).await;
    let started = app.post("/api/v1/conversations", &staff.access, json!({ "subject": "Your results", "patient_id": patient_id, "body": text })).await;
    started.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_unread_message_to_an_offline_patient_sends_exactly_one_email_without_its_text() {
    let ses = SesEmulator::start().await;
    let app = app_with_ses(&ses).await;
    staff_writes_to(&app, 1, "Your MRI shows a small L4-L5 disc bulge").await;

    let sent = ses.wait_for("patient1@harbour-physio.test", 1).await;
    assert!(sent[0].to_string().contains("unread message"), "{}", sent[0]);
    assert!(!sent[0].to_string().contains("MRI"), "the email must not contain the message: {}", sent[0]);

    // Later passes do not send it again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(ses.sent_to("patient1@harbour-physio.test").await.len(), 1);
    let status: String = sqlx::query_scalar("SELECT status FROM emails WHERE kind = 'unread_message' AND to_address = 'patient1@harbour-physio.test'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(status, "sent");
}

#[tokio::test]
async fn a_recipient_who_is_online_in_the_conversation_gets_no_email() {
    let ses = SesEmulator::start().await;
    let app = app_with_ses(&ses).await;
    let patient = app.login("harbour-physio", "patient2").await;
    let started = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Question" })).await;
    let id = started.body["id"].as_str().unwrap();
    let mut open = app.socket(&patient.access).await;
    open.subscribe(&format!("conversation:{id}")).await;

    let staff = app.login("harbour-physio", "staff").await;
    app.post(&format!("/api/v1/conversations/{id}/messages"), &staff.access, json!({ "body": "Call us when you can" })).await;
    // An offline patient in the same run does get theirs, which shows the notifier ran.
    staff_writes_to(&app, 3, "Reminder about your exercises").await;
    ses.wait_for("patient3@harbour-physio.test", 1).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    assert!(ses.sent_to("patient2@harbour-physio.test").await.is_empty());
}

#[tokio::test]
async fn invitations_go_out_through_ses_once() {
    let ses = SesEmulator::start().await;
    let app = app_with_ses(&ses).await;
    let admin = app.login("harbour-physio", "admin").await;
    app.post("/api/v1/users", &admin.access, json!({ "email": "new.hire@harbour-physio.test", "name": "New Hire", "role": "staff" })).await;
    let sent = ses.wait_for("new.hire@harbour-physio.test", 1).await;
    assert!(sent[0].to_string().contains("accept-invite"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ses.sent_to("new.hire@harbour-physio.test").await.len(), 1);
}

#[tokio::test]
async fn appointment_emails_each_arrive_once_reminders_included() {
    let ses = SesEmulator::start().await;
    let app = app_with_ses(&ses).await;
    let admin = app.login("harbour-physio", "admin").await;
    let staff = app.login("harbour-physio", "staff").await;
    let settings = app.patch("/api/v1/clinic/settings", &admin.access, json!({ "reminder_hours": 1, "timezone": "Europe/London" })).await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let provider = app.post("/api/v1/providers", &admin.access, json!({ "name": "Dr Reminder" })).await;
    let patient = app
        .post("/api/v1/patients", &staff.access, json!({ "first_name": "Rita", "last_name": "Reminded", "date_of_birth": "1980-01-01", "email": "rita@example.test" }))
        .await;
    let at = |minutes: i64| {
        let start = chrono::Utc::now() + chrono::Duration::minutes(minutes);
        (start.to_rfc3339(), (start + chrono::Duration::minutes(30)).to_rfc3339())
    };
    let (starts_at, ends_at) = at(180);
    let booked = app
        .post(
            "/api/v1/appointments",
            &staff.access,
            json!({ "patient_id": patient.body["id"], "provider_id": provider.body["id"], "starts_at": starts_at, "ends_at": ends_at }),
        )
        .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let path = format!("/api/v1/appointments/{}", booked.body["id"].as_str().unwrap());

    // Three hours ahead is outside the one-hour window: no reminder yet.
    qivr_workers::appointments::remind_once(&app.pool).await.unwrap();
    let reminders = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM emails WHERE to_address = 'rita@example.test' AND kind = 'appointment_reminder'")
            .fetch_one(&app.owner)
            .await
            .unwrap()
    };
    assert_eq!(reminders().await, 0);

    // Moved to within the window: a "changed" email, then one reminder however often the pass runs.
    let (starts_at, ends_at) = at(40);
    let moved = app.patch(&path, &staff.access, json!({ "starts_at": starts_at, "ends_at": ends_at })).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    qivr_workers::appointments::remind_once(&app.pool).await.unwrap();
    qivr_workers::appointments::remind_once(&app.pool).await.unwrap();
    assert_eq!(reminders().await, 1);
    let cancelled = app.patch(&path, &staff.access, json!({ "status": "cancelled" })).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    let sent = ses.wait_for("rita@example.test", 4).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent_again = ses.sent_to("rita@example.test").await;
    assert_eq!(sent_again.len(), 4, "each email once: {sent_again:?}");
    let all = Value::Array(sent).to_string();
    for subject in ["Appointment booked with Dr Reminder", "Appointment changed with Dr Reminder", "Reminder: your appointment with Dr Reminder", "Appointment cancelled with Dr Reminder"] {
        assert!(all.contains(subject), "{subject} missing from {all}");
    }
    assert!(all.contains("GMT") || all.contains("BST"), "times are in the clinic's zone: {all}");
}

#[tokio::test]
async fn patients_who_turn_a_kind_off_get_none_of_it() {
    let app = spawn_app_with(|_| {}).await;
    let patient = app.login("harbour-physio", "patient4").await;
    let kinds = app.get("/api/v1/me/notification-preferences", &patient.access).await;
    let listed: Vec<&str> = kinds.body.as_array().unwrap().iter().map(|k| k["kind"].as_str().unwrap()).collect();
    assert_eq!(listed, ["unread_message", "appointment", "appointment_reminder", "prom"]);
    assert!(kinds.body.as_array().unwrap().iter().all(|k| k["email"] == true), "on by default");

    let off = app.request(reqwest::Method::PUT, "/api/v1/me/notification-preferences/appointment", Some(&patient.access), Some(json!({ "email": false }))).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["email"], false);
    let unknown = app.request(reqwest::Method::PUT, "/api/v1/me/notification-preferences/newsletter", Some(&patient.access), Some(json!({ "email": false }))).await;
    unknown.assert_problem(404);
    let bad = app.request(reqwest::Method::PUT, "/api/v1/me/notification-preferences/prom", Some(&patient.access), Some(json!({ "email": "no" }))).await;
    bad.assert_problem(422);
    assert_eq!(bad.fields(), ["email"]);

    // Staff are never offered patients' kinds.
    let staff = app.login("harbour-physio", "staff").await;
    let staff_kinds = app.get("/api/v1/me/notification-preferences", &staff.access).await;
    assert_eq!(staff_kinds.body.as_array().unwrap().len(), 1);
    app.request(reqwest::Method::PUT, "/api/v1/me/notification-preferences/appointment", Some(&staff.access), Some(json!({ "email": false }))).await.assert_problem(404);

    let provider = app.get("/api/v1/providers", &staff.access).await.body["items"][0]["id"].clone();
    let start = chrono::Utc::now() + chrono::Duration::days(9);
    let booked = app
        .post(
            "/api/v1/appointments",
            &staff.access,
            json!({ "patient_id": app.patient_id("harbour-physio", 4).await, "provider_id": provider,
                    "starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::minutes(30)).to_rfc3339() }),
        )
        .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM emails WHERE to_address = 'patient4@harbour-physio.test' AND kind = 'appointment'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn admins_read_the_clinics_mailbox_and_nobody_else_does() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.login("harbour-physio", "admin").await;
    app.post("/api/v1/users", &admin.access, json!({ "email": "mailbox.reader@harbour-physio.test", "name": "Mail Reader", "role": "staff" })).await;

    let listed = app.get("/api/v1/mailbox?to=Mailbox.Reader@harbour-physio.test", &admin.access).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "invitation");
    let id = items[0]["id"].as_str().unwrap();
    let email = app.get(&format!("/api/v1/mailbox/{id}"), &admin.access).await;
    assert!(email.body["body_text"].as_str().unwrap().contains("accept-invite"));

    app.get("/api/v1/mailbox?status=lost", &admin.access).await.assert_problem(422);
    let staff = app.login("harbour-physio", "staff").await;
    app.get("/api/v1/mailbox", &staff.access).await.assert_problem(403);
    let other = app.login("summit-health", "admin").await;
    app.get(&format!("/api/v1/mailbox/{id}"), &other.access).await.assert_problem(404);
    let theirs = app.get("/api/v1/mailbox?to=mailbox.reader@harbour-physio.test", &other.access).await;
    assert!(theirs.body["items"].as_array().unwrap().is_empty());
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM access_audit WHERE action = 'mailbox.read'").fetch_one(&app.owner).await.unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn offline_staff_are_told_a_patients_message_is_waiting_without_its_text() {
    let app = spawn_app_with(|config| config.email.unread_notify_after_secs = 1).await;
    let patient = app.login("harbour-physio", "patient2").await;
    app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Sore knee", "body": "My knee clicks when I squat" })).await;
    let mut subject = None;
    for _ in 0..100 {
        subject = sqlx::query_scalar::<_, String>(
            "SELECT e.subject FROM emails e WHERE e.to_address = 'staff2@harbour-physio.test' AND e.kind = 'unread_message'
               AND e.idempotency_key LIKE 'unread:' || (SELECT id FROM conversations WHERE subject = 'Sore knee') || ':%'",
        )
        .fetch_optional(&app.owner)
        .await
        .unwrap();
        if subject.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let subject = subject.expect("an unread-message email to offline staff");
    assert_eq!(subject, "A patient's message is waiting in Harbour Physiotherapy's inbox");
    let body: String = sqlx::query_scalar("SELECT body_text FROM emails WHERE subject = $1 AND to_address = 'staff2@harbour-physio.test'")
        .bind(&subject)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(!body.contains("clicks"), "{body}");
}
