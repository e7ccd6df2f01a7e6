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
