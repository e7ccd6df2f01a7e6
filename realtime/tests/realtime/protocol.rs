use futures::SinkExt;
use qivr_shared::auth::Role;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Client, Ended, TestEnv};

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn malformed_frames_get_error_frames_and_the_connection_keeps_working(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;

    client.send_text("this is not json").await;
    let error = client.next_frame().await;
    assert_eq!(
        (error["op"].as_str(), error["code"].as_str()),
        (Some("error"), Some("bad_request")),
        "{error}"
    );

    client.send_text("[1, 2, 3]").await;
    assert_eq!(client.next_frame().await["code"], "bad_request");

    client.send_text(r#"{"id": 70}"#).await;
    let error = client.next_frame().await;
    assert_eq!(
        (error["id"].as_u64(), error["code"].as_str()),
        (Some(70), Some("bad_request"))
    );
    assert!(error["message"].as_str().unwrap().contains("op"), "{error}");

    let error = client.request(json!({"op": "dance"})).await;
    assert_eq!(error["code"], "bad_request");
    assert!(error["message"].as_str().unwrap().contains("dance"));

    let error = client.request(json!({"op": "subscribe"})).await;
    assert_eq!(error["code"], "bad_request");
    assert!(
        error["message"].as_str().unwrap().contains("channel"),
        "names the missing field: {error}"
    );

    for channel in [
        "nonsense",
        "user:not-a-uuid",
        "t:00000000-0000-0000-0000-000000000000:inbox",
    ] {
        let error = client
            .request(json!({"op": "subscribe", "channel": channel}))
            .await;
        assert_eq!(error["code"], "bad_request", "{channel}");
    }
    let error = client
        .request(
            json!({"op": "subscribe", "channel": "inbox", "since": {"offset": "x", "epoch": "y"}}),
        )
        .await;
    assert_eq!(error["code"], "bad_request");
    let error = client
        .request(json!({"op": "unsubscribe", "channel": "inbox"}))
        .await;
    assert_eq!(error["code"], "bad_request", "not subscribed");
    let error = client
        .request(json!({"op": "auth", "token": staff.token}))
        .await;
    assert_eq!(error["code"], "bad_request", "already authenticated");

    client.subscribe("inbox").await;
    let error = client
        .request(json!({"op": "subscribe", "channel": "inbox"}))
        .await;
    assert_eq!(error["code"], "bad_request", "already subscribed");
    let reply = client
        .request(json!({"op": "unsubscribe", "channel": "inbox"}))
        .await;
    assert_eq!(reply["op"], "unsubscribed");
    client.subscribe("inbox").await;
    node.publisher()
        .publish(
            env.tenant_id,
            "inbox",
            "conversation.updated",
            json!({"ok": true}),
        )
        .await
        .unwrap();
    assert_eq!(client.next_event().await["event"]["data"]["ok"], true);
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn the_connected_frame_names_the_user_and_when_the_token_expires(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = Client::connect(&node.url()).await;
    let connected = client
        .request(json!({"op": "auth", "token": staff.token}))
        .await;
    assert_eq!(connected["op"], "connected");
    assert_eq!(connected["user"]["id"], staff.id.to_string());
    assert_eq!(connected["user"]["tenant_id"], env.tenant_id.to_string());
    assert_eq!(connected["user"]["role"], "staff");
    assert_eq!(connected["user"]["name"], "Sam Staff");
    let expires_in = connected["expires_in"].as_i64().unwrap();
    assert!(expires_in > 0 && expires_in <= 900);
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_bad_token_or_a_first_frame_other_than_auth_closes_with_4001(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;

    let mut client = Client::connect(&node.url()).await;
    client
        .send_text(json!({"op": "auth", "id": 1, "token": "not.a.token"}).to_string())
        .await;
    assert_eq!(client.closed().await, Ended::Closed(4001));

    let mut client = Client::connect(&node.url()).await;
    client
        .send_text(json!({"op": "subscribe", "id": 1, "channel": "inbox"}).to_string())
        .await;
    assert_eq!(client.closed().await, Ended::Closed(4001));

    let mut client = Client::connect(&node.url()).await;
    client.send_text("garbage").await;
    assert_eq!(client.closed().await, Ended::Closed(4001));

    // A token whose session was revoked.
    let staff = env.user(Role::Staff, "Sam Staff").await;
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1")
        .bind(staff.session_id)
        .execute(&env.owner)
        .await
        .unwrap();
    let mut client = Client::connect(&node.url()).await;
    client
        .send_text(json!({"op": "auth", "id": 1, "token": staff.token}).to_string())
        .await;
    assert_eq!(client.closed().await, Ended::Closed(4001));
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn no_auth_within_the_timeout_closes_with_4001(_: PgPoolOptions, options: PgConnectOptions) {
    let env = TestEnv::new(options).await;
    let node = env
        .memory_node_with(|c| c.realtime.auth_timeout_secs = 1)
        .await;
    let mut client = Client::connect(&node.url()).await;
    assert_eq!(client.closed().await, Ended::Closed(4001));
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_client_sending_too_fast_gets_rate_limited_then_closed_with_4029(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env
        .memory_node_with(|c| {
            c.realtime.client_frames_per_second = 1;
            c.realtime.client_frame_burst = 3;
        })
        .await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;
    for n in 0..20 {
        client
            .send_text(json!({"op": "presence", "id": n, "channel": "presence"}).to_string())
            .await;
    }
    let mut rate_limited = 0;
    let ended = loop {
        match client.read().await {
            Ok(frame) if frame["code"] == "rate_limited" => rate_limited += 1,
            Ok(_) => {}
            Err(ended) => break ended,
        }
    };
    assert!(rate_limited > 0);
    assert_eq!(ended, Ended::Closed(4029));
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_websocket_from_a_foreign_origin_is_refused(_: PgPoolOptions, options: PgConnectOptions) {
    let env = TestEnv::new(options).await;
    let node = env
        .memory_node_with(|c| c.allowed_origins = vec!["https://portal.example.com".into()])
        .await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = node.url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example.com".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    let mut request = node.url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://portal.example.com".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("an allowed origin connects");
    ws.send(Message::text(r#"{"op":"auth","id":1,"token":"x"}"#))
        .await
        .unwrap();
}
