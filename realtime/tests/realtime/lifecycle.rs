use qivr_shared::auth::Role;
use qivr_shared::config::AuthConfig;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::{Client, Ended, TestEnv};

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn shutdown_closes_every_connection_with_4500_and_refuses_new_ones(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.redis_node().await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut first = node.client(&staff).await;
    first.subscribe("evaluations").await;
    let mut second = node.client(&staff).await;

    node.hub.shutdown().await;

    assert_eq!(first.closed().await, Ended::Closed(4500));
    assert_eq!(second.closed().await, Ended::Closed(4500));
    assert!(tokio_tungstenite::connect_async(node.url()).await.is_err());
    assert_eq!(node.hub.metrics().connections.get(), 0);
    assert_eq!(node.hub.metrics().subscriptions.get(), 0);
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_logged_out_session_and_a_disabled_user_are_disconnected_on_every_node(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let (a, b) = (env.redis_node().await, env.redis_node().await);
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut same_session = a.client(&staff).await;
    let other_session_id = env.session(staff.id).await;
    let other_token = env
        .auth
        .issue(staff.id, env.tenant_id, Role::Staff, other_session_id)
        .unwrap()
        .token;
    let mut other_session = Client::connect(&a.url()).await;
    assert_eq!(
        other_session
            .request(json!({"op": "auth", "token": other_token}))
            .await["op"],
        "connected"
    );

    b.publisher()
        .disconnect_session(env.tenant_id, staff.session_id)
        .await
        .unwrap();
    assert_eq!(same_session.closed().await, Ended::Closed(4001));
    assert_eq!(
        other_session
            .request(json!({"op": "presence", "channel": "presence"}))
            .await["op"],
        "presence"
    );

    b.publisher()
        .disconnect_user(env.tenant_id, staff.id)
        .await
        .unwrap();
    assert_eq!(other_session.closed().await, Ended::Closed(4001));
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn refresh_required_comes_before_expiry_refresh_extends_and_expiry_closes_with_4002(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::with_auth(
        options,
        AuthConfig {
            access_ttl_secs: 3,
            ..AuthConfig::default()
        },
    )
    .await;
    let node = env
        .memory_node_with(|c| c.realtime.refresh_before_expiry_secs = 2)
        .await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;

    let required = client.next_op("refresh_required").await;
    assert!(required["expires_in"].as_i64().unwrap() <= 2);
    let fresh = env
        .auth
        .issue(staff.id, env.tenant_id, Role::Staff, staff.session_id)
        .unwrap()
        .token;
    let refreshed = client
        .request(json!({"op": "refresh", "token": fresh}))
        .await;
    assert_eq!(refreshed["op"], "refreshed", "{refreshed}");
    assert!(refreshed["expires_in"].as_i64().unwrap() > 0);

    let wrong = env.user(Role::Staff, "Someone Else").await;
    let refused = client
        .request(json!({"op": "refresh", "token": wrong.token}))
        .await;
    assert_eq!(refused["code"], "unauthorized");

    // Warned again before the new token expires, and closed when it does.
    client.next_op("refresh_required").await;
    assert_eq!(client.closed().await, Ended::Closed(4002));
}
