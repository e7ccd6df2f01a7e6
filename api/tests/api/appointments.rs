//! Appointments: live scheduling, the double-booking guarantee, the status workflow,
//! patients' self-booking as the clinic allows, and the emails they cause.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn first_provider(app: &TestApp, token: &str) -> String {
    let providers = app.get("/api/v1/providers", token).await;
    providers.body["items"][0]["id"].as_str().unwrap().to_string()
}

/// An hour-long slot `days` from now at `hour`:00 UTC.
fn slot(days: i64, hour: u32) -> (String, String) {
    let day = (chrono::Utc::now() + chrono::Duration::days(days)).date_naive();
    let start = day.and_hms_opt(hour, 0, 0).unwrap().and_utc();
    (start.to_rfc3339(), (start + chrono::Duration::hours(1)).to_rfc3339())
}

fn booking(patient_id: &str, provider_id: &str, (starts_at, ends_at): (String, String)) -> Value {
    json!({ "patient_id": patient_id, "provider_id": provider_id, "starts_at": starts_at, "ends_at": ends_at, "kind": "initial", "location": "Room 2" })
}

#[tokio::test]
async fn staff_book_and_the_patients_open_portal_and_other_dashboards_see_it_live() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let staff2 = app.login("harbour-physio", "staff2").await;
    let patient = app.login("harbour-physio", "patient1").await;
    let mut calendar = app.socket(&staff2.access).await;
    calendar.subscribe("appointments").await;
    let mut portal = app.socket(&patient.access).await;
    portal.subscribe(&format!("user:{}", patient.id())).await;

    let provider = first_provider(&app, &staff.access).await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let booked = app.post("/api/v1/appointments", &staff.access, booking(&patient_id, &provider, slot(3, 9))).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);
    assert_eq!(booked.body["status"], "scheduled");
    assert_eq!(booked.body["patient_name"], "Olivia Bennett");

    let seen = calendar.next_event().await;
    assert_eq!(seen["kind"], "appointment.created");
    assert_eq!(seen["data"]["id"], booked.body["id"]);
    assert_eq!(seen["data"]["by_patient"], false);
    let own = portal.next_event().await;
    assert_eq!(own["kind"], "appointment.created");
    assert_eq!(own["data"]["starts_at"], booked.body["starts_at"]);

    let mine = app.get("/api/v1/appointments", &patient.access).await;
    assert!(mine.body["items"].as_array().unwrap().iter().any(|a| a["id"] == booked.body["id"]));
    assert!(mine.body["items"].as_array().unwrap().iter().all(|a| a["patient_name"] == "Olivia Bennett"), "only their own");
    let email: String = sqlx::query_scalar("SELECT subject FROM emails WHERE to_address = 'patient1@harbour-physio.test'")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(email.starts_with("Appointment booked"), "{email}");
}

#[tokio::test]
async fn a_provider_is_never_double_booked_even_when_requests_race() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let staff2 = app.login("harbour-physio", "staff2").await;
    let provider = first_provider(&app, &staff.access).await;
    let (p1, p2) = (app.patient_id("harbour-physio", 1).await, app.patient_id("harbour-physio", 2).await);
    let (start, _) = slot(5, 10);
    let overlapping = (
        (chrono::DateTime::parse_from_rfc3339(&start).unwrap() + chrono::Duration::minutes(30)).to_rfc3339(),
        (chrono::DateTime::parse_from_rfc3339(&start).unwrap() + chrono::Duration::minutes(90)).to_rfc3339(),
    );

    for _ in 0..5 {
        let (a, b) = tokio::join!(
            app.post("/api/v1/appointments", &staff.access, booking(&p1, &provider, slot(5, 10))),
            app.post("/api/v1/appointments", &staff2.access, booking(&p2, &provider, overlapping.clone())),
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let loser = if a.status == StatusCode::CONFLICT { a } else { b };
        loser.assert_problem(409);
        assert_eq!(loser.fields(), ["starts_at"]);
        // Free the slot for the next round.
        sqlx::query("UPDATE appointments SET status = 'cancelled'").execute(&app.owner).await.unwrap();
    }
    // Back to back is fine; another provider at the same time is fine.
    let (_, end) = slot(6, 10);
    let next = app.post("/api/v1/appointments", &staff.access, booking(&p1, &provider, (slot(6, 10).0, end.clone()))).await;
    assert_eq!(next.status, StatusCode::CREATED);
    let after = app.post("/api/v1/appointments", &staff.access, booking(&p2, &provider, slot(6, 11))).await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
}

#[tokio::test]
async fn the_status_workflow_refuses_invalid_moves_and_bad_times() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let provider = first_provider(&app, &staff.access).await;
    let patient = app.patient_id("harbour-physio", 2).await;
    let backwards = app
        .post("/api/v1/appointments", &staff.access, json!({ "patient_id": patient, "provider_id": provider, "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T09:00:00Z" }))
        .await;
    backwards.assert_problem(422);
    assert_eq!(backwards.fields(), ["ends_at"]);

    let booked = app.post("/api/v1/appointments", &staff.access, booking(&patient, &provider, slot(2, 14))).await;
    let path = format!("/api/v1/appointments/{}", booked.body["id"].as_str().unwrap());
    let skip = app.patch(&path, &staff.access, json!({ "status": "completed" })).await;
    skip.assert_problem(422);
    assert_eq!(skip.fields(), ["status"]);
    for status in ["confirmed", "checked_in", "completed"] {
        let moved = app.patch(&path, &staff.access, json!({ "status": status })).await;
        assert_eq!(moved.status, StatusCode::OK, "{status}: {}", moved.body);
    }
    app.patch(&path, &staff.access, json!({ "status": "cancelled" })).await.assert_problem(422);

    let other = app.login("summit-health", "staff").await;
    app.patch(&path, &other.access, json!({ "notes": "x" })).await.assert_problem(404);
    let foreign = app.post("/api/v1/appointments", &other.access, booking(&patient, &first_provider(&app, &other.access).await, slot(2, 15))).await;
    foreign.assert_problem(404);
}

#[tokio::test]
async fn patients_book_as_the_clinic_allows_and_staff_hear_of_it() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let patient = app.login("harbour-physio", "patient3").await;
    let provider = first_provider(&app, &patient.access).await;
    let mut calendar = app.socket(&admin.access).await;
    calendar.subscribe("appointments").await;
    let own = |slot: (String, String)| json!({ "provider_id": provider, "starts_at": slot.0, "ends_at": slot.1 });

    // Default: a request that staff confirm.
    let requested = app.post("/api/v1/appointments", &patient.access, own(slot(4, 9))).await;
    assert_eq!(requested.status, StatusCode::CREATED, "{}", requested.body);
    assert_eq!(requested.body["status"], "requested");
    let alert = calendar.next_event().await;
    assert_eq!(alert["data"]["by_patient"], true);

    let off = app.patch("/api/v1/clinic/settings", &admin.access, json!({ "self_booking": "off" })).await;
    assert_eq!(off.body["self_booking"], "off");
    app.post("/api/v1/appointments", &patient.access, own(slot(4, 11))).await.assert_problem(403);

    let bad = app.patch("/api/v1/clinic/settings", &admin.access, json!({ "self_booking": "sometimes", "timezone": "Mars/Olympus" })).await;
    bad.assert_problem(422);
    assert_eq!(bad.fields(), ["self_booking", "timezone"]);
    app.patch("/api/v1/clinic/settings", &patient.access, json!({ "self_booking": "direct" })).await.assert_problem(403);

    // Direct booking only within the provider's hours (every weekday 09:00-17:00 UTC here).
    let hours: Vec<Value> = (1..=7).map(|d| json!({ "weekday": d, "start": "09:00", "end": "17:00" })).collect();
    app.patch(&format!("/api/v1/providers/{provider}"), &admin.access, json!({ "working_hours": hours })).await;
    app.patch("/api/v1/clinic/settings", &admin.access, json!({ "self_booking": "direct" })).await;
    let direct = app.post("/api/v1/appointments", &patient.access, own(slot(4, 13))).await;
    assert_eq!(direct.body["status"], "scheduled", "{}", direct.body);
    let night = app.post("/api/v1/appointments", &patient.access, own(slot(4, 20))).await;
    night.assert_problem(422);
    assert_eq!(night.fields(), ["starts_at"]);

    // Patients cancel their own, and nothing else.
    let path = format!("/api/v1/appointments/{}", direct.body["id"].as_str().unwrap());
    app.patch(&path, &patient.access, json!({ "starts_at": slot(5, 9).0 })).await.assert_problem(403);
    let cancelled = app.patch(&path, &patient.access, json!({ "status": "cancelled", "cancel_reason": "feeling better" })).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let other_patient = app.login("harbour-physio", "patient4").await;
    app.patch(&path, &other_patient.access, json!({ "status": "cancelled" })).await.assert_problem(404);
}

#[tokio::test]
async fn one_appointment_and_a_providers_busy_times_are_read_without_seeing_other_patients() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let provider = first_provider(&app, &staff.access).await;
    let patient_id = app.patient_id("harbour-physio", 1).await;
    let (starts_at, ends_at) = slot(20, 10);
    let booked = app.post("/api/v1/appointments", &staff.access, booking(&patient_id, &provider, (starts_at.clone(), ends_at.clone()))).await;
    let path = format!("/api/v1/appointments/{}", booked.body["id"].as_str().unwrap());

    let own = app.login("harbour-physio", "patient1").await;
    assert_eq!(app.get(&path, &own.access).await.body["id"], booked.body["id"]);
    assert_eq!(app.get(&path, &staff.access).await.body["patient_id"], patient_id.as_str());
    for intruder in [app.login("harbour-physio", "patient2").await, app.login("summit-health", "staff").await] {
        app.get(&path, &intruder.access).await.assert_problem(404);
    }

    // Another patient sees that the provider is busy then, and nothing about whom with.
    let other = app.login("harbour-physio", "patient2").await;
    let (from, _) = slot(20, 0);
    let (to, _) = slot(21, 0);
    let busy_path = format!("/api/v1/providers/{provider}/busy?from={}&to={}", urlencode(&from), urlencode(&to));
    let busy = app.get(&busy_path, &other.access).await;
    assert_eq!(busy.status, StatusCode::OK, "{}", busy.body);
    let times = busy.body.as_array().unwrap();
    assert!(times.iter().any(|t| t["starts_at"] == booked.body["starts_at"] && t["ends_at"] == booked.body["ends_at"]), "{times:?}");
    assert!(times.iter().all(|t| t.as_object().unwrap().len() == 2), "times only: {times:?}");

    app.patch(&path, &staff.access, json!({ "status": "cancelled" })).await;
    let after_cancel = app.get(&busy_path, &other.access).await;
    assert!(after_cancel.body.as_array().unwrap().iter().all(|t| t["starts_at"] != booked.body["starts_at"]), "a cancelled appointment frees the time");

    let backwards = app.get(&format!("/api/v1/providers/{provider}/busy?from={}&to={}", urlencode(&to), urlencode(&from)), &other.access).await;
    backwards.assert_problem(422);
    assert_eq!(backwards.fields(), ["to"]);
    let unreadable = app.get(&format!("/api/v1/providers/{provider}/busy?from=yesterday&to={}", urlencode(&to)), &other.access).await;
    unreadable.assert_problem(400);
    assert_eq!(unreadable.fields(), ["from"]);
    let elsewhere = app.login("summit-health", "patient1").await;
    app.get(&busy_path, &elsewhere.access).await.assert_problem(404);
}

fn urlencode(value: &str) -> String {
    value.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn open_dashboards_hear_of_new_providers_and_changed_settings() {
    let app = spawn_app().await;
    let admin = app.login("harbour-physio", "admin").await;
    let staff = app.login("harbour-physio", "staff").await;
    let mut dashboard = app.socket(&staff.access).await;
    dashboard.subscribe("appointments").await;

    let created = app.post("/api/v1/providers", &admin.access, json!({ "name": "Dr Live" })).await;
    let event = dashboard.next_event().await;
    assert_eq!(event["kind"], "provider.created");
    assert_eq!(event["data"]["id"], created.body["id"]);
    app.patch(&format!("/api/v1/providers/{}", created.body["id"].as_str().unwrap()), &admin.access, json!({ "active": false })).await;
    let event = dashboard.next_event().await;
    assert_eq!(event["kind"], "provider.updated");
    assert_eq!(event["data"]["active"], false);

    app.patch("/api/v1/clinic/settings", &admin.access, json!({ "self_booking": "direct" })).await;
    let event = dashboard.next_event().await;
    assert_eq!(event["kind"], "clinic.settings_updated");
    assert_eq!(event["data"]["self_booking"], "direct");

    // Another clinic's dashboard hears nothing of it.
    let elsewhere = app.login("summit-health", "staff").await;
    let mut other = app.socket(&elsewhere.access).await;
    other.subscribe("appointments").await;
    app.post("/api/v1/providers", &admin.access, json!({ "name": "Dr Quiet" })).await;
    assert_eq!(dashboard.next_event().await["kind"], "provider.created");
    assert!(other.event_within(500).await.is_none());
}
