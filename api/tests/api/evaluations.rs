//! Intake → evaluation queue, live: a patient's intake reaches open dashboards through the
//! hub, triage changes reach every staff member and the patient.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

fn intake() -> serde_json::Value {
    json!({
        "chief_complaint": "Lower back pain after lifting",
        "pain_level": 6,
        "pain_areas": ["lower back", "left hip"],
        "onset": "2 weeks ago",
        "goals": "Back to gardening",
    })
}

#[tokio::test]
async fn a_patients_intake_appears_live_in_the_clinic_queue() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let mut dashboard = app.socket(&staff.access).await;
    dashboard.subscribe("evaluations").await;
    // Another clinic's dashboard must hear nothing.
    let other = app.login("summit-health", "staff").await;
    let mut other_dashboard = app.socket(&other.access).await;
    other_dashboard.subscribe("evaluations").await;

    let submitted = app.post("/api/v1/intakes", &patient.access, intake()).await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    assert_eq!(submitted.body["status"], "pending");
    let evaluation_id = submitted.body["evaluation_id"].as_str().unwrap().to_string();

    let event = dashboard.next_event().await;
    assert_eq!(event["kind"], "evaluation.created");
    assert_eq!(event["data"]["id"], evaluation_id.as_str());
    assert_eq!(event["data"]["patient_name"], "Olivia Bennett");
    assert_eq!(event["data"]["chief_complaint"], "Lower back pain after lifting");
    assert_eq!(event["data"]["urgency"], "routine");
    assert!(other_dashboard.event_within(300).await.is_none());

    let queue = app.get("/api/v1/evaluations?status=pending", &staff.access).await;
    assert_eq!(queue.body["items"][0]["id"], evaluation_id.as_str());
    assert_eq!(queue.body["items"][0], event["data"], "the event carries the queue item as the list shows it");
    let mine = app.get("/api/v1/intakes", &patient.access).await;
    assert_eq!(mine.body["items"][0]["evaluation_id"], evaluation_id.as_str());
}

#[tokio::test]
async fn triage_changes_reach_other_staff_and_the_patient_live() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let staff2 = app.login("harbour-physio", "staff2").await;
    let patient = app.login("harbour-physio", "patient2").await;
    let submitted = app.post("/api/v1/intakes", &patient.access, intake()).await;
    let id = submitted.body["evaluation_id"].as_str().unwrap().to_string();

    let mut colleague = app.socket(&staff2.access).await;
    colleague.subscribe("evaluations").await;
    let mut portal = app.socket(&patient.access).await;
    portal.subscribe(&format!("user:{}", patient.id())).await;

    let changed = app
        .patch(&format!("/api/v1/evaluations/{id}"), &staff.access, json!({ "status": "in_review", "assignee_user_id": staff.id(), "notes": "Call back today" }))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["assignee_name"], "Sam Taylor");

    let seen = colleague.next_event().await;
    assert_eq!(seen["kind"], "evaluation.updated");
    assert_eq!(seen["data"]["status"], "in_review");
    assert_eq!(seen["data"]["notes"], "Call back today");
    let own = portal.next_event().await;
    assert_eq!(own["kind"], "evaluation.updated");
    assert_eq!(own["data"]["status"], "in_review");
    assert!(own["data"].get("notes").is_none(), "clinic notes are not for the patient");

    let assigned = app.get("/api/v1/evaluations?assignee=me", &staff.access).await;
    assert_eq!(assigned.body["items"].as_array().unwrap().len(), 1);
    let detail = app.get(&format!("/api/v1/evaluations/{id}"), &staff.access).await;
    assert_eq!(detail.body["intake"]["pain_areas"], json!(["lower back", "left hip"]));
}

#[tokio::test]
async fn red_flags_make_an_evaluation_urgent_and_bad_intakes_name_the_field() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient3").await;
    let mut flagged = intake();
    flagged["red_flags"] = json!(["saddle_numbness"]);
    let urgent = app.post("/api/v1/intakes", &patient.access, flagged).await;
    assert_eq!(urgent.status, StatusCode::CREATED);
    let staff = app.login("harbour-physio", "staff").await;
    let queue = app.get("/api/v1/evaluations?urgency=urgent", &staff.access).await;
    assert_eq!(queue.body["items"][0]["red_flags"], json!(["saddle_numbness"]));

    let bad = app
        .post("/api/v1/intakes", &patient.access, json!({ "chief_complaint": " ", "pain_level": 11, "red_flags": ["itchy"] }))
        .await;
    bad.assert_problem(422);
    assert_eq!(bad.fields(), ["chief_complaint", "pain_level", "red_flags[0]"]);
    let missing = app.post("/api/v1/intakes", &patient.access, json!({ "pain_level": 3 })).await;
    missing.assert_problem(422);
    assert_eq!(missing.fields(), ["chief_complaint"]);
    let for_someone_else = app
        .post("/api/v1/intakes", &patient.access, json!({ "chief_complaint": "x", "pain_level": 1, "patient_id": app.patient_id("harbour-physio", 1).await }))
        .await;
    for_someone_else.assert_problem(422);
    assert_eq!(for_someone_else.fields(), ["patient_id"]);
}

#[tokio::test]
async fn triage_refuses_invalid_transitions_and_other_clinics() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient4").await;
    let id = app.post("/api/v1/intakes", &patient.access, intake()).await.body["evaluation_id"].as_str().unwrap().to_string();
    let staff = app.login("harbour-physio", "staff").await;
    let path = format!("/api/v1/evaluations/{id}");

    let skip = app.patch(&path, &staff.access, json!({ "status": "scheduled" })).await;
    skip.assert_problem(422);
    assert_eq!(skip.fields(), ["status"]);
    assert!(skip.body["errors"][0]["message"].as_str().unwrap().contains("pending to scheduled"));
    let unknown = app.patch(&path, &staff.access, json!({ "urgency": "whenever", "assignee_user_id": patient.id() })).await;
    unknown.assert_problem(422);
    assert_eq!(unknown.fields(), ["urgency", "assignee_user_id"]);

    app.get(&path, &patient.access).await.assert_problem(403);
    app.get("/api/v1/evaluations", &patient.access).await.assert_problem(403);
    let other = app.login("summit-health", "staff").await;
    app.get(&path, &other.access).await.assert_problem(404);
    app.patch(&path, &other.access, json!({ "status": "in_review" })).await.assert_problem(404);
    let foreign_patient = app.patient_id("harbour-physio", 1).await;
    let on_behalf = app.post("/api/v1/intakes", &other.access, json!({ "chief_complaint": "x", "pain_level": 1, "patient_id": foreign_patient })).await;
    on_behalf.assert_problem(404);
}

#[tokio::test]
async fn an_event_committed_but_never_published_is_delivered_by_the_relay_exactly_once() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let mut dashboard = app.socket(&staff.access).await;
    dashboard.subscribe("evaluations").await;

    // The process "died" between commit and publish: the outbox row exists, unpublished.
    let event_id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (tenant_id, channel, kind, payload, created_at)
         SELECT id, 'evaluations', 'evaluation.updated', $1, now() - interval '5 seconds' FROM tenants WHERE slug = 'harbour-physio'",
    )
    .bind(json!({ "id": event_id, "kind": "evaluation.updated", "ts": "2026-11-26T10:00:00Z", "data": { "id": "lost-in-the-crash" } }))
    .execute(&app.owner)
    .await
    .unwrap();

    let delivered = dashboard.next_event().await;
    assert_eq!(delivered["id"], event_id.to_string());
    assert_eq!(delivered["data"]["id"], "lost-in-the-crash");
    assert!(dashboard.event_within(2_000).await.is_none(), "delivered once");
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetch_one(&app.owner).await.unwrap();
    assert_eq!(unpublished, 0);
}
