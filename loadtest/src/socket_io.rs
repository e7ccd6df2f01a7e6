//! Just enough of a Socket.IO v4 client (Engine.IO v4 over WebSocket) for the comparison:
//! the open packet, connecting to the default namespace, and `subscribe` with an ack.
//! Engine.IO packets are text frames starting with a digit: `0` open, `2` ping, `3` pong,
//! `4` message; a Socket.IO packet inside a message starts with its own type (`0` connect,
//! `2` event, `3` ack) and an optional ack id, then a JSON array.

use std::time::Duration;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Subscription, Ws};

/// Opens the session on `ws`, joins the default namespace and subscribes to `subscriptions`.
pub async fn handshake(mut ws: Ws, subscriptions: &[Subscription]) -> anyhow::Result<Ws> {
    expect(&mut ws, "0").await.context("Engine.IO open")?;
    ws.send(Message::text("40")).await?;
    expect(&mut ws, "40").await.context("namespace connect")?;
    for (n, subscription) in subscriptions.iter().enumerate() {
        ws.send(Message::text(format!(
            "42{n}{}",
            json!(["subscribe", subscription.channel])
        )))
        .await?;
        expect(&mut ws, &format!("43{n}"))
            .await
            .context("subscribe ack")?;
    }
    Ok(ws)
}

/// Waits for a frame starting with `prefix`, answering pings on the way.
async fn expect(ws: &mut Ws, prefix: &str) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await? {
            Some(Ok(Message::Text(text))) if text.starts_with(prefix) => return Ok(()),
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                ws.send(Message::text("3")).await?
            }
            Some(Ok(_)) => continue,
            other => anyhow::bail!("connection ended waiting for {prefix}: {other:?}"),
        }
    }
}
