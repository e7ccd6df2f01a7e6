use qivr_shared::auth::Role;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use crate::helpers::TestEnv;

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_patient_cannot_subscribe_to_clinic_channels_another_users_channel_or_a_conversation_they_are_not_in(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.redis_node().await;
    let patient = env.user(Role::Patient, "Pat Patient").await;
    let other = env.user(Role::Patient, "Other Patient").await;
    let (theirs, not_theirs) = (Uuid::now_v7(), Uuid::now_v7());
    env.conversations.set(theirs, vec![patient.id]);
    env.conversations.set(not_theirs, vec![other.id]);
    let mut client = node.client(&patient).await;

    for channel in ["evaluations", "appointments", "presence", "inbox"] {
        let reply = client
            .request(json!({"op": "subscribe", "channel": channel}))
            .await;
        assert_eq!(
            (reply["op"].as_str(), reply["code"].as_str()),
            (Some("error"), Some("forbidden")),
            "{channel}: {reply}"
        );
    }
    let reply = client
        .request(json!({"op": "subscribe", "channel": format!("user:{}", other.id)}))
        .await;
    assert_eq!(reply["code"], "forbidden");
    for conversation in [not_theirs, Uuid::now_v7()] {
        let reply = client
            .request(json!({"op": "subscribe", "channel": format!("conversation:{conversation}")}))
            .await;
        assert_eq!(reply["code"], "not_found", "{reply}");
    }
    let reply = client
        .request(json!({"op": "presence", "channel": "presence"}))
        .await;
    assert_eq!(reply["code"], "forbidden");

    // Still connected, and allowed what is theirs.
    client.subscribe(&format!("user:{}", patient.id)).await;
    client.subscribe(&format!("conversation:{theirs}")).await;
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn staff_may_subscribe_to_clinic_channels_and_conversations_but_not_another_users_channel(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let admin = env.user(Role::Admin, "Ada Admin").await;
    let mut client = node.client(&staff).await;
    for channel in ["evaluations", "appointments", "presence", "inbox"] {
        client.subscribe(channel).await;
    }
    client
        .subscribe(&format!("conversation:{}", Uuid::now_v7()))
        .await;
    client.subscribe(&format!("user:{}", staff.id)).await;
    let reply = client
        .request(json!({"op": "subscribe", "channel": format!("user:{}", admin.id)}))
        .await;
    assert_eq!(reply["code"], "forbidden");
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_patient_removed_from_a_conversation_loses_the_channel_on_every_node(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let (a, b) = (env.redis_node().await, env.redis_node().await);
    let patient = env.user(Role::Patient, "Pat Patient").await;
    let conversation = Uuid::now_v7();
    env.conversations.set(conversation, vec![patient.id]);
    let channel = format!("conversation:{conversation}");
    let mut client = a.client(&patient).await;
    client.subscribe(&channel).await;

    env.conversations.set(conversation, vec![]);
    b.publisher()
        .invalidate_conversation(env.tenant_id, conversation)
        .await
        .unwrap();

    let withdrawn = client.next_op("error").await;
    assert_eq!(withdrawn["code"], "forbidden");
    assert_eq!(withdrawn["channel"], channel);
    b.publisher()
        .publish(
            env.tenant_id,
            &channel,
            "message.created",
            json!({"secret": true}),
        )
        .await
        .unwrap();
    b.publisher()
        .publish(
            env.tenant_id,
            &format!("user:{}", patient.id),
            "notification",
            json!({}),
        )
        .await
        .unwrap();
    client.subscribe(&format!("user:{}", patient.id)).await;
    b.publisher()
        .publish(
            env.tenant_id,
            &format!("user:{}", patient.id),
            "notification",
            json!({"after": true}),
        )
        .await
        .unwrap();
    let next = client.next_event().await;
    assert_eq!(
        next["event"]["data"]["after"], true,
        "nothing from the conversation arrived: {next}"
    );
}
