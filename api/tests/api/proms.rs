//! PROMs end to end over the API: templates and their versions, assignment, resumable
//! completion, server-side scoring, live alerts for staff, trends, analytics, FHIR, isolation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Session, TestApp};

/// A small custom questionnaire: a scored choice and scale, a conditional follow-up, a note.
fn knee_check() -> Value {
    json!({
        "name": "Knee check",
        "definition": {
            "sections": [{
                "title": "This week",
                "items": [
                    { "id": "pain", "text": "How bad was the pain?", "type": "choice", "required": true,
                      "options": [{ "label": "None", "value": 0 }, { "label": "Some", "value": 1 }, { "label": "A lot", "value": 2 }] },
                    { "id": "stairs", "text": "Stairs difficulty (0-10)", "type": "scale", "min": 0, "max": 10, "required": true },
                    { "id": "where", "text": "Where does it hurt?", "type": "text", "required": true,
                      "show_if": { "item": "pain", "any_of": [1, 2] } },
                    { "id": "since", "text": "Since when?", "type": "date" }
                ]
            }],
            "scales": [{ "id": "total", "label": "Knee burden", "items": ["pain", "stairs"], "method": { "kind": "sum" },
                         "bands": [{ "max": 3, "label": "Low" }, { "max": 12, "label": "High" }], "mcid": 2 }],
            "alerts": [{ "item": "stairs", "above": 8, "message": "Cannot manage stairs" }]
        }
    })
}

async fn create_template(app: &TestApp, staff: &Session, body: Value) -> Value {
    let created = app.post("/api/v1/prom-templates", &staff.access, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

async fn assign(app: &TestApp, staff: &Session, patient_id: &str, template_id: &str) -> Value {
    let assigned = app.post("/api/v1/prom-assignments", &staff.access, json!({ "patient_id": patient_id, "template_id": template_id })).await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    assigned.body["instances"][0].clone()
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> crate::helpers::Response {
    app.request(Method::PUT, path, Some(token), Some(body)).await
}

async fn phq9_template(app: &TestApp, staff: &Session) -> String {
    let templates = app.get("/api/v1/prom-templates", &staff.access).await;
    let phq9 = templates.body["items"].as_array().unwrap().iter().find(|t| t["instrument"] == "phq9").expect("the demo ships PHQ-9");
    phq9["id"].as_str().unwrap().to_string()
}

fn phq9_answers(item9: u8) -> Value {
    let mut answers = serde_json::Map::new();
    for n in 1..=8 {
        answers.insert(format!("phq9_{n}"), json!(1));
    }
    answers.insert("phq9_9".into(), json!(item9));
    Value::Object(answers)
}

#[tokio::test]
async fn a_patient_completes_an_assigned_questionnaire_in_two_sittings_and_staff_see_the_score_live() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient4").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;
    let template = create_template(&app, &staff, knee_check()).await;
    assert_eq!(template["version"], 1);
    let template_id = template["id"].as_str().unwrap();

    let mut portal = app.socket(&patient.access).await;
    portal.subscribe(&format!("user:{}", patient.id())).await;
    let mut dashboard = app.socket(&staff.access).await;
    dashboard.subscribe("proms").await;

    let instance = assign(&app, &staff, &patient_id, template_id).await;
    let id = instance["id"].as_str().unwrap().to_string();
    assert_eq!(instance["status"], "pending");
    assert_eq!(instance["available"], true);
    let told = portal.next_event().await;
    assert_eq!(told["kind"], "prom.assigned");
    assert_eq!(told["data"]["instances"][0]["id"], id.as_str());
    assert_eq!(dashboard.next_event().await["kind"], "prom.assigned");
    // language=PostgreSQL
    let emails: Vec<String> = sqlx::query_scalar("SELECT to_address FROM emails WHERE idempotency_key LIKE 'prom-assigned:%'")
        .fetch_all(&app.owner)
        .await
        .unwrap();
    assert_eq!(emails, ["patient4@harbour-physio.test"]);

    let due = app.get("/api/v1/prom-instances", &patient.access).await;
    assert_eq!(due.body["items"][0]["id"], id.as_str());

    // First sitting: one answer, then the patient leaves.
    let draft = put(&app, &format!("/api/v1/prom-instances/{id}/answers"), &patient.access, json!({ "template_version": 1, "answers": { "pain": 2 } })).await;
    assert_eq!(draft.status, StatusCode::OK, "{}", draft.body);
    assert_eq!(draft.body["status"], "in_progress");
    // Second sitting: the answers are there; the conditional item is now required.
    let resumed = app.get(&format!("/api/v1/prom-instances/{id}"), &patient.access).await;
    assert_eq!(resumed.body["answers"], json!({ "pain": 2 }));
    assert_eq!(resumed.body["definition"]["sections"][0]["items"][2]["id"], "where");
    let missing = app.post(&format!("/api/v1/prom-instances/{id}/submit"), &patient.access, json!({ "template_version": 1, "answers": { "pain": 2, "stairs": 4 } })).await;
    missing.assert_problem(422);
    assert_eq!(missing.fields(), ["answers.where"]);

    let submitted = app
        .post(&format!("/api/v1/prom-instances/{id}/submit"), &patient.access, json!({ "template_version": 1, "answers": { "pain": 2, "stairs": 4, "where": "Inside of the knee" } }))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["status"], "completed");
    assert_eq!(submitted.body["scores"][0]["score"], 6.0);
    assert_eq!(submitted.body["scores"][0]["band"], "High");
    assert_eq!(submitted.body["review_status"], "none");

    let seen = dashboard.next_event().await;
    assert_eq!(seen["kind"], "prom.submitted");
    assert_eq!(seen["data"]["id"], id.as_str());
    assert_eq!(seen["data"]["patient_id"], patient_id.as_str());
    assert_eq!(seen["data"]["scores"][0]["score"], 6.0);
    assert_eq!(portal.next_event().await["kind"], "prom.submitted");

    let again = app.post(&format!("/api/v1/prom-instances/{id}/submit"), &patient.access, json!({ "template_version": 1, "answers": { "pain": 0, "stairs": 0 } })).await;
    again.assert_problem(409);

    let trends = app.get(&format!("/api/v1/patients/{patient_id}/prom-trends"), &staff.access).await;
    assert_eq!(trends.status, StatusCode::OK, "{}", trends.body);
    let knee = trends.body["items"].as_array().unwrap().iter().find(|t| t["template_id"] == template_id).unwrap();
    assert_eq!(knee["scales"][0]["points"][0]["score"], 6.0);
    assert_eq!(knee["scales"][0]["mcid"], 2.0);
    assert_eq!(knee["scales"][0]["bands"][1]["label"], "High");

    // language=PostgreSQL
    let audited: Vec<String> = sqlx::query_scalar("SELECT action FROM access_audit WHERE resource_id = $1::uuid ORDER BY seq")
        .bind(&id)
        .fetch_all(&app.owner)
        .await
        .unwrap();
    for action in ["prom.list", "prom.save", "prom.read", "prom.submit"] {
        assert!(audited.iter().any(|a| a == action), "{action} missing from {audited:?}");
    }
}

#[tokio::test]
async fn a_phq9_with_item_9_above_0_alerts_subscribed_staff_at_once_and_is_marked_for_review() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient5").await;
    let patient_id = app.patient_id("harbour-physio", 5).await;
    let phq9 = phq9_template(&app, &staff).await;
    let instance = assign(&app, &staff, &patient_id, &phq9).await;
    let id = instance["id"].as_str().unwrap();

    let mut dashboard = app.socket(&staff.access).await;
    dashboard.subscribe("proms").await;
    let other = app.login("summit-health", "staff").await;
    let mut other_dashboard = app.socket(&other.access).await;
    other_dashboard.subscribe("proms").await;
    let mut patients_socket = app.socket(&patient.access).await;
    let refused = patients_socket.request(json!({ "op": "subscribe", "channel": "proms" })).await;
    assert_eq!(refused["code"], "forbidden", "{refused}");

    let submitted = app.post(&format!("/api/v1/prom-instances/{id}/submit"), &patient.access, json!({ "template_version": 1, "answers": phq9_answers(1) })).await;
    assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
    assert_eq!(submitted.body["scores"][0]["score"], 9.0);
    assert_eq!(submitted.body["scores"][0]["band"], "Mild");
    assert_eq!(submitted.body["review_status"], "needs_review");

    let alert = dashboard.next_event().await;
    assert_eq!(alert["kind"], "prom.alert");
    assert_eq!(alert["data"]["item_id"], "phq9_9");
    assert_eq!(alert["data"]["patient_name"], "Mia Rossi");
    assert_eq!(alert["data"]["patient_id"], patient_id.as_str());
    assert_eq!(alert["data"]["message"], "PHQ-9 item 9: thoughts of self-harm reported");
    assert!(alert["data"]["acknowledged_at"].is_null());
    assert_eq!(dashboard.next_event().await["kind"], "prom.submitted");
    assert!(other_dashboard.event_within(300).await.is_none(), "another clinic hears nothing");

    let open = app.get("/api/v1/prom-alerts?open=true", &staff.access).await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 1);
    let alert_id = open.body["items"][0]["id"].as_str().unwrap().to_string();
    let foreign = app.post(&format!("/api/v1/prom-alerts/{alert_id}/acknowledge"), &other.access, json!({})).await;
    foreign.assert_problem(404);
    let acknowledged = app.post(&format!("/api/v1/prom-alerts/{alert_id}/acknowledge"), &staff.access, json!({})).await;
    assert_eq!(acknowledged.status, StatusCode::OK, "{}", acknowledged.body);
    assert_eq!(acknowledged.body["acknowledged_by_name"], "Sam Taylor");
    assert_eq!(dashboard.next_event().await["kind"], "prom.alert.acknowledged");
    let open = app.get("/api/v1/prom-alerts?open=true", &staff.access).await;
    assert!(open.body["items"].as_array().unwrap().is_empty());
    let reviewed = app.get(&format!("/api/v1/prom-instances/{id}"), &staff.access).await;
    assert_eq!(reviewed.body["review_status"], "reviewed");
    // language=PostgreSQL
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM access_audit WHERE action = 'prom.alert.acknowledge' AND resource_id = $1::uuid AND patient_id = $2::uuid")
        .bind(&alert_id)
        .bind(&patient_id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // No alert when item 9 is 0.
    let quiet = assign(&app, &staff, &patient_id, &phq9).await;
    let quiet_id = quiet["id"].as_str().unwrap();
    let submitted = app.post(&format!("/api/v1/prom-instances/{quiet_id}/submit"), &patient.access, json!({ "template_version": 1, "answers": phq9_answers(0) })).await;
    assert_eq!(submitted.body["review_status"], "none");
    assert_eq!(dashboard.next_event().await["kind"], "prom.assigned");
    assert_eq!(dashboard.next_event().await["kind"], "prom.submitted");
}

#[tokio::test]
async fn editing_a_template_after_responses_exist_leaves_their_scores_unchanged() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient4").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;
    let template = create_template(&app, &staff, knee_check()).await;
    let template_id = template["id"].as_str().unwrap();
    let done = assign(&app, &staff, &patient_id, template_id).await;
    let waiting = assign(&app, &staff, &patient_id, template_id).await;
    let done_id = done["id"].as_str().unwrap();
    app.post(&format!("/api/v1/prom-instances/{done_id}/submit"), &patient.access, json!({ "template_version": 1, "answers": { "pain": 1, "stairs": 1, "where": "Front" } }))
        .await;

    // Version 2: option values doubled, different bands, a new label.
    let mut edited = knee_check();
    edited["name"] = json!("Knee check (revised)");
    edited["definition"]["sections"][0]["items"][0]["options"] = json!([{ "label": "None", "value": 0 }, { "label": "Some", "value": 2 }, { "label": "A lot", "value": 4 }]);
    edited["definition"]["scales"][0]["bands"] = json!([{ "max": 1, "label": "Low" }, { "max": 14, "label": "High" }]);
    let saved = put(&app, &format!("/api/v1/prom-templates/{template_id}"), &staff.access, edited).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["version"], 2);
    let v1 = app.get(&format!("/api/v1/prom-templates/{template_id}?version=1"), &staff.access).await;
    assert_eq!(v1.body["name"], "Knee check");
    assert_eq!(v1.body["current_version"], 2);

    let kept = app.get(&format!("/api/v1/prom-instances/{done_id}"), &staff.access).await;
    assert_eq!(kept.body["template_version"], 1);
    assert_eq!(kept.body["template_name"], "Knee check");
    assert_eq!(kept.body["scores"][0]["score"], 2.0);
    assert_eq!(kept.body["scores"][0]["band"], "Low");
    assert_eq!(kept.body["definition"]["sections"][0]["items"][0]["options"][1]["value"], 1.0);

    // The instance assigned before the edit is answered against version 1, as shown.
    let waiting_id = waiting["id"].as_str().unwrap();
    let wrong = app.post(&format!("/api/v1/prom-instances/{waiting_id}/submit"), &patient.access, json!({ "template_version": 2, "answers": { "pain": 0, "stairs": 0 } })).await;
    wrong.assert_problem(422);
    assert_eq!(wrong.fields(), ["template_version"]);
    // New assignments get version 2 and its scoring.
    let fresh = assign(&app, &staff, &patient_id, template_id).await;
    assert_eq!(fresh["template_version"], 2);
    let fresh_id = fresh["id"].as_str().unwrap();
    let scored = app.post(&format!("/api/v1/prom-instances/{fresh_id}/submit"), &patient.access, json!({ "template_version": 2, "answers": { "pain": 2, "stairs": 1, "where": "Front" } })).await;
    assert_eq!(scored.body["scores"][0]["score"], 3.0);
    assert_eq!(scored.body["scores"][0]["band"], "High");
    let kept_again = app.get(&format!("/api/v1/prom-instances/{done_id}"), &staff.access).await;
    assert_eq!(kept_again.body["scores"], kept.body["scores"]);
}

#[tokio::test]
async fn bad_templates_and_bad_submissions_get_422_naming_the_item() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient4").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;

    let mut bad = knee_check();
    bad["definition"]["sections"][0]["items"][0]["options"] = json!([{ "label": "Only", "value": 0 }]);
    bad["definition"]["scales"][0]["items"] = json!(["pain", "where"]);
    bad["definition"]["sections"][0]["items"][2]["show_if"]["item"] = json!("since");
    let refused = app.post("/api/v1/prom-templates", &staff.access, bad).await;
    refused.assert_problem(422);
    let fields = refused.fields();
    for field in ["definition.sections[0].items[0].options", "definition.sections[0].items[2].show_if.item", "definition.scales[0].items[1]"] {
        assert!(fields.iter().any(|f| f == field), "{field} not in {fields:?}");
    }
    let unknown_type = app
        .post("/api/v1/prom-templates", &staff.access, json!({ "name": "x", "definition": { "sections": [{ "title": "s", "items": [{ "id": "a", "text": "a", "type": "slider" }] }] } }))
        .await;
    unknown_type.assert_problem(422);
    assert_eq!(unknown_type.fields(), ["definition.sections[0].items[0].type"]);

    let template = create_template(&app, &staff, knee_check()).await;
    let instance = assign(&app, &staff, &patient_id, template["id"].as_str().unwrap()).await;
    let submit = format!("/api/v1/prom-instances/{}/submit", instance["id"].as_str().unwrap());
    let wrong_version = app.post(&submit, &patient.access, json!({ "template_version": 3, "answers": { "pain": 0, "stairs": 1 } })).await;
    wrong_version.assert_problem(422);
    assert_eq!(wrong_version.fields(), ["template_version"]);
    let outside = app.post(&submit, &patient.access, json!({ "template_version": 1, "answers": { "pain": 5, "stairs": 11, "since": "yesterday" } })).await;
    outside.assert_problem(422);
    assert_eq!(outside.fields(), ["answers.pain", "answers.stairs", "answers.since"]);
    let missing = app.post(&submit, &patient.access, json!({ "template_version": 1, "answers": { "pain": 0, "extra": 1 } })).await;
    missing.assert_problem(422);
    assert_eq!(missing.fields(), ["answers.extra", "answers.stairs"]);
    // Nothing was stored by the refused submissions.
    let still = app.get(&format!("/api/v1/prom-instances/{}", instance["id"].as_str().unwrap()), &patient.access).await;
    assert_eq!(still.body["status"], "pending");

    let bad_schedule = app
        .post("/api/v1/prom-assignments", &staff.access, json!({ "patient_id": patient_id, "template_id": template["id"], "occurrences": 3 }))
        .await;
    bad_schedule.assert_problem(422);
    assert_eq!(bad_schedule.fields(), ["every_days"]);
}

#[tokio::test]
async fn patients_see_only_their_own_questionnaires_and_other_clinics_see_nothing() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let owner = app.login("harbour-physio", "patient4").await;
    let other_patient = app.login("harbour-physio", "patient3").await;
    let other_clinic = app.login("summit-health", "staff").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;
    let template = create_template(&app, &staff, knee_check()).await;
    let template_id = template["id"].as_str().unwrap();
    let instance = assign(&app, &staff, &patient_id, template_id).await;
    let id = instance["id"].as_str().unwrap();
    let answers = json!({ "template_version": 1, "answers": { "pain": 0, "stairs": 0 } });

    for who in [&other_patient, &other_clinic] {
        app.get(&format!("/api/v1/prom-instances/{id}"), &who.access).await.assert_problem(404);
        put(&app, &format!("/api/v1/prom-instances/{id}/answers"), &who.access, answers.clone()).await.assert_problem(404);
        app.post(&format!("/api/v1/prom-instances/{id}/submit"), &who.access, answers.clone()).await.assert_problem(404);
        app.get(&format!("/api/v1/prom-instances/{id}/fhir"), &who.access).await.assert_problem(404);
        app.get(&format!("/api/v1/patients/{patient_id}/prom-trends"), &who.access).await.assert_problem(404);
    }
    let theirs = app.get("/api/v1/prom-instances", &other_patient.access).await;
    assert!(theirs.body["items"].as_array().unwrap().iter().all(|i| i["id"] != id));
    app.get(&format!("/api/v1/prom-instances?patient_id={patient_id}"), &other_clinic.access).await.assert_problem(404);
    let clinic_list = app.get("/api/v1/prom-instances", &other_clinic.access).await;
    assert!(clinic_list.body["items"].as_array().unwrap().iter().all(|i| i["id"] != id));
    app.get(&format!("/api/v1/prom-templates/{template_id}"), &other_clinic.access).await.assert_problem(404);
    app.post("/api/v1/prom-assignments", &other_clinic.access, json!({ "patient_id": patient_id, "template_id": template_id })).await.assert_problem(404);
    app.get("/api/v1/prom-templates", &owner.access).await.assert_problem(403);
    app.get("/api/v1/prom-alerts", &owner.access).await.assert_problem(403);

    let own = app.get(&format!("/api/v1/prom-instances/{id}"), &owner.access).await;
    assert_eq!(own.status, StatusCode::OK);
}

#[tokio::test]
async fn a_schedule_creates_every_instance_with_its_due_date_and_only_open_ones_can_be_answered() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient4").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;
    let phq9 = phq9_template(&app, &staff).await;
    let created = app
        .post("/api/v1/prom-assignments", &staff.access, json!({ "patient_id": patient_id, "template_id": phq9, "every_days": 14, "occurrences": 7 }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let instances = created.body["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 7);
    let due: Vec<chrono::DateTime<chrono::Utc>> = instances.iter().map(|i| i["due_at"].as_str().unwrap().parse().unwrap()).collect();
    let mut sorted = due.clone();
    sorted.sort();
    for pair in sorted.windows(2) {
        assert_eq!(pair[1] - pair[0], chrono::Duration::days(14));
    }
    let later = instances.iter().find(|i| i["available"] == false).expect("later occurrences are not open yet");
    let early = app.post(&format!("/api/v1/prom-instances/{}/submit", later["id"].as_str().unwrap()), &patient.access, json!({ "template_version": 1, "answers": phq9_answers(0) })).await;
    early.assert_problem(409);

    // The demo's patient 3 has a GAD-7 overdue since yesterday.
    let overdue = app.get("/api/v1/prom-instances?overdue=true", &staff.access).await;
    let items = overdue.body["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["overdue"] == true && i["status"] != "completed"));
    assert!(items.iter().any(|i| i["instrument"] == "gad7" && i["patient_name"] == "Ava Okafor"));
}

#[tokio::test]
async fn analytics_trends_and_latest_scores_follow_the_demo_patients_phq9_history() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;

    let trends = app.get(&format!("/api/v1/patients/{patient_id}/prom-trends"), &staff.access).await;
    let phq9 = trends.body["items"].as_array().unwrap().iter().find(|t| t["instrument"] == "phq9").unwrap().clone();
    let scores: Vec<f64> = phq9["scales"][0]["points"].as_array().unwrap().iter().map(|p| p["score"].as_f64().unwrap()).collect();
    assert_eq!(scores, [13.0, 9.0, 5.0]);
    assert_eq!(phq9["scales"][0]["bands"][0], json!({ "max": 4.0, "label": "Minimal" }));

    let stats = app.get("/api/v1/prom-analytics", &staff.access).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    let phq9_stats = stats.body["items"].as_array().unwrap().iter().find(|t| t["instrument"] == "phq9").unwrap().clone();
    assert_eq!(phq9_stats["completed"], 3);
    assert_eq!(phq9_stats["patients_with_change"], 1);
    assert_eq!(phq9_stats["average_change"], -8.0);
    // Patient 1's fourth and patient 2's first are due now: 3 of 5 completed.
    assert_eq!(phq9_stats["due"], 5);
    assert_eq!(phq9_stats["completion_rate"], 0.6);

    let tenant_id = app.tenant_id("harbour-physio").await;
    let mut tx = qivr_shared::tenancy::begin(&app.pool, tenant_id, None).await.unwrap();
    let latest = qivr_api::proms::latest_scores(&mut tx, tenant_id, patient_id.parse().unwrap()).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].instrument.as_deref(), Some("phq9"));
    assert_eq!(latest[0].scales[0].score, Some(5.0));
    assert_eq!(latest[0].scales[0].band.as_deref(), Some("Mild"));
}

#[tokio::test]
async fn responses_and_templates_export_as_fhir_r4() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient4").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;
    let template = create_template(&app, &staff, knee_check()).await;
    let template_id = template["id"].as_str().unwrap();
    let instance = assign(&app, &staff, &patient_id, template_id).await;
    let id = instance["id"].as_str().unwrap();
    app.post(&format!("/api/v1/prom-instances/{id}/submit"), &patient.access, json!({ "template_version": 1, "answers": { "pain": 1, "stairs": 3, "where": "Front", "since": "2026-10-01" } }))
        .await;

    let questionnaire = app.get(&format!("/api/v1/prom-templates/{template_id}/fhir"), &staff.access).await;
    assert_eq!(questionnaire.body["resourceType"], "Questionnaire");
    assert_eq!(questionnaire.body["url"], format!("urn:uuid:{template_id}"));
    assert_eq!(questionnaire.body["item"][0]["item"][2]["enableWhen"][0]["question"], "pain");
    let response = app.get(&format!("/api/v1/prom-instances/{id}/fhir"), &patient.access).await;
    assert_eq!(response.body["resourceType"], "QuestionnaireResponse");
    assert_eq!(response.body["questionnaire"], format!("urn:uuid:{template_id}|1"));
    assert_eq!(response.body["subject"]["reference"], format!("Patient/{patient_id}"));
    let answers: Vec<Value> = response.body["item"][0]["item"].as_array().unwrap().iter().map(|i| i["answer"][0].clone()).collect();
    assert_eq!(answers, [json!({ "valueCoding": { "code": "1", "display": "Some" } }), json!({ "valueInteger": 3 }), json!({ "valueString": "Front" }), json!({ "valueDate": "2026-10-01" })]);
}

#[tokio::test]
async fn a_due_reminder_is_queued_once_per_instance() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient_id = app.patient_id("harbour-physio", 4).await;
    let phq9 = phq9_template(&app, &staff).await;
    let instance = assign(&app, &staff, &patient_id, &phq9).await;
    // Assigned a week ahead of its due date, which is now.
    // language=PostgreSQL
    sqlx::query("UPDATE prom_instances SET created_at = now() - interval '7 days', due_at = now() - interval '1 minute' WHERE id = $1::uuid")
        .bind(instance["id"].as_str().unwrap())
        .execute(&app.owner)
        .await
        .unwrap();
    let config = qivr_shared::Config::default();
    qivr_workers::prom_reminders::remind_once(&app.pool, &config).await.unwrap();
    qivr_workers::prom_reminders::remind_once(&app.pool, &config).await.unwrap();
    // language=PostgreSQL
    let reminders: Vec<String> = sqlx::query_scalar("SELECT to_address FROM emails WHERE idempotency_key = 'prom-due:' || $1")
        .bind(instance["id"].as_str().unwrap())
        .fetch_all(&app.owner)
        .await
        .unwrap();
    assert_eq!(reminders, ["patient4@harbour-physio.test"]);
}
