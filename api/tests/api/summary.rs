//! The medical summary and the timeline of a patient's record.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_summary_gathers_conditions_intake_appointments_documents_proms_and_consents() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let intake = app.post("/api/v1/intakes", &patient.access, json!({ "chief_complaint": "Stiff neck", "pain_level": 4 })).await;
    assert_eq!(intake.status, StatusCode::CREATED, "{}", intake.body);
    app.upload(&patient_id, &staff.access, "xray.png", "image/png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await;

    for reader in [&staff, &patient] {
        let summary = app.get(&format!("/api/v1/patients/{patient_id}/summary"), &reader.access).await;
        assert_eq!(summary.status, StatusCode::OK, "{}", summary.body);
        let body = &summary.body;
        assert_eq!(body["patient_id"], patient_id.as_str());
        assert!(body["active_conditions"].as_array().unwrap().iter().all(|c| c["status"] == "active"));
        assert_eq!(body["latest_intake"]["chief_complaint"], "Stiff neck");
        assert_eq!(body["latest_intake"]["status"], "pending");
        assert_eq!(body["recent_documents"][0]["file_name"], "xray.png");
        assert_eq!(body["required_consents_granted"], true);
        assert!(body["consents"].as_array().unwrap().iter().any(|c| c["key"] == "privacy"));
        for upcoming in body["upcoming_appointments"].as_array().unwrap() {
            assert_ne!(upcoming["status"], "cancelled");
        }
        // The demo's patient 1 completed PHQ-9 three times, improving to 5 (mild).
        let phq9 = &body["prom_scores"][0];
        assert_eq!(phq9["instrument"], "phq9", "{}", body["prom_scores"]);
        assert_eq!(phq9["scales"][0]["score"], 5.0);
        assert_eq!(phq9["scales"][0]["band"], "Mild");
    }
    assert_eq!(app.audited("patient.summary", &patient_id).await, 2);

    // A patient who has not granted a required consent is reported as such.
    let admin = app.login("harbour-physio", "admin").await;
    let types = app.get("/api/v1/consent-types", &admin.access).await;
    let treatment = types.body["items"].as_array().unwrap().iter().find(|t| t["key"] == "treatment").unwrap()["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/consent-types/{treatment}/versions"), &admin.access, json!({ "body": "New treatment terms." })).await;
    let after = app.get(&format!("/api/v1/patients/{patient_id}/summary"), &staff.access).await;
    assert_eq!(after.body["required_consents_granted"], false);
}

#[tokio::test]
async fn nobody_but_the_patient_and_their_clinic_sees_the_summary_or_timeline() {
    let app = spawn_app().await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    for intruder in [app.login("harbour-physio", "patient2").await, app.login("summit-health", "staff").await, app.login("summit-health", "admin").await] {
        app.get(&format!("/api/v1/patients/{patient_id}/summary"), &intruder.access).await.assert_problem(404);
        app.get(&format!("/api/v1/patients/{patient_id}/timeline"), &intruder.access).await.assert_problem(404);
    }
    assert_eq!(app.audited("patient.summary", &patient_id).await, 0);
}

#[tokio::test]
async fn the_timeline_merges_the_record_newest_first_across_pages() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient2").await;
    let patient_id = app.patient_id("harbour-physio", 2).await;
    let intake = app.post("/api/v1/intakes", &patient.access, json!({ "chief_complaint": "Ankle sprain", "pain_level": 7 })).await;
    let evaluation_id = intake.body["evaluation_id"].as_str().unwrap().to_string();
    let triage = app.patch(&format!("/api/v1/evaluations/{evaluation_id}"), &staff.access, json!({ "status": "in_review" })).await;
    assert_eq!(triage.status, StatusCode::OK, "{}", triage.body);
    app.upload(&patient_id, &patient.access, "note.txt", "text/plain", b"swelling since Monday".to_vec()).await;
    let conversation = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Ankle", "body": "Should I ice it?" })).await;
    let conversation_id = conversation.body["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/conversations/{conversation_id}/messages"), &staff.access, json!({ "body": "Yes, 20 minutes at a time." })).await;

    let mut entries = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("/api/v1/patients/{patient_id}/timeline?limit=3{cursor}"), &patient.access).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        entries.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let at: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let times: Vec<chrono::DateTime<chrono::Utc>> = at.iter().map(|a| a.parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
    let keys: HashSet<(String, String, String)> = entries.iter().map(|e| (e["at"].to_string(), e["kind"].to_string(), e["resource_id"].to_string())).collect();
    assert_eq!(keys.len(), entries.len(), "no entry twice across pages");

    let find = |kind: &str, title: &str| entries.iter().find(|e| e["kind"] == kind && e["title"] == title).cloned();
    assert!(find("intake.submitted", "Ankle sprain").is_some());
    assert!(find("evaluation.status", "pending").is_some());
    assert!(find("evaluation.status", "in_review").is_some(), "status changes are on the timeline");
    assert!(find("document.uploaded", "note.txt").is_some());
    assert!(find("consent.granted", "Privacy and use of health information").is_some());
    assert_eq!(find("conversation", "Ankle").unwrap()["detail"]["message_count"], 2);
    assert!(entries.iter().any(|e| e["kind"] == "appointment"), "the demo appointments are there");
    assert_eq!(app.audited("patient.timeline", &patient_id).await as usize, entries.len().div_ceil(3).max(1));
}
