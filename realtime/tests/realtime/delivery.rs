use futures::future::join_all;
use qivr_shared::auth::Role;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::{Ended, TestEnv};

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn an_event_published_through_node_b_reaches_a_subscriber_on_node_a(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let (a, b) = (env.redis_node().await, env.redis_node().await);
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = a.client(&staff).await;
    let subscribed = client.subscribe("evaluations").await;
    assert_eq!(subscribed["recovered"], false);

    let position = b
        .publisher()
        .publish(
            env.tenant_id,
            "evaluations",
            "evaluation.created",
            json!({"id": 42}),
        )
        .await
        .unwrap();

    let event = client.next_event().await;
    assert_eq!(event["channel"], "evaluations");
    assert_eq!(event["event"]["kind"], "evaluation.created");
    assert_eq!(event["event"]["data"], json!({"id": 42}));
    assert_eq!(event["epoch"], subscribed["epoch"]);
    let offset: u64 = event["offset"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        offset,
        subscribed["offset"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            + 1
    );
    assert_eq!(position.unwrap().offset, offset);
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn another_tenants_events_on_a_channel_of_the_same_name_never_arrive(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.redis_node().await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;
    client.subscribe("evaluations").await;

    let publisher = node.publisher();
    publisher
        .publish(
            uuid::Uuid::now_v7(),
            "evaluations",
            "evaluation.created",
            json!({"tenant": "other"}),
        )
        .await
        .unwrap();
    publisher
        .publish(
            env.tenant_id,
            "evaluations",
            "evaluation.created",
            json!({"tenant": "ours"}),
        )
        .await
        .unwrap();

    assert_eq!(client.next_event().await["event"]["data"]["tenant"], "ours");
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn the_in_process_broker_delivers_in_order_to_every_subscriber(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut clients = join_all((0..3).map(|_| node.client(&staff))).await;
    for client in &mut clients {
        client.subscribe("appointments").await;
    }
    for n in 0..20 {
        node.publisher()
            .publish(
                env.tenant_id,
                "appointments",
                "appointment.created",
                json!({"n": n}),
            )
            .await
            .unwrap();
    }
    for client in &mut clients {
        for n in 0..20 {
            assert_eq!(client.next_event().await["event"]["data"]["n"], n);
        }
    }
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_slow_client_is_closed_with_4008_while_the_others_receive_every_event(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env
        .redis_node_with(|c| c.realtime.send_queue_capacity = 64)
        .await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut slow = node.client(&staff).await;
    slow.subscribe("inbox").await;
    let mut fast = node.client(&staff).await;
    fast.subscribe("inbox").await;
    let reader = tokio::spawn(async move {
        let mut offsets = Vec::new();
        loop {
            let event = fast.next_event().await;
            offsets.push(event["offset"].as_str().unwrap().parse::<u64>().unwrap());
            if event["event"]["data"]["last"] == true {
                return offsets;
            }
        }
    });

    // The slow client reads nothing until the hub has given up on it.
    let filler = "x".repeat(8 * 1024);
    let publisher = node.publisher();
    let mut published = 0;
    while node.hub.metrics().slow_consumer_closes.get() == 0 {
        assert!(published < 50_000, "the slow client was never closed");
        publisher
            .publish(
                env.tenant_id,
                "inbox",
                "conversation.updated",
                json!({"filler": filler}),
            )
            .await
            .unwrap();
        published += 1;
    }
    publisher
        .publish(
            env.tenant_id,
            "inbox",
            "conversation.updated",
            json!({"last": true}),
        )
        .await
        .unwrap();
    published += 1;

    let offsets = reader.await.unwrap();
    assert_eq!(offsets.len(), published, "the fast client got every event");
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, without gaps"
    );

    let mut received = Vec::new();
    let ended = loop {
        match slow.read().await {
            Ok(frame) if frame["op"] == "event" => {
                received.push(frame["offset"].as_str().unwrap().parse::<u64>().unwrap())
            }
            Ok(_) => {}
            Err(ended) => break ended,
        }
    };
    assert_eq!(ended, Ended::Closed(4008));
    assert!(received.len() < published);
    assert!(
        received.windows(2).all(|w| w[1] == w[0] + 1),
        "what the slow client got is in order, without gaps"
    );
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn typing_is_relayed_to_the_conversation_but_never_stored(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let (a, b) = (env.redis_node().await, env.redis_node().await);
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let patient = env.user(Role::Patient, "Pat Patient").await;
    let conversation = uuid::Uuid::now_v7();
    env.conversations.set(conversation, vec![patient.id]);
    let channel = format!("conversation:{conversation}");

    let mut patient_client = a.client(&patient).await;
    let subscribed = patient_client.subscribe(&channel).await;
    let mut staff_client = b.client(&staff).await;
    staff_client.subscribe(&channel).await;

    let reply = staff_client.request(json!({"op": "publish", "channel": channel, "kind": "typing", "data": {"typing": true}})).await;
    assert_eq!(reply["op"], "published", "{reply}");
    let typing = patient_client.next_event().await;
    assert_eq!(typing["event"]["kind"], "typing");
    assert_eq!(typing["event"]["data"]["typing"], true);
    assert_eq!(typing["event"]["data"]["user_id"], staff.id.to_string());
    assert!(
        typing.get("offset").is_none(),
        "ephemeral events have no offset: {typing}"
    );

    let refused = staff_client
        .request(
            json!({"op": "publish", "channel": channel, "kind": "message.created", "data": {}}),
        )
        .await;
    assert_eq!(refused["code"], "forbidden");
    let refused = staff_client
        .request(json!({"op": "publish", "channel": "evaluations", "kind": "typing", "data": {}}))
        .await;
    assert_eq!(refused["code"], "forbidden");

    drop(patient_client);
    let mut again = a.client(&patient).await;
    let recovered = again
        .subscribe_since(&channel, &subscribed["offset"], &subscribed["epoch"])
        .await;
    assert_eq!(recovered["recovered"], true);
    assert_eq!(recovered["events"], json!([]), "typing is not in history");
}
