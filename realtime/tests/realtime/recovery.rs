use qivr_shared::auth::Role;
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::helpers::TestEnv;

fn offset(frame: &Value) -> u64 {
    frame["offset"].as_str().unwrap().parse().unwrap()
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_client_that_reconnects_with_since_gets_exactly_the_missed_events_on_either_node(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let (a, b) = (env.redis_node().await, env.redis_node().await);
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let publisher = b.publisher();

    let mut client = a.client(&staff).await;
    client.subscribe("evaluations").await;
    publisher
        .publish(
            env.tenant_id,
            "evaluations",
            "evaluation.created",
            json!({"n": 1}),
        )
        .await
        .unwrap();
    let seen = client.next_event().await;
    drop(client);

    for n in 2..=4 {
        publisher
            .publish(
                env.tenant_id,
                "evaluations",
                "evaluation.updated",
                json!({"n": n}),
            )
            .await
            .unwrap();
    }

    for node in [&a, &b] {
        let mut client = node.client(&staff).await;
        let reply = client
            .subscribe_since("evaluations", &seen["offset"], &seen["epoch"])
            .await;
        assert_eq!(reply["recovered"], true, "{reply}");
        let events = reply["events"].as_array().unwrap();
        let missed: Vec<_> = events
            .iter()
            .map(|e| e["event"]["data"]["n"].as_i64().unwrap())
            .collect();
        assert_eq!(missed, [2, 3, 4]);
        assert!(events.iter().all(|e| e["op"] == "event"
            && e["channel"] == "evaluations"
            && e["epoch"] == seen["epoch"]));
        assert_eq!(offset(&events[0]), offset(&seen) + 1);
        assert_eq!(reply["offset"], events[2]["offset"]);
    }

    // And live events follow, with no duplicate.
    let mut client = a.client(&staff).await;
    client
        .subscribe_since("evaluations", &seen["offset"], &seen["epoch"])
        .await;
    publisher
        .publish(
            env.tenant_id,
            "evaluations",
            "evaluation.updated",
            json!({"n": 5}),
        )
        .await
        .unwrap();
    assert_eq!(client.next_event().await["event"]["data"]["n"], 5);
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn recovery_while_events_keep_coming_has_no_gap_and_no_duplicate(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    // History longer than everything published: how far publishing gets before the client is
    // back depends on the machine, and this test is about the seam, not about running out.
    let history = |c: &mut qivr_shared::Config| c.realtime.history_size = 1024;
    let (a, b) = (env.redis_node_with(history).await, env.redis_node_with(history).await);
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = a.client(&staff).await;
    let start = client.subscribe("appointments").await;
    drop(client);

    let publisher = b.publisher();
    let tenant = env.tenant_id;
    const TOTAL: i64 = 300;
    let publishing = tokio::spawn(async move {
        for n in 1..=TOTAL {
            publisher
                .publish(
                    tenant,
                    "appointments",
                    "appointment.updated",
                    json!({"n": n}),
                )
                .await
                .unwrap();
        }
    });

    // Resubscribe from the start while publishing goes on: history, then live.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut client = a.client(&staff).await;
    let reply = client
        .subscribe_since("appointments", &start["offset"], &start["epoch"])
        .await;
    assert_eq!(reply["recovered"], true);
    let mut seen: Vec<i64> = reply["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["data"]["n"].as_i64().unwrap())
        .collect();
    while seen.last() != Some(&TOTAL) {
        seen.push(
            client.next_event().await["event"]["data"]["n"]
                .as_i64()
                .unwrap(),
        );
    }
    publishing.await.unwrap();
    assert_eq!(seen, (1..=TOTAL).collect::<Vec<_>>());
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn with_history_trimmed_recovery_reports_recovered_false(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.redis_node_with(|c| c.realtime.history_size = 3).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;
    let start = client.subscribe("inbox").await;
    drop(client);
    for n in 0..5 {
        node.publisher()
            .publish(
                env.tenant_id,
                "inbox",
                "conversation.updated",
                json!({"n": n}),
            )
            .await
            .unwrap();
    }

    let mut client = node.client(&staff).await;
    let reply = client
        .subscribe_since("inbox", &start["offset"], &start["epoch"])
        .await;
    assert_eq!(reply["recovered"], false);
    assert_eq!(reply["events"], json!([]));
    assert_eq!(
        reply["offset"], "5",
        "the client learns where to continue from"
    );
    let text = node.metrics_text();
    assert!(
        text.contains(r#"qivr_realtime_recoveries_total{result="miss"} 1"#),
        "{text}"
    );
}

#[sqlx::test(migrator = "qivr_shared::db::MIGRATOR")]
async fn a_position_from_another_epoch_is_not_recovered(
    _: PgPoolOptions,
    options: PgConnectOptions,
) {
    let env = TestEnv::new(options).await;
    let node = env.memory_node_with(|_| {}).await;
    let staff = env.user(Role::Staff, "Sam Staff").await;
    let mut client = node.client(&staff).await;
    let start = client.subscribe("inbox").await;
    node.publisher()
        .publish(env.tenant_id, "inbox", "conversation.updated", json!({}))
        .await
        .unwrap();
    client.next_event().await;
    drop(client);

    let mut client = node.client(&staff).await;
    let reply = client
        .subscribe_since("inbox", &start["offset"], &json!("not-the-epoch"))
        .await;
    assert_eq!(reply["recovered"], false);
    let mut client = node.client(&staff).await;
    let reply = client
        .subscribe_since("inbox", &start["offset"], &start["epoch"])
        .await;
    assert_eq!(
        reply["recovered"], true,
        "the in-process broker recovers too"
    );
    assert_eq!(reply["events"].as_array().unwrap().len(), 1);
}
