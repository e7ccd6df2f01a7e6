//! Patient documents: streamed upload and download, the type and size limits, who may see
//! what, and the S3 backend against a real S3-compatible server (the npm package `s3rver`,
//! installed under `tools/s3-emulator`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{files_below, spawn_app, spawn_app_with, TestApp};

/// A PDF-looking file of `len` bytes whose content varies, so a reordered or truncated
/// download cannot compare equal.
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| (i * 31 % 251) as u8));
    bytes
}

async fn round_trip(app: &TestApp, size: usize) {
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let content = pdf(size);
    let uploaded = app.upload(&patient_id, &staff.access, "Referral letter (Dr Ng).pdf", "application/pdf", content.clone()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    assert_eq!(uploaded.body["content_type"], "application/pdf");
    assert_eq!(uploaded.body["size_bytes"], size);
    assert_eq!(uploaded.body["category"], "referral");
    assert_eq!(uploaded.body["uploaded_by_role"], "staff");
    let id = uploaded.body["id"].as_str().unwrap();

    for reader in [&staff, &patient] {
        let (status, headers, bytes) = app.download(&format!("/api/v1/patients/{patient_id}/documents/{id}/content"), &reader.access).await;
        assert_eq!(status, StatusCode::OK);
        assert!(bytes == content, "the downloaded bytes are the uploaded bytes");
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''Referral%20letter%20%28Dr%20Ng%29.pdf"), "{disposition}");
    }
    let listed = app.get(&format!("/api/v1/patients/{patient_id}/documents"), &patient.access).await;
    assert_eq!(listed.body["items"][0]["id"], id);
}

#[tokio::test]
async fn an_uploaded_document_downloads_byte_for_byte_for_staff_and_the_patient() {
    let app = spawn_app().await;
    round_trip(&app, 300_000).await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    assert_eq!(app.audited("document.create", &patient_id).await, 1);
    assert_eq!(app.audited("document.download", &patient_id).await, 2);
    assert_eq!(app.audited("document.list", &patient_id).await, 1);
    assert_eq!(app.files.files().len(), 1, "the bytes are in the configured directory");
}

#[tokio::test]
async fn an_oversized_upload_is_cut_off_with_413_and_leaves_nothing_behind() {
    // Over the limit only after some parts were written out: those go too.
    let app = spawn_app_with(|config| config.documents.max_upload_bytes = 512 * 1024).await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let refused = app.upload(&patient_id, &staff.access, "scan.pdf", "application/pdf", pdf(2 * 1024 * 1024)).await;
    refused.assert_problem(413);
    assert_eq!(refused.fields(), ["file"]);
    assert!(refused.body["detail"].as_str().unwrap().contains("524288"), "{}", refused.body);
    assert!(app.files.files().is_empty(), "no partial file stays in storage: {:?}", app.files.files());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&app.owner).await.unwrap();
    assert_eq!(rows, 0);
    let fits = app.upload(&patient_id, &staff.access, "scan.pdf", "application/pdf", pdf(512 * 1024)).await;
    assert_eq!(fits.status, StatusCode::CREATED, "exactly the limit is fine: {}", fits.body);
}

#[tokio::test]
async fn disallowed_types_and_content_that_is_not_what_it_claims_are_refused() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient2").await;
    let patient_id = app.patient_id("harbour-physio", 2).await;

    let executable = app.upload(&patient_id, &patient.access, "setup.exe", "application/x-msdownload", b"MZ\x90\0\x03\0\0\0".to_vec()).await;
    executable.assert_problem(415);
    assert_eq!(executable.fields(), ["file"]);
    assert!(executable.body["detail"].as_str().unwrap().contains("application/x-msdownload"));

    let html = app.upload(&patient_id, &patient.access, "page.html", "text/html", b"<script>alert(1)</script>".to_vec()).await;
    html.assert_problem(415);

    let disguised = app.upload(&patient_id, &patient.access, "photo.png", "image/png", pdf(2000)).await;
    disguised.assert_problem(422);
    assert_eq!(disguised.fields(), ["file"]);
    assert!(disguised.body["errors"][0]["message"].as_str().unwrap().contains("image/png"));

    let binary_as_text = app.upload(&patient_id, &patient.access, "notes.txt", "text/plain", b"MZ\x90\0\x03\0".to_vec()).await;
    binary_as_text.assert_problem(422);

    let empty = app.upload(&patient_id, &patient.access, "empty.pdf", "application/pdf", Vec::new()).await;
    empty.assert_problem(422);

    let not_multipart = app.post(&format!("/api/v1/patients/{patient_id}/documents"), &patient.access, json!({ "file": "x" })).await;
    not_multipart.assert_problem(415);
    assert_eq!(not_multipart.fields(), ["content-type"]);

    let png = app.upload(&patient_id, &patient.access, "photo.png", "image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await;
    assert_eq!(png.status, StatusCode::CREATED, "{}", png.body);
    assert!(app.files.files().len() == 1, "only the accepted upload is stored");
}

#[tokio::test]
async fn patients_see_only_their_own_documents_and_other_clinics_see_none() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let owner_id = app.patient_id("harbour-physio", 1).await;
    let uploaded = app.upload(&owner_id, &staff.access, "results.pdf", "application/pdf", pdf(1000)).await;
    let id = uploaded.body["id"].as_str().unwrap();

    let intruders = [app.login("harbour-physio", "patient2").await, app.login("summit-health", "staff").await, app.login("summit-health", "patient1").await];
    for intruder in &intruders {
        app.get(&format!("/api/v1/patients/{owner_id}/documents"), &intruder.access).await.assert_problem(404);
        app.get(&format!("/api/v1/patients/{owner_id}/documents/{id}"), &intruder.access).await.assert_problem(404);
        let (status, _, bytes) = app.download(&format!("/api/v1/patients/{owner_id}/documents/{id}/content"), &intruder.access).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!bytes.starts_with(b"%PDF"), "no content leaks");
        app.delete(&format!("/api/v1/patients/{owner_id}/documents/{id}"), &intruder.access).await.assert_problem(404);
        app.upload(&owner_id, &intruder.access, "mine.pdf", "application/pdf", pdf(100)).await.assert_problem(404);
    }
    // Another patient's id in the path of one's own document is no way in either.
    let other_id = app.patient_id("harbour-physio", 2).await;
    app.get(&format!("/api/v1/patients/{other_id}/documents/{id}"), &staff.access).await.assert_problem(404);
}

#[tokio::test]
async fn patients_remove_what_they_uploaded_but_not_what_the_clinic_added() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient3").await;
    let patient_id = app.patient_id("harbour-physio", 3).await;
    let theirs = app.upload(&patient_id, &patient.access, "note.txt", "text/plain", b"knee hurts on stairs\n".to_vec()).await;
    assert_eq!(theirs.body["uploaded_by_role"], "patient");
    let clinics = app.upload(&patient_id, &staff.access, "plan.pdf", "application/pdf", pdf(500)).await;
    let path = |body: &serde_json::Value| format!("/api/v1/patients/{patient_id}/documents/{}", body["id"].as_str().unwrap());

    app.delete(&path(&clinics.body), &patient.access).await.assert_problem(403);
    assert_eq!(app.delete(&path(&theirs.body), &patient.access).await.status, StatusCode::NO_CONTENT);
    app.get(&path(&theirs.body), &patient.access).await.assert_problem(404);
    let listed = app.get(&format!("/api/v1/patients/{patient_id}/documents"), &staff.access).await;
    let names: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|d| d["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["plan.pdf"]);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM documents WHERE deleted_at IS NOT NULL").fetch_one(&app.owner).await.unwrap();
    assert_eq!(kept, 1, "deletion is soft");
    assert_eq!(app.audited("document.delete", &patient_id).await, 1);
}

/// A running `s3rver`, killed when dropped.
struct S3Emulator {
    endpoint: String,
    dir: std::path::PathBuf,
    child: Child,
}

impl S3Emulator {
    async fn start(bucket: &str) -> Self {
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/s3-emulator/node_modules/.bin/s3rver");
        assert!(std::path::Path::new(bin).exists(), "install the S3 emulator: npm ci --prefix tools/s3-emulator (scripts/test.sh does)");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("qivr-s3rver-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(bin)
            .args(["--silent", "--address", "127.0.0.1", "--port", &port.to_string(), "--directory"])
            .arg(dir.join("data"))
            .arg("--configure-bucket")
            .arg(bucket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3rver starts");
        // Owned from here on, so it is stopped (on drop) on every path.
        let emulator = Self { endpoint: format!("http://127.0.0.1:{port}"), dir, child };
        for _ in 0..100 {
            if reqwest::get(&emulator.endpoint).await.is_ok() {
                return emulator;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("s3rver did not come up");
    }
}

impl Drop for S3Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn the_s3_backend_round_trips_documents_through_a_real_s3_server() {
    let s3 = S3Emulator::start("qivr-docs").await;
    let endpoint = s3.endpoint.clone();
    let app = spawn_app_with(|config| {
        config.storage = Some("s3://qivr-docs/clinics".into());
        config.documents.s3_endpoint = Some(endpoint);
        config.documents.s3_access_key_id = Some("S3RVER".into());
        config.documents.s3_secret_access_key = Some("S3RVER".to_string().into());
        config.documents.max_upload_bytes = 8 * 1024 * 1024;
    })
    .await;
    // Larger than one part, so the upload goes to S3 as a multipart upload.
    round_trip(&app, 6 * 1024 * 1024 + 123).await;
    assert!(app.files.files().is_empty(), "nothing went to local files");

    let staff = app.login("harbour-physio", "staff").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let refused = app.upload(&patient_id, &staff.access, "huge.pdf", "application/pdf", pdf(9 * 1024 * 1024)).await;
    refused.assert_problem(413);
    let listed = app.get(&format!("/api/v1/patients/{patient_id}/documents"), &staff.access).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "the refused upload left no document");
    let stored: Vec<String> = files_below(&s3.dir).iter().map(|p| p.display().to_string()).filter(|p| p.ends_with("._S3rver_object")).collect();
    assert_eq!(stored.len(), 1, "only the accepted upload is an object in the bucket: {stored:?}");
    assert!(stored[0].contains("/qivr-docs/clinics/"), "stored under the configured prefix: {stored:?}");
}

