//! Secure messaging: live delivery both ways, unread counts kept on the server, read
//! receipts, idempotent retries, typing, and who may see what.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_message_reaches_the_other_side_live_and_unread_counts_follow_reads() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient1").await;
    let staff = app.login("harbour-physio", "staff").await;
    let staff2 = app.login("harbour-physio", "staff2").await;
    let mut inbox = app.socket(&staff.access).await;
    inbox.subscribe("inbox").await;

    let started = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Exercises", "body": "Should the knee exercise hurt?" })).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["id"].as_str().unwrap().to_string();
    assert_eq!(started.body["unread_count"], 0, "the sender has read their own message");

    let update = inbox.next_event().await;
    assert_eq!(update["kind"], "conversation.updated");
    assert_eq!(update["data"]["id"], id.as_str());
    assert_eq!(update["data"]["unread_counts"][staff.id()], 1);
    assert!(update["data"].get("body").is_none() && !update.to_string().contains("knee"), "inbox events carry no message text");

    let listed = app.get("/api/v1/conversations?unread=true", &staff.access).await;
    assert_eq!(listed.body["items"][0]["id"], id.as_str());
    assert_eq!(listed.body["items"][0]["unread_count"], 1);

    // Both sides open the conversation.
    let mut staff_chat = app.socket(&staff.access).await;
    staff_chat.subscribe(&format!("conversation:{id}")).await;
    let mut patient_chat = app.socket(&patient.access).await;
    patient_chat.subscribe(&format!("conversation:{id}")).await;

    let reply = app.post(&format!("/api/v1/conversations/{id}/messages"), &staff.access, json!({ "body": "A little discomfort is fine.", "client_id": "c-1" })).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let received = patient_chat.next_event().await;
    assert_eq!(received["kind"], "message.created");
    assert_eq!(received["data"]["body"], "A little discomfort is fine.");
    assert_eq!(received["data"]["sender_name"], "Sam Taylor");
    assert_eq!(staff_chat.next_event().await["data"]["id"], reply.body["id"]);

    let history = app.get(&format!("/api/v1/conversations/{id}/messages"), &patient.access).await;
    let bodies: Vec<&str> = history.body["items"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["A little discomfort is fine.", "Should the knee exercise hurt?"], "newest first");
    assert_eq!(app.get(&format!("/api/v1/conversations/{id}"), &patient.access).await.body["unread_count"], 1);

    // The patient reads the reply: the staff side sees the receipt, counts drop to zero.
    let read = app.post(&format!("/api/v1/conversations/{id}/read"), &patient.access, json!({ "up_to": reply.body["id"] })).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["unread_count"], 0);
    let receipt = staff_chat.next_event().await;
    assert_eq!(receipt["kind"], "message.read");
    assert_eq!(receipt["data"]["user_id"], patient.id());
    assert_eq!(receipt["data"]["up_to"], reply.body["id"]);

    // staff2 has not read either message; staff read theirs by replying.
    let counts = |token: String| {
        let app = &app;
        let id = id.clone();
        async move { app.get(&format!("/api/v1/conversations/{id}"), &token).await.body["unread_count"].clone() }
    };
    assert_eq!(counts(staff2.access.clone()).await, 2);
    assert_eq!(counts(staff.access.clone()).await, 0);
}

#[tokio::test]
async fn a_retried_send_with_the_same_client_id_is_stored_once() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient2").await;
    let id = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Invoice" })).await.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/conversations/{id}/messages");
    let first = app.post(&path, &patient.access, json!({ "body": "Hello?", "client_id": "retry-me" })).await;
    let again = app.post(&path, &patient.access, json!({ "body": "Hello?", "client_id": "retry-me" })).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(first.body["id"], again.body["id"]);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE conversation_id = $1::uuid").bind(&id).fetch_one(&app.owner).await.unwrap();
    assert_eq!(stored, 1);
    let staff = app.login("harbour-physio", "staff").await;
    assert_eq!(app.get(&format!("/api/v1/conversations/{id}"), &staff.access).await.body["unread_count"], 1);
}

#[tokio::test]
async fn patients_cannot_reach_another_patients_or_another_clinics_conversation() {
    let app = spawn_app().await;
    let owner = app.login("harbour-physio", "patient1").await;
    let id = app.post("/api/v1/conversations", &owner.access, json!({ "subject": "Private", "body": "my results" })).await.body["id"].as_str().unwrap().to_string();
    let message_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM messages").fetch_one(&app.owner).await.unwrap();

    let intruders = [app.login("harbour-physio", "patient2").await, app.login("summit-health", "patient1").await, app.login("summit-health", "staff").await];
    for intruder in &intruders {
        app.get(&format!("/api/v1/conversations/{id}"), &intruder.access).await.assert_problem(404);
        app.get(&format!("/api/v1/conversations/{id}/messages"), &intruder.access).await.assert_problem(404);
        app.post(&format!("/api/v1/conversations/{id}/messages"), &intruder.access, json!({ "body": "hi" })).await.assert_problem(404);
        app.post(&format!("/api/v1/conversations/{id}/read"), &intruder.access, json!({ "up_to": message_id })).await.assert_problem(404);
        app.get(&format!("/api/v1/conversations/{id}/reads"), &intruder.access).await.assert_problem(404);
        let listed = app.get("/api/v1/conversations", &intruder.access).await;
        assert!(listed.body["items"].as_array().unwrap().iter().all(|c| c["id"] != id.as_str()));
    }
    let mut socket = app.socket(&intruders[0].access).await;
    let refused = socket.request(json!({ "op": "subscribe", "channel": format!("conversation:{id}") })).await;
    assert_eq!(refused["op"], "error");
    assert_eq!(refused["code"], "not_found", "someone else's conversation looks like no conversation");
    let mut own = app.socket(&owner.access).await;
    own.subscribe(&format!("conversation:{id}")).await;
    app.patch(&format!("/api/v1/conversations/{id}"), &owner.access, json!({ "status": "closed" })).await.assert_problem(403);
}

#[tokio::test]
async fn empty_oversized_and_misdirected_messages_are_refused_by_field() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient3").await;
    let staff = app.login("harbour-physio", "staff").await;
    let id = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Q" })).await.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/conversations/{id}/messages");
    for body in [json!({ "body": "   " }), json!({ "body": "x".repeat(5001) }), json!({})] {
        let refused = app.post(&path, &patient.access, body).await;
        refused.assert_problem(422);
        assert_eq!(refused.fields(), ["body"]);
    }
    let no_patient = app.post("/api/v1/conversations", &staff.access, json!({ "subject": "Hello" })).await;
    no_patient.assert_problem(422);
    assert_eq!(no_patient.fields(), ["patient_id"]);
    let no_subject = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "" })).await;
    assert_eq!(no_subject.fields(), ["subject"]);
    let wrong_message = app.post(&format!("/api/v1/conversations/{id}/read"), &patient.access, json!({ "up_to": uuid::Uuid::new_v4() })).await;
    wrong_message.assert_problem(422);
    assert_eq!(wrong_message.fields(), ["up_to"]);
}

#[tokio::test]
async fn staff_start_assign_and_see_typing_which_is_never_stored() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let patient = app.login("harbour-physio", "patient5").await;
    let started = app
        .post("/api/v1/conversations", &staff.access, json!({ "subject": "Your scan", "patient_id": app.patient_id("harbour-physio", 5).await }))
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let id = started.body["id"].as_str().unwrap();
    let assigned = app.patch(&format!("/api/v1/conversations/{id}"), &staff.access, json!({ "assignee_user_id": staff.id() })).await;
    assert_eq!(assigned.body["assignee_name"], "Sam Taylor");
    let mine = app.get("/api/v1/conversations?assignee=me", &staff.access).await;
    assert_eq!(mine.body["items"][0]["id"], id);

    let mut staff_chat = app.socket(&staff.access).await;
    staff_chat.subscribe(&format!("conversation:{id}")).await;
    let mut patient_chat = app.socket(&patient.access).await;
    patient_chat.subscribe(&format!("conversation:{id}")).await;
    let published = patient_chat.request(json!({ "op": "publish", "channel": format!("conversation:{id}"), "kind": "typing", "data": { "typing": true } })).await;
    assert_ne!(published["op"], "error", "{published}");
    let typing = staff_chat.next_event().await;
    assert_eq!(typing["kind"], "typing");
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = 'typing'").fetch_one(&app.owner).await.unwrap();
    assert_eq!(outbox, 0);
}

#[tokio::test]
async fn read_positions_survive_a_reload() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient1").await;
    let staff = app.login("harbour-physio", "staff").await;
    let id = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Knee", "body": "Is swelling normal?" })).await.body["id"].as_str().unwrap().to_string();
    let messages = app.get(&format!("/api/v1/conversations/{id}/messages"), &staff.access).await;
    let first = messages.body["items"][0]["id"].clone();
    app.post(&format!("/api/v1/conversations/{id}/read"), &staff.access, json!({ "up_to": first })).await;

    let reads = app.get(&format!("/api/v1/conversations/{id}/reads"), &patient.access).await;
    assert_eq!(reads.status, StatusCode::OK, "{}", reads.body);
    let by_role = |role: &str| reads.body.as_array().unwrap().iter().find(|r| r["role"] == role).cloned();
    assert_eq!(by_role("staff").unwrap()["up_to"], first, "the clinic's read receipt is there after a reload");
    assert_eq!(by_role("patient").unwrap()["up_to"], first, "the sender has read their own message");
}

#[tokio::test]
async fn booking_an_appointment_posts_a_system_message_that_only_the_patient_counts_as_unread() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient2").await;
    let staff = app.login("harbour-physio", "staff").await;
    let id = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Booking", "body": "Can I come in next week?" })).await.body["id"].as_str().unwrap().to_string();
    app.get(&format!("/api/v1/conversations/{id}"), &staff.access).await;
    let first = app.get(&format!("/api/v1/conversations/{id}/messages"), &staff.access).await.body["items"][0]["id"].clone();
    app.post(&format!("/api/v1/conversations/{id}/read"), &staff.access, json!({ "up_to": first })).await;
    let mut chat = app.socket(&patient.access).await;
    chat.subscribe(&format!("conversation:{id}")).await;

    let provider = app.get("/api/v1/providers", &staff.access).await.body["items"][0]["id"].clone();
    let start = chrono::Utc::now() + chrono::Duration::days(8);
    let booked = app
        .post(
            "/api/v1/appointments",
            &staff.access,
            json!({ "patient_id": app.patient_id("harbour-physio", 2).await, "provider_id": provider,
                    "starts_at": start.to_rfc3339(), "ends_at": (start + chrono::Duration::minutes(45)).to_rfc3339() }),
        )
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.body);

    let event = chat.next_event().await;
    assert_eq!(event["kind"], "message.created");
    assert_eq!(event["data"]["sender_role"], "system");
    assert_eq!(event["data"]["sender_user_id"], serde_json::Value::Null);
    assert!(event["data"]["body"].as_str().unwrap().starts_with("Appointment booked with "), "{}", event["data"]);
    let for_patient = app.get(&format!("/api/v1/conversations/{id}"), &patient.access).await;
    assert_eq!(for_patient.body["unread_count"], 1);
    let for_staff = app.get(&format!("/api/v1/conversations/{id}"), &staff.access).await;
    assert_eq!(for_staff.body["unread_count"], 0, "staff caused it; it is not news to the clinic");
}

#[tokio::test]
async fn the_patient_and_staff_sending_at_the_same_moment_both_succeed() {
    let app = spawn_app().await;
    let patient = app.login("harbour-physio", "patient4").await;
    let staff = app.login("harbour-physio", "staff").await;
    // A clinic whose only active clinic user is `staff`, so the conversation has exactly two
    // participants' read rows.
    sqlx::query("UPDATE users SET disabled_at = now() WHERE email IN ('admin@harbour-physio.test', 'staff2@harbour-physio.test')")
        .execute(&app.owner)
        .await
        .unwrap();
    let id = app.post("/api/v1/conversations", &patient.access, json!({ "subject": "Both at once" })).await.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/conversations/{id}/messages");
    // Each side's send bumps the other's unread count and resets its own: done at once, the
    // two used to lock those two rows in opposite orders, and one failed with a deadlock.
    let sends = (0..20).flat_map(|n| {
        [&patient, &staff].map(|sender| {
            let (app, path) = (&app, &path);
            async move { app.post(path, &sender.access, json!({ "body": format!("message {n}") })).await.status }
        })
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE conversation_id = $1::uuid").bind(&id).fetch_one(&app.owner).await.unwrap();
    assert_eq!(stored, 40);
}

