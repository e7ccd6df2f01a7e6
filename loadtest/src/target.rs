//! What the hub scenarios (fanout, idle, storm, slow) run against: Qivr's hub, or one of the
//! peers it is compared with. Each knows how to open a subscribed connection and how to
//! publish an event to every subscriber, so the scenarios are written once.
//!
//! Event frames differ per target but all carry the event's data as `"data":{…}` with the
//! publish time in `"t"` and the sequence number in `"n"`, which is all a client reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::SinkExt;
use qivr_realtime::Publisher;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::client::{self, Subscription, Ws};
use crate::fanout::CHANNEL;
use crate::socket_io;

#[derive(Clone)]
pub struct HubTarget {
    /// `qivr`, `socketio` or `bare`: names the reports.
    pub name: &'static str,
    pub ws_url: String,
    /// The server's process, for its memory.
    pub pid: u32,
    protocol: Protocol,
}

#[derive(Clone)]
enum Protocol {
    /// Each connection authenticates as the next of `tokens`: distinct users and sessions, as
    /// in life (one shared session would serialize every handshake on its row).
    Qivr {
        publisher: Publisher,
        tenant_id: Uuid,
        tokens: Arc<Vec<String>>,
        next: Arc<AtomicUsize>,
    },
    /// The bare broadcast server: no handshake; what one connection sends, all others get.
    Bare { publisher: Arc<Mutex<Ws>> },
    /// Socket.IO 4 (loadtest/peers/socketio): Engine.IO v4 framing over WebSocket, rooms for
    /// channels, a `publish` event that the server emits to the room as `event`.
    SocketIo { publisher: Arc<Mutex<Ws>> },
}

impl HubTarget {
    pub fn qivr(
        ws_url: String,
        pid: u32,
        publisher: Publisher,
        tenant_id: Uuid,
        tokens: Vec<String>,
    ) -> Self {
        Self {
            name: "qivr",
            ws_url,
            pid,
            protocol: Protocol::Qivr {
                publisher,
                tenant_id,
                tokens: Arc::new(tokens),
                next: Arc::new(AtomicUsize::new(0)),
            },
        }
    }

    /// The bare broadcast server at `ws_url`; opens the publishing connection.
    pub async fn bare(ws_url: String, pid: u32) -> anyhow::Result<Self> {
        let publisher = Arc::new(Mutex::new(client::open(&ws_url).await?));
        Ok(Self {
            name: "bare",
            ws_url,
            pid,
            protocol: Protocol::Bare { publisher },
        })
    }

    /// The Socket.IO peer listening at `addr`; opens the publishing connection.
    pub async fn socket_io(addr: &str, pid: u32) -> anyhow::Result<Self> {
        let ws_url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let publisher = Arc::new(Mutex::new(
            socket_io::handshake(client::open(&ws_url).await?, &[]).await?,
        ));
        Ok(Self {
            name: "socketio",
            ws_url,
            pid,
            protocol: Protocol::SocketIo { publisher },
        })
    }

    /// A connection subscribed to `subscriptions` (the bare server has one channel: all).
    pub async fn connect(&self, subscriptions: &[Subscription]) -> anyhow::Result<Ws> {
        Ok(self.connect_with(subscriptions, None).await?.0)
    }

    /// [`Self::connect`] with an optional small receive buffer; also returns the
    /// `subscribed` answers (Qivr only).
    pub async fn connect_with(
        &self,
        subscriptions: &[Subscription],
        receive_buffer: Option<u32>,
    ) -> anyhow::Result<(Ws, Vec<Value>)> {
        let ws = client::open_with(&self.ws_url, receive_buffer).await?;
        match &self.protocol {
            Protocol::Qivr { tokens, next, .. } => {
                let token = &tokens[next.fetch_add(1, Ordering::Relaxed) % tokens.len()];
                client::handshake(ws, token, subscriptions).await
            }
            Protocol::Bare { .. } => Ok((ws, Vec::new())),
            Protocol::SocketIo { .. } => {
                Ok((socket_io::handshake(ws, subscriptions).await?, Vec::new()))
            }
        }
    }

    /// Whether subscribing with `since` recovers missed events (the storm scenario needs it).
    pub fn recovers(&self) -> bool {
        matches!(self.protocol, Protocol::Qivr { .. })
    }

    /// Publishes `data` to every subscriber of [`CHANNEL`].
    pub async fn publish(&self, data: Value) -> anyhow::Result<()> {
        match &self.protocol {
            Protocol::Qivr {
                publisher,
                tenant_id,
                ..
            } => {
                publisher
                    .publish(*tenant_id, CHANNEL, "bench", data)
                    .await?;
            }
            Protocol::Bare { publisher } => {
                let frame = serde_json::json!({"data": data}).to_string();
                publisher.lock().await.send(Message::text(frame)).await?;
            }
            Protocol::SocketIo { publisher } => {
                let frame = format!("42{}", serde_json::json!(["publish", {"data": data}]));
                publisher.lock().await.send(Message::text(frame)).await?;
            }
        }
        Ok(())
    }
}
