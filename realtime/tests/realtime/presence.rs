use qivr_shared::auth::Role;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::TestEnv;

fn names(users: &Value) -> Vec<String> {
    let mut names: Vec<String> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn presence_joins_and_leaves_are_seen_across_nodes_and_expire_when_a_node_dies(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let a = env
        .redis_node_with(|c| c.realtime.presence_ttl_secs = 1)
        .await;
    let b = env
        .redis_node_with(|c| c.realtime.presence_ttl_secs = 1)
        .await;
    let alice = env.user(Role::Staff, "Alice").await;
    let bob = env.user(Role::Admin, "Bob").await;

    let mut alice_client = a.client(&alice).await;
    alice_client.subscribe("presence").await;
    assert_eq!(
        names(&alice_client.next_op("presence").await["joined"]),
        ["Alice"]
    );

    let mut bob_client = b.client(&bob).await;
    bob_client.subscribe("presence").await;
    let joined = alice_client.next_op("presence").await;
    assert_eq!(names(&joined["joined"]), ["Bob"]);
    assert_eq!(joined["joined"][0]["role"], "admin");
    assert_eq!(joined["joined"][0]["user_id"], bob.id.to_string());

    let present = alice_client
        .request(json!({"op": "presence", "channel": "presence"}))
        .await;
    assert_eq!(names(&present["present"]), ["Alice", "Bob"]);

    // A second connection of Bob's is not news; its leaving is not either.
    let mut bob_again = a.client(&bob).await;
    bob_again.subscribe("presence").await;
    let reply = bob_again
        .request(json!({"op": "unsubscribe", "channel": "presence"}))
        .await;
    assert_eq!(reply["op"], "unsubscribed");

    let reply = bob_client
        .request(json!({"op": "unsubscribe", "channel": "presence"}))
        .await;
    assert_eq!(reply["op"], "unsubscribed");
    let left = alice_client.next_op("presence").await;
    assert_eq!(names(&left["left"]), ["Bob"], "{left}");

    bob_client.subscribe("presence").await;
    assert_eq!(
        names(&alice_client.next_op("presence").await["joined"]),
        ["Bob"]
    );

    // Node B dies without a word: its entries expire and node A announces who left.
    b.crash();
    let left = alice_client.next_op("presence").await;
    assert_eq!(names(&left["left"]), ["Bob"], "{left}");
    let present = alice_client
        .request(json!({"op": "presence", "channel": "presence"}))
        .await;
    assert_eq!(names(&present["present"]), ["Alice"]);
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn conversation_participants_see_each_other_in_presence(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let patient = env.user(Role::Patient, "Pat Patient").await;
    let conversation = uuid::Uuid::now_v7();
    env.conversations.set(conversation, vec![patient.id]);
    let channel = format!("conversation:{conversation}");

    let mut patient_client = node.client(&patient).await;
    patient_client.subscribe(&channel).await;
    let mut staff_client = node.client(&staff).await;
    staff_client.subscribe(&channel).await;
    let present = patient_client
        .request(json!({"op": "presence", "channel": channel}))
        .await;
    assert_eq!(names(&present["present"]), ["Pat Patient", "Sam Staff"]);

    drop(staff_client);
    loop {
        let frame = patient_client.next_op("presence").await;
        if frame.get("left").is_some() {
            assert_eq!(names(&frame["left"]), ["Sam Staff"]);
            break;
        }
    }
    let reply = patient_client
        .request(json!({"op": "presence", "channel": "inbox"}))
        .await;
    assert_eq!(reply["code"], "forbidden");
}
