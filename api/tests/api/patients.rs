//! Patient records and conditions as clinic staff use them.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn staff_create_find_update_and_delete_a_patient() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let created = app
        .post(
            "/api/v1/patients",
            &staff.access,
            json!({ "first_name": " Grace ", "last_name": "Hopper", "date_of_birth": "1956-12-09",
                    "email": "Grace@Example.TEST", "phone": "+61 400 123 456", "allergies": "penicillin" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["first_name"], "Grace");
    assert_eq!(created.body["email"], "grace@example.test");
    assert_eq!(created.body["user_id"], serde_json::Value::Null);
    let id = created.body["id"].as_str().unwrap().to_string();

    for query in ["hopper", "grace%20hop", "example.test", "123"] {
        let found = app.get(&format!("/api/v1/patients?q={query}"), &staff.access).await;
        let ids: Vec<&str> = found.body["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [id.as_str()], "searching {query}");
    }
    // LIKE wildcards in the search text are literal.
    let wildcard = app.get("/api/v1/patients?q=%25", &staff.access).await;
    assert!(wildcard.body["items"].as_array().unwrap().is_empty());

    let updated = app
        .patch(&format!("/api/v1/patients/{id}"), &staff.access, json!({ "allergies": null, "medications": "ibuprofen" }))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["allergies"], serde_json::Value::Null);
    assert_eq!(updated.body["medications"], "ibuprofen");
    assert_eq!(updated.body["phone"], "+61 400 123 456", "fields not sent are unchanged");

    assert_eq!(app.delete(&format!("/api/v1/patients/{id}"), &staff.access).await.status, StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/patients/{id}"), &staff.access).await.assert_problem(404);
    app.delete(&format!("/api/v1/patients/{id}"), &staff.access).await.assert_problem(404);
    let deleted_at: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar("SELECT deleted_at FROM patients WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(deleted_at.is_some(), "deletion is soft");
}

#[tokio::test]
async fn the_patient_list_pages_by_name_with_a_cursor() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/patients?limit=2&cursor={cursor}"),
            None => "/api/v1/patients?limit=2".to_string(),
        };
        let page = app.get(&path, &staff.access).await;
        assert_eq!(page.status, StatusCode::OK);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|p| p["last_name"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["Bennett", "Chen", "Fischer", "Okafor", "Rossi"]);
}

#[tokio::test]
async fn conditions_are_recorded_resolved_and_removed() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.patient_id("harbour-physio", 2).await;
    let base = format!("/api/v1/patients/{patient}/conditions");

    let created = app.post(&base, &staff.access, json!({ "name": "Hypertension", "onset_date": "2020-03-01" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "active");
    let id = created.body["id"].as_str().unwrap();

    let resolved = app.patch(&format!("{base}/{id}"), &staff.access, json!({ "status": "resolved" })).await;
    assert_eq!(resolved.status, StatusCode::OK);
    assert_eq!(resolved.body["status"], "resolved");
    assert_eq!(resolved.body["resolved_date"], chrono::Utc::now().date_naive().to_string());

    let backwards = app.patch(&format!("{base}/{id}"), &staff.access, json!({ "resolved_date": "2019-01-01" })).await;
    backwards.assert_problem(422);
    assert_eq!(backwards.fields(), ["resolved_date"]);
    let bad_status = app.post(&base, &staff.access, json!({ "name": "X", "status": "cured" })).await;
    bad_status.assert_problem(422);
    assert_eq!(bad_status.fields(), ["status"]);

    let list = app.get(&base, &staff.access).await;
    let names: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Patellofemoral pain", "Hypertension"], "active conditions first");

    assert_eq!(app.delete(&format!("{base}/{id}"), &staff.access).await.status, StatusCode::NO_CONTENT);
    let list = app.get(&base, &staff.access).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_invited_patient_sets_a_password_and_signs_in_to_their_record() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let created = app
        .post("/api/v1/patients", &staff.access, json!({ "first_name": "Ada", "last_name": "King", "date_of_birth": "1990-12-10", "email": "ada@example.test" }))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let no_email = app
        .post("/api/v1/patients", &staff.access, json!({ "first_name": "No", "last_name": "Mail", "date_of_birth": "1990-01-01" }))
        .await;
    let refused = app.post(&format!("/api/v1/patients/{}/invite", no_email.body["id"].as_str().unwrap()), &staff.access, json!({})).await;
    refused.assert_problem(422);
    assert_eq!(refused.fields(), ["email"]);

    assert_eq!(app.post(&format!("/api/v1/patients/{id}/invite"), &staff.access, json!({})).await.status, StatusCode::ACCEPTED);
    let body: String = sqlx::query_scalar("SELECT body_text FROM emails WHERE to_address = 'ada@example.test'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let token = body.split("#token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    assert!(body.contains("/portal/accept-invite"));

    let short = app.request(reqwest::Method::POST, "/api/v1/auth/invitations/accept", None, Some(json!({ "token": token, "password": "short" }))).await;
    short.assert_problem(422);
    assert_eq!(short.fields(), ["password"]);
    let accepted = app
        .request(reqwest::Method::POST, "/api/v1/auth/invitations/accept", None, Some(json!({ "token": token, "password": "a-long-enough-password" })))
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["user"]["role"], "patient");
    // The invitation is single-use.
    let again = app
        .request(reqwest::Method::POST, "/api/v1/auth/invitations/accept", None, Some(json!({ "token": token, "password": "another-long-password" })))
        .await;
    again.assert_problem(404);

    let login = app.try_login("harbour-physio", "ada@example.test", "a-long-enough-password").await;
    assert_eq!(login.status, StatusCode::OK);
    let me = app.get("/api/v1/patients/me", login.body["access_token"].as_str().unwrap()).await;
    assert_eq!(me.body["id"], id);
    let twice = app.post(&format!("/api/v1/patients/{id}/invite"), &staff.access, json!({})).await;
    twice.assert_problem(409);
}
