//! Consents: versioned types per clinic, grants and revocations kept as history, the standing
//! that decides the portal's consent gate, and who may see and change what.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn status_of<'a>(consents: &'a Value, key: &str) -> &'a Value {
    consents["items"].as_array().unwrap().iter().find(|c| c["key"] == key).unwrap_or_else(|| panic!("no {key} in {consents}"))
}

#[tokio::test]
async fn grants_revocations_and_new_versions_change_standing_and_keep_every_decision() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let path = format!("/api/v1/patients/{patient_id}/consents");

    // The demo patient has granted the required ones; telehealth is optional and undecided.
    let start = app.get(&path, &patient.access).await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert_eq!(status_of(&start.body, "privacy")["status"], "granted");
    assert_eq!(status_of(&start.body, "privacy")["required"], true);
    assert_eq!(status_of(&start.body, "telehealth")["status"], "pending");
    assert_eq!(status_of(&start.body, "telehealth")["required"], false);

    let telehealth_v1 = status_of(&start.body, "telehealth")["current_version"]["id"].clone();
    let granted = app.post(&path, &patient.access, json!({ "consent_version_id": telehealth_v1, "decision": "granted" })).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.body);
    assert_eq!(granted.body["recorded_by_role"], "patient");
    let revoked = app.post(&path, &patient.access, json!({ "consent_version_id": telehealth_v1, "decision": "revoked" })).await;
    assert_eq!(revoked.status, StatusCode::CREATED);
    assert_eq!(status_of(&app.get(&path, &patient.access).await.body, "telehealth")["status"], "revoked");

    // A new privacy text: the old grant no longer counts, and the old version cannot be granted.
    let types = app.get("/api/v1/consent-types", &admin.access).await;
    let privacy = types.body["items"].as_array().unwrap().iter().find(|t| t["key"] == "privacy").unwrap().clone();
    let old_version = privacy["current_version"]["id"].clone();
    let published = app
        .post(&format!("/api/v1/consent-types/{}/versions", privacy["id"].as_str().unwrap()), &admin.access, json!({ "body": "Updated privacy terms." }))
        .await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    assert_eq!(published.body["current_version"]["version"], 2);
    let now = app.get(&path, &patient.access).await;
    assert_eq!(status_of(&now.body, "privacy")["status"], "outdated");
    assert_eq!(status_of(&now.body, "privacy")["decided_version"], 1);
    let stale = app.post(&path, &patient.access, json!({ "consent_version_id": old_version, "decision": "granted" })).await;
    stale.assert_problem(422);
    assert_eq!(stale.fields(), ["consent_version_id"]);
    let current = published.body["current_version"]["id"].clone();
    app.post(&path, &patient.access, json!({ "consent_version_id": current, "decision": "granted" })).await;
    assert_eq!(status_of(&app.get(&path, &patient.access).await.body, "privacy")["status"], "granted");

    // Every decision is in the history, newest first, paged.
    let mut decisions = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get(&format!("{path}/history?limit=2{cursor}"), &patient.access).await;
        decisions.extend(page.body["items"].as_array().unwrap().iter().map(|d| (d["key"].as_str().unwrap().to_string(), d["decision"].as_str().unwrap().to_string(), d["version"].as_i64().unwrap())));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let newest: Vec<(&str, &str, i64)> = decisions[..3].iter().map(|(k, d, v)| (k.as_str(), d.as_str(), *v)).collect();
    assert_eq!(newest, [("privacy", "granted", 2), ("telehealth", "revoked", 1), ("telehealth", "granted", 1)]);
    assert_eq!(decisions.len(), 5, "the two seeded grants are kept too: {decisions:?}");
    assert_eq!(app.audited("consent.grant", &patient_id).await, 2, "the refused grant is not recorded");
    assert_eq!(app.audited("consent.revoke", &patient_id).await, 1);
}

#[tokio::test]
async fn decisions_can_never_be_rewritten_by_the_application() {
    let app = spawn_app().await;
    let tenant = app.tenant_id("harbour-physio").await;
    let mut tx = qivr_shared::tenancy::begin(&app.pool, tenant, None).await.unwrap();
    let changed = sqlx::query("UPDATE consent_decisions SET decision = 'revoked'").execute(&mut *tx).await;
    assert!(changed.is_err(), "the application role may not update decisions");
    drop(tx);
    let mut tx = qivr_shared::tenancy::begin(&app.pool, tenant, None).await.unwrap();
    let removed = sqlx::query("DELETE FROM consent_decisions").execute(&mut *tx).await;
    assert!(removed.is_err(), "nor delete them");
}

#[tokio::test]
async fn only_admins_manage_consent_types_and_bad_input_names_the_field() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let body = json!({ "key": "photography", "title": "Clinical photography", "required": true, "body": "Photos of my condition may be taken." });
    app.post("/api/v1/consent-types", &staff.access, body.clone()).await.assert_problem(403);
    app.post("/api/v1/consent-types", &patient.access, body.clone()).await.assert_problem(403);

    let created = app.post("/api/v1/consent-types", &admin.access, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["current_version"]["version"], 1);
    app.post("/api/v1/consent-types", &admin.access, body).await.assert_problem(409);
    let bad = app.post("/api/v1/consent-types", &admin.access, json!({ "key": "Bad Key", "title": "", "body": "x" })).await;
    bad.assert_problem(422);
    assert_eq!(bad.fields(), ["key", "title"]);

    // Optional now, then retired: retired types are not asked of patients.
    let id = created.body["id"].as_str().unwrap();
    let optional = app.patch(&format!("/api/v1/consent-types/{id}"), &admin.access, json!({ "required": false })).await;
    assert_eq!(optional.body["required"], false);
    app.patch(&format!("/api/v1/consent-types/{id}"), &admin.access, json!({ "active": false })).await;
    let seen: Vec<String> = app.get("/api/v1/consent-types", &patient.access).await.body["items"].as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap().to_string()).collect();
    assert!(!seen.contains(&"photography".to_string()), "{seen:?}");
    let bad_decision = app
        .post(&format!("/api/v1/patients/{}/consents", app.patient_id("harbour-physio", 1).await), &patient.access, json!({ "consent_version_id": created.body["current_version"]["id"], "decision": "maybe" }))
        .await;
    assert_eq!(bad_decision.fields(), ["decision"]);
}

#[tokio::test]
async fn a_patient_cannot_see_or_decide_another_patients_consents_nor_another_clinic() {
    let app = spawn_app().await;
    let owner_id = app.patient_id("harbour-physio", 1).await;
    let owner = app.login("harbour-physio", "patient1").await;
    let version = status_of(&app.get(&format!("/api/v1/patients/{owner_id}/consents"), &owner.access).await.body, "privacy")["current_version"]["id"].clone();
    for intruder in [app.login("harbour-physio", "patient2").await, app.login("summit-health", "staff").await] {
        app.get(&format!("/api/v1/patients/{owner_id}/consents"), &intruder.access).await.assert_problem(404);
        app.get(&format!("/api/v1/patients/{owner_id}/consents/history"), &intruder.access).await.assert_problem(404);
        app.post(&format!("/api/v1/patients/{owner_id}/consents"), &intruder.access, json!({ "consent_version_id": version, "decision": "revoked" }))
            .await
            .assert_problem(404);
    }
    // Another clinic's consent version is no version at all here.
    let summit = app.login("summit-health", "patient1").await;
    let summit_id = app.patient_id("summit-health", 1).await;
    let foreign = app.post(&format!("/api/v1/patients/{summit_id}/consents"), &summit.access, json!({ "consent_version_id": version, "decision": "granted" })).await;
    foreign.assert_problem(422);
    // Staff of the clinic see the patient's consents and may record a paper decision.
    let staff = app.login("harbour-physio", "staff").await;
    let recorded = app.post(&format!("/api/v1/patients/{owner_id}/consents"), &staff.access, json!({ "consent_version_id": version, "decision": "revoked" })).await;
    assert_eq!(recorded.status, StatusCode::CREATED);
    assert_eq!(recorded.body["recorded_by_role"], "staff");
    assert_eq!(recorded.body["recorded_by_name"], "Sam Taylor");
}

#[tokio::test]
async fn record_changes_reach_open_dashboards_and_the_patients_portal_live() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let mut dashboard = app.socket(&staff.access).await;
    dashboard.subscribe("records").await;
    let mut portal = app.socket(&patient.access).await;
    portal.subscribe(&format!("user:{}", patient.id())).await;
    let refused = portal.request(json!({ "op": "subscribe", "channel": "records" })).await;
    assert_eq!(refused["code"], "forbidden", "patients never see the clinic's record feed");
    let elsewhere = app.login("summit-health", "staff").await;
    let mut other = app.socket(&elsewhere.access).await;
    other.subscribe("records").await;

    let uploaded = app.upload(&patient_id, &staff.access, "letter.txt", "text/plain", b"Referral letter".to_vec()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
    for socket in [&mut dashboard, &mut portal] {
        let event = socket.next_event().await;
        assert_eq!(event["kind"], "document.created");
        assert_eq!(event["data"]["id"], uploaded.body["id"]);
        assert_eq!(event["data"]["patient_id"], patient_id.as_str());
        assert!(!event.to_string().contains("Referral letter"), "metadata only: {event}");
    }

    let consents = app.get(&format!("/api/v1/patients/{patient_id}/consents"), &patient.access).await;
    let telehealth = status_of(&consents.body, "telehealth")["current_version"]["id"].clone();
    app.post(&format!("/api/v1/patients/{patient_id}/consents"), &patient.access, json!({ "consent_version_id": telehealth, "decision": "granted" })).await;
    for socket in [&mut dashboard, &mut portal] {
        let event = socket.next_event().await;
        assert_eq!(event["kind"], "consent.updated");
        assert_eq!(event["data"]["decision"], "granted");
    }

    let document = uploaded.body["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/patients/{patient_id}/documents/{document}"), &staff.access).await;
    assert_eq!(dashboard.next_event().await["kind"], "document.deleted");
    assert!(other.event_within(500).await.is_none(), "another clinic hears nothing");
}
