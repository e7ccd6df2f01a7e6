//! Admins invite clinic users and change roles; every access to patient data, every login
//! and every role change lands in the hash-chained audit log, which admins can report on.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn admins_invite_staff_who_then_choose_a_password() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let staff = app.login("harbour-physio", "staff").await;
    let body = json!({ "email": "New.Physio@Harbour-Physio.test", "name": "New Physio", "role": "staff" });

    app.post("/api/v1/users", &staff.access, body.clone()).await.assert_problem(403);
    let created = app.post("/api/v1/users", &admin.access, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["email"], "new.physio@harbour-physio.test");
    assert_eq!(created.body["has_password"], false);
    let duplicate = app.post("/api/v1/users", &admin.access, body).await;
    duplicate.assert_problem(409);
    assert_eq!(duplicate.fields(), ["email"]);
    let patient_role = app.post("/api/v1/users", &admin.access, json!({ "email": "p@x.test", "name": "P", "role": "patient" })).await;
    patient_role.assert_problem(422);
    assert_eq!(patient_role.fields(), ["role"]);

    let email: (String, String) = sqlx::query_as("SELECT subject, body_text FROM emails WHERE to_address = 'new.physio@harbour-physio.test'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(email.0.contains("Harbour Physiotherapy"));
    let token = email.1.split("#token=").nth(1).unwrap().split_whitespace().next().unwrap();
    assert!(email.1.contains("/clinic/accept-invite"));
    let accepted = app
        .request(reqwest::Method::POST, "/api/v1/auth/invitations/accept", None, Some(json!({ "token": token, "password": "correct horse battery" })))
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let login = app.try_login("harbour-physio", "new.physio@harbour-physio.test", "correct horse battery").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["user"]["role"], "staff");
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_role_changes_take_effect_at_once() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let staff = app.login("harbour-physio", "staff").await;
    app.get("/api/v1/users", &staff.access).await.assert_problem(403);

    let promoted = app.patch(&format!("/api/v1/users/{}", staff.id()), &admin.access, json!({ "role": "admin" })).await;
    assert_eq!(promoted.status, StatusCode::OK);
    // Same token, new rights: the role comes from the database, not the token.
    assert_eq!(app.get("/api/v1/users", &staff.access).await.status, StatusCode::OK);

    let disabled = app.patch(&format!("/api/v1/users/{}", staff.id()), &admin.access, json!({ "disabled": true })).await;
    assert_eq!(disabled.body["disabled"], true);
    app.get("/api/v1/me", &staff.access).await.assert_problem(401);
    app.try_login("harbour-physio", "staff@harbour-physio.test", crate::helpers::PASSWORD).await.assert_problem(401);

    let selfish = app.patch(&format!("/api/v1/users/{}", admin.id()), &admin.access, json!({ "role": "staff" })).await;
    selfish.assert_problem(422);
    assert_eq!(selfish.fields(), ["role"]);
    let self_disable = app.patch(&format!("/api/v1/users/{}", admin.id()), &admin.access, json!({ "disabled": true })).await;
    self_disable.assert_problem(422);
    assert_eq!(self_disable.fields(), ["disabled"]);
    let foreign = app.login("summit-health", "admin").await;
    app.patch(&format!("/api/v1/users/{}", staff.id()), &foreign.access, json!({ "disabled": false })).await.assert_problem(404);

    let changes = app.get("/api/v1/audit?action=user.role_change", &admin.access).await;
    let entry = &changes.body["items"][0];
    assert_eq!(entry["resource_id"], staff.id());
    assert_eq!(entry["detail"], json!({ "from": "staff", "to": "admin" }));
    assert_eq!(entry["actor_user_id"], admin.id());
}

#[tokio::test]
async fn every_read_and_write_of_a_patient_is_audited_and_reportable_by_patient_and_user() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let admin = app.login("harbour-physio", "admin").await;
    let patient = app.patient_id("harbour-physio", 3).await;

    app.get("/api/v1/patients?q=okafor", &staff.access).await;
    app.get(&format!("/api/v1/patients/{patient}"), &staff.access).await;
    app.patch(&format!("/api/v1/patients/{patient}"), &staff.access, json!({ "medications": "paracetamol" })).await;
    app.get(&format!("/api/v1/patients/{patient}/conditions"), &staff.access).await;
    let patient_session = app.login("harbour-physio", "patient3").await;
    app.get("/api/v1/patients/me", &patient_session.access).await;

    let report = app.get(&format!("/api/v1/audit?patient_id={patient}"), &admin.access).await;
    assert_eq!(report.status, StatusCode::OK);
    let rows: Vec<(String, String)> = report.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor_role"].as_str().unwrap().to_string()))
        .collect();
    let expected = [("patient.read", "patient"), ("condition.list", "staff"), ("patient.update", "staff"), ("patient.read", "staff"), ("patient.list", "staff")];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, r)| (a.to_string(), r.to_string())).collect();
    assert_eq!(rows, expected, "newest first");
    let first = &report.body["items"][4];
    assert_eq!(first["ip"], "127.0.0.1");
    assert_eq!(first["actor_name"], "Sam Taylor");

    let by_user = app.get(&format!("/api/v1/audit?user_id={}&action=auth.login", staff.id()), &admin.access).await;
    assert_eq!(by_user.body["items"].as_array().unwrap().len(), 1);
    let future = app.get(&format!("/api/v1/audit?patient_id={patient}&from=2999-01-01T00:00:00Z"), &admin.access).await;
    assert!(future.body["items"].as_array().unwrap().is_empty());

    app.get("/api/v1/audit", &staff.access).await.assert_problem(403);
    // Another clinic's admin sees none of it.
    let other = app.login("summit-health", "admin").await;
    let foreign = app.get(&format!("/api/v1/audit?patient_id={patient}"), &other.access).await;
    assert!(foreign.body["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_audit_chain_verifies_and_detects_tampering() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let patient = app.patient_id("harbour-physio", 1).await;
    for _ in 0..3 {
        app.get(&format!("/api/v1/patients/{patient}"), &admin.access).await;
    }
    let intact = app.get("/api/v1/audit/verify", &admin.access).await;
    assert_eq!(intact.body["intact"], true, "{}", intact.body);
    assert!(intact.body["entries"].as_i64().unwrap() >= 4);

    // Someone with database superpowers bypasses the append-only trigger and edits history.
    let mut conn = app.owner.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica").execute(&mut *conn).await.unwrap();
    sqlx::query("UPDATE access_audit SET actor_role = 'nobody' WHERE seq = 2 AND tenant_id = (SELECT id FROM tenants WHERE slug = 'harbour-physio')")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = origin").execute(&mut *conn).await.unwrap();
    drop(conn);

    let broken = app.get("/api/v1/audit/verify", &admin.access).await;
    assert_eq!(broken.body["intact"], false);
    assert_eq!(broken.body["first_broken_seq"], 2);
}
