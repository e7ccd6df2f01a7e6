//! Role guards and tenant boundaries: patients never reach clinic endpoints, and another
//! clinic's resources are indistinguishable from missing ones.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn patients_are_refused_by_every_clinic_endpoint() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient1").await;
    let other = app.patient_id("harbour-physio", 2).await;
    let new_patient = json!({ "first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01" });
    for (method, path, body) in [
        (Method::GET, "/api/v1/patients".to_string(), None),
        (Method::POST, "/api/v1/patients".to_string(), Some(new_patient)),
        (Method::DELETE, format!("/api/v1/patients/{other}"), None),
        (Method::POST, format!("/api/v1/patients/{other}/invite"), None),
        (Method::POST, format!("/api/v1/patients/{other}/conditions"), Some(json!({ "name": "x" }))),
        (Method::GET, "/api/v1/users".to_string(), None),
        (Method::POST, "/api/v1/users".to_string(), Some(json!({ "email": "x@y.test", "name": "X", "role": "staff" }))),
        (Method::GET, "/api/v1/audit".to_string(), None),
        (Method::GET, "/api/v1/identity-providers".to_string(), None),
    ] {
        let response = app.request(method.clone(), &path, Some(&patient.access), body).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{method} {path}: {}", response.body);
        response.assert_problem(403);
    }
}

#[tokio::test]
async fn a_patient_sees_only_their_own_record() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient1").await;
    let own = app.patient_id("harbour-physio", 1).await;
    let other = app.patient_id("harbour-physio", 2).await;

    let me = app.get("/api/v1/patients/me", &patient.access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], own.as_str());
    assert_eq!(me.body["email"], "patient1@harbour-physio.test");
    assert_eq!(app.get(&format!("/api/v1/patients/{own}"), &patient.access).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/patients/{own}/conditions"), &patient.access).await.status, StatusCode::OK);

    app.get(&format!("/api/v1/patients/{other}"), &patient.access).await.assert_problem(404);
    app.get(&format!("/api/v1/patients/{other}/conditions"), &patient.access).await.assert_problem(404);
    app.patch(&format!("/api/v1/patients/{other}"), &patient.access, json!({ "phone": "1" })).await.assert_problem(404);

    // Contact details are theirs to change; clinical fields are not.
    let phone = app.patch(&format!("/api/v1/patients/{own}"), &patient.access, json!({ "phone": "+61 411 111 111" })).await;
    assert_eq!(phone.status, StatusCode::OK);
    assert_eq!(phone.body["phone"], "+61 411 111 111");
    let clinical = app.patch(&format!("/api/v1/patients/{own}"), &patient.access, json!({ "medications": "none" })).await;
    clinical.assert_problem(403);
    assert!(clinical.body["detail"].as_str().unwrap().starts_with("medications"));
}

#[tokio::test]
async fn staff_of_one_clinic_get_404_for_another_clinics_patient_for_reads_and_writes() {
    let app = spawn_app().await;
    let summit_staff = app.login("summit-health", "staff").await;
    let harbour_patient = app.patient_id("harbour-physio", 1).await;
    let condition: uuid::Uuid = sqlx::query_scalar("SELECT id FROM conditions WHERE patient_id = $1::uuid")
        .bind(&harbour_patient)
        .fetch_one(&app.owner)
        .await
        .unwrap();

    let patient = format!("/api/v1/patients/{harbour_patient}");
    for (method, path, body) in [
        (Method::GET, patient.clone(), None),
        (Method::PATCH, patient.clone(), Some(json!({ "phone": "000" }))),
        (Method::DELETE, patient.clone(), None),
        (Method::POST, format!("{patient}/invite"), None),
        (Method::GET, format!("{patient}/conditions"), None),
        (Method::POST, format!("{patient}/conditions"), Some(json!({ "name": "Hijack" }))),
        (Method::PATCH, format!("{patient}/conditions/{condition}"), Some(json!({ "status": "resolved" }))),
        (Method::DELETE, format!("{patient}/conditions/{condition}"), None),
    ] {
        let response = app.request(method.clone(), &path, Some(&summit_staff.access), body).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {path}: {}", response.body);
        response.assert_problem(404);
    }

    // Nothing changed, and the list never shows the other clinic's patients.
    let phone: Option<String> = sqlx::query_scalar("SELECT phone FROM patients WHERE id = $1::uuid")
        .bind(&harbour_patient)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert_eq!(phone.as_deref(), Some("+61 400 000 001"));
    let list = app.get("/api/v1/patients?limit=100", &summit_staff.access).await;
    assert!(list.body["items"].as_array().unwrap().iter().all(|p| p["email"].as_str().unwrap().ends_with("@summit-health.test")));

    // A missing id answers exactly the same way.
    let missing = app.get(&format!("/api/v1/patients/{}", uuid::Uuid::new_v4()), &summit_staff.access).await;
    missing.assert_problem(404);
    let foreign = app.get(&patient, &summit_staff.access).await;
    assert_eq!(missing.body, foreign.body);
}
