//! The load generator's WebSocket client: connecting from many loopback source addresses,
//! the protocol v1 handshake, and reading the publish time out of event frames.
//!
//! One source address has about 28,000 ephemeral ports, so connections are spread over
//! 127.0.0.1, 127.0.0.2, … (all of 127/8 is local on Linux) to open more than that.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connections per loopback source address before moving to the next one: well under the
/// ~28,000 ephemeral ports, which the previous runs' connections may still hold in TIME_WAIT.
const PER_SOURCE_ADDRESS: usize = 4_000;

static OPENED: AtomicUsize = AtomicUsize::new(0);

/// Where this process starts among 127.0.0.1–250, so consecutive runs use fresh addresses.
static FIRST_SOURCE: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| rand::random::<u8>() as usize % 250);

/// Opens a WebSocket to `url` (`ws://host:port/path`) with small buffers, from the next
/// loopback source address when the server is on loopback.
pub async fn open(url: &str) -> anyhow::Result<Ws> {
    open_with(url, None).await
}

/// [`open`], optionally with a small kernel receive buffer (a client that stops reading then
/// backs up into the server quickly, instead of into megabytes of socket buffers).
pub async fn open_with(url: &str, receive_buffer: Option<u32>) -> anyhow::Result<Ws> {
    let authority = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .context("expected a ws:// URL")?;
    let server: SocketAddr = tokio::net::lookup_host(authority)
        .await?
        .next()
        .context("no address for the server")?;
    let socket = TcpSocket::new_v4()?;
    if let Some(bytes) = receive_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    if server.ip().is_loopback() {
        let n = OPENED.fetch_add(1, Ordering::Relaxed) / PER_SOURCE_ADDRESS;
        socket.bind(SocketAddr::from((
            Ipv4Addr::new(127, 0, 0, 1 + ((*FIRST_SOURCE + n) % 250) as u8),
            0,
        )))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    // Small buffers: thousands of these share the machine with the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// Opens, authenticates and subscribes to `channels`.
pub async fn connect(url: &str, token: &str, channels: &[Subscription]) -> anyhow::Result<Ws> {
    Ok(handshake(open(url).await?, token, channels).await?.0)
}

/// Authenticates `ws` and subscribes to `channels` (with `since` where given); returns the
/// `subscribed` answers, which carry any recovered events.
pub async fn handshake(
    mut ws: Ws,
    token: &str,
    channels: &[Subscription],
) -> anyhow::Result<(Ws, Vec<Value>)> {
    ws.send(Message::text(
        json!({"op": "auth", "id": 1, "token": token}).to_string(),
    ))
    .await?;
    expect_op(&mut ws, "connected").await?;
    let mut answers = Vec::with_capacity(channels.len());
    for (n, channel) in channels.iter().enumerate() {
        answers.push(subscribe(&mut ws, n as u64 + 2, channel).await?);
    }
    Ok((ws, answers))
}

/// A channel to subscribe to, optionally recovering from a position.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub channel: String,
    /// `(offset, epoch)` of the last event seen.
    pub since: Option<(String, String)>,
}

impl Subscription {
    pub fn new(channel: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            since: None,
        }
    }
}

/// Sends `subscribe` and returns the `subscribed` answer (with any recovered events).
pub async fn subscribe(ws: &mut Ws, id: u64, subscription: &Subscription) -> anyhow::Result<Value> {
    let mut frame = json!({"op": "subscribe", "id": id, "channel": subscription.channel});
    if let Some((offset, epoch)) = &subscription.since {
        frame["since"] = json!({"offset": offset, "epoch": epoch});
    }
    ws.send(Message::text(frame.to_string())).await?;
    let text = expect_op(ws, "subscribed").await?;
    Ok(serde_json::from_str(&text)?)
}

/// Waits for a frame with `op`; anything else first is an error (events do not arrive before
/// the subscription they belong to is answered).
pub async fn expect_op(ws: &mut Ws, op: &str) -> anyhow::Result<String> {
    let needle = format!(r#""op":"{op}""#);
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next()).await? {
            Some(Ok(Message::Text(text))) if text.contains(&needle) => return Ok(text.to_string()),
            Some(Ok(Message::Text(text))) if text.contains(r#""op":"event""#) => continue,
            Some(Ok(Message::Text(text))) => anyhow::bail!("expected {op}, got {text}"),
            Some(Ok(_)) => continue,
            other => anyhow::bail!("connection ended waiting for {op}: {other:?}"),
        }
    }
}

/// The number after `key` in `frame` (e.g. `"t":` → the publish time), found without parsing
/// the frame: thousands of clients read every frame on two cores.
pub fn number_after(frame: &str, key: &str) -> Option<u64> {
    let at = frame.find(key)? + key.len();
    let rest = &frame[at..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The publish time carried in an event's data (`"t":<ns>`).
pub fn sent_at(frame: &str) -> Option<u64> {
    let data = frame.find(r#""data":{"#)?;
    number_after(&frame[data..], r#""t":"#)
}

/// The `offset` and `epoch` of an event frame (its position in the channel).
pub fn position(frame: &str) -> Option<(String, String)> {
    let string_after = |key: &str| {
        let at = frame.find(key)? + key.len();
        let rest = &frame[at..];
        Some(rest[..rest.find('"')?].to_string())
    };
    Some((
        string_after(r#""offset":""#)?,
        string_after(r#""epoch":""#)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: &str = r#"{"op":"event","channel":"evaluations","offset":"17","epoch":"e1","event":{"id":"x","kind":"bench","ts":"t","data":{"pad":"xx","t":12345,"n":3}}}"#;

    #[test]
    fn the_publish_time_and_position_are_read_from_the_frame() {
        assert_eq!(sent_at(FRAME), Some(12345));
        assert_eq!(number_after(FRAME, r#""n":"#), Some(3));
        assert_eq!(position(FRAME), Some(("17".into(), "e1".into())));
        assert_eq!(sent_at(r#"{"op":"presence"}"#), None);
    }
}
