//! Messages that carry documents of the conversation's patient.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_attachment_arrives_live_and_in_history_as_metadata_only() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let content = b"%PDF-1.4\nexercise plan: 3 x 10 calf raises".to_vec();
    let document = app.upload(&patient_id, &staff.access, "exercises.pdf", "application/pdf", content.clone()).await;
    let document_id = document.body["id"].as_str().unwrap().to_string();
    let conversation = app.post("/api/v1/conversations", &staff.access, json!({ "subject": "Your plan", "patient_id": patient_id })).await;
    let id = conversation.body["id"].as_str().unwrap().to_string();
    let mut socket = app.socket(&patient.access).await;
    socket.subscribe(&format!("conversation:{id}")).await;

    let sent = app.post(&format!("/api/v1/conversations/{id}/messages"), &staff.access, json!({ "body": "Here is your plan", "attachment_ids": [document_id] })).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    assert_eq!(sent.body["attachments"][0]["document_id"], document_id.as_str());
    assert_eq!(sent.body["attachments"][0]["file_name"], "exercises.pdf");

    let event = socket.next_event().await;
    assert_eq!(event["kind"], "message.created");
    let attachment = &event["data"]["attachments"][0];
    assert_eq!(attachment["document_id"], document_id.as_str());
    assert_eq!(attachment["patient_id"], patient_id.as_str());
    assert_eq!(attachment["content_type"], "application/pdf");
    assert_eq!(attachment["size_bytes"], content.len());
    assert!(!event.to_string().contains("calf raises"), "the event never carries the content");

    let history = app.get(&format!("/api/v1/conversations/{id}/messages"), &patient.access).await;
    assert_eq!(history.body["items"][0]["attachments"][0]["file_name"], "exercises.pdf");
    let (status, _, bytes) = app.download(&format!("/api/v1/patients/{patient_id}/documents/{document_id}/content"), &patient.access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, content);

    // A message without attachments says so with an empty list.
    let plain = app.post(&format!("/api/v1/conversations/{id}/messages"), &patient.access, json!({ "body": "Thanks!" })).await;
    assert_eq!(plain.body["attachments"], json!([]));
}

#[tokio::test]
async fn only_documents_of_the_conversations_own_patient_can_be_attached() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let other_id = app.patient_id("harbour-physio", 2).await;
    let own = app.upload(&patient_id, &staff.access, "a.txt", "text/plain", b"own".to_vec()).await.body["id"].clone();
    let others = app.upload(&other_id, &staff.access, "b.txt", "text/plain", b"someone else's".to_vec()).await.body["id"].clone();
    let summit_staff = app.login("summit-health", "staff").await;
    let summit_patient = app.patient_id("summit-health", 1).await;
    let foreign = app.upload(&summit_patient, &summit_staff.access, "c.txt", "text/plain", b"other clinic".to_vec()).await.body["id"].clone();
    let conversation = app.post("/api/v1/conversations", &staff.access, json!({ "subject": "Docs", "patient_id": patient_id })).await;
    let path = format!("/api/v1/conversations/{}/messages", conversation.body["id"].as_str().unwrap());

    for (ids, field) in [
        (json!([own, others]), "attachment_ids[1]"),
        (json!([foreign]), "attachment_ids[0]"),
        (json!([uuid::Uuid::new_v4()]), "attachment_ids[0]"),
        (json!([own, own]), "attachment_ids[1]"),
    ] {
        let refused = app.post(&path, &staff.access, json!({ "body": "see attached", "attachment_ids": ids })).await;
        refused.assert_problem(422);
        assert_eq!(refused.fields(), [field]);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE body = 'see attached'").fetch_one(&app.owner).await.unwrap();
    assert_eq!(stored, 0, "a refused message is not stored");
}
