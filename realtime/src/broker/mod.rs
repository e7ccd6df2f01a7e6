//! The broker joins hub nodes and publishers: it appends events to each channel's bounded
//! history, fans them out to every node that has subscribers, keeps presence, and carries
//! control messages (disconnect a user, forget a conversation's participants).
//!
//! Two implementations, as in centrifuge (`broker_memory.go`, `broker_redis.go`):
//! [`memory::MemoryBroker`] for the embedded single-node default, [`redis::RedisBroker`]
//! for any number of nodes sharing one Redis. A node asks the broker for a channel on its
//! first local subscriber and lets go on its last; the broker hands whatever arrives to the
//! node's [`BrokerHandler`]. Publishers (the API, the workers) need only [`Broker::publish`]
//! and [`Broker::control`], and never attach a handler.

pub mod memory;
pub mod redis;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use qivr_shared::config::Config;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::channel::ScopedChannel;
use crate::error::Result;
use crate::event::{Position, Publication};
use crate::protocol::UserInfo;

/// What a node receives from the broker. Called from the broker's own task: implementations
/// must not block (the hub only `try_send`s into connection queues).
pub trait BrokerHandler: Send + Sync + 'static {
    fn publication(&self, channel: &ScopedChannel, publication: Publication);
    fn presence(&self, channel: &ScopedChannel, change: PresenceChange);
    fn control(&self, control: Control);
    /// The node's link to the other nodes was lost and is back: live events may have been
    /// missed in between, so every subscription must check its position against history.
    fn reconnected(&self);
}

/// Presence changes of one channel, per user (a user's second tab joins nobody new).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    Joined(Vec<UserInfo>),
    Left(Vec<UserInfo>),
}

/// Commands for every node, published by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    /// The user was disabled or deleted: close all their connections (4001).
    DisconnectUser { tenant_id: Uuid, user_id: Uuid },
    /// The session was logged out or revoked: close its connections (4001).
    DisconnectSession { tenant_id: Uuid, session_id: Uuid },
    /// The conversation's participants changed: drop cached access and re-check subscribers.
    InvalidateConversation {
        tenant_id: Uuid,
        conversation_id: Uuid,
    },
}

/// A channel's current position and, when asked, the stored events after a given offset.
#[derive(Debug, Clone)]
pub struct History {
    /// The offset of the newest stored event (0 when none was ever stored) and the epoch.
    pub top: Position,
    /// Events with offsets after the requested one, oldest first, as far as history holds
    /// them (possibly starting later than asked, when older ones were trimmed).
    pub publications: Vec<(u64, Bytes)>,
}

impl History {
    /// Whether these publications are exactly what a client at `since` missed: same epoch,
    /// nothing trimmed, nothing cut off.
    pub fn covers(&self, since: &Position) -> bool {
        if since.epoch != self.top.epoch || since.offset > self.top.offset {
            return false;
        }
        let missed = self.top.offset - since.offset;
        self.publications.len() as u64 == missed
            && self
                .publications
                .first()
                .is_none_or(|(offset, _)| *offset == since.offset + 1)
    }
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Starts delivering to `handler` (once per broker; nodes call it, publishers don't).
    fn attach(&self, handler: Arc<dyn BrokerHandler>);

    /// Stores (when `store`) and fans out one event; returns its position if stored.
    async fn publish(
        &self,
        channel: &ScopedChannel,
        event: Bytes,
        store: bool,
    ) -> Result<Option<Position>>;

    /// Makes sure publications of `channel` reach this node. Returns once they will.
    async fn subscribe(&self, channel: &ScopedChannel) -> Result<()>;

    async fn unsubscribe(&self, channel: &ScopedChannel) -> Result<()>;

    /// The channel's position and, with `since`, up to `limit` stored events after it.
    async fn history(
        &self,
        channel: &ScopedChannel,
        since: Option<u64>,
        limit: usize,
    ) -> Result<History>;

    /// Adds one connection to the channel's presence (announced if it is the user's first).
    async fn join(&self, channel: &ScopedChannel, conn_id: Uuid, user: &UserInfo) -> Result<()>;

    /// Removes one connection from presence (announced if it was the user's last).
    async fn leave(&self, channel: &ScopedChannel, conn_id: Uuid, user_id: Uuid) -> Result<()>;

    /// Who is in the channel now, one entry per user.
    async fn presence(&self, channel: &ScopedChannel) -> Result<Vec<UserInfo>>;

    async fn control(&self, control: &Control) -> Result<()>;

    /// Stops the broker's background work. With `goodbye: false` it stops as a crashed node
    /// would, leaving its presence entries to expire (used by tests of node failure).
    fn stop(&self, goodbye: bool);
}

/// The broker the configuration asks for: Redis when `redis_url` is set, else in-process.
pub async fn from_config(config: &Config) -> Result<Arc<dyn Broker>> {
    Ok(match &config.redis_url {
        Some(url) => Arc::new(redis::RedisBroker::connect(url, &config.realtime).await?),
        None => Arc::new(memory::MemoryBroker::new(&config.realtime)),
    })
}

/// A fresh epoch: random, short, never containing `:` (the Redis wire format relies on it).
pub(crate) fn new_epoch() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(top: u64, offsets: &[u64]) -> History {
        History {
            top: Position {
                offset: top,
                epoch: "e".into(),
            },
            publications: offsets.iter().map(|o| (*o, Bytes::new())).collect(),
        }
    }

    fn at(offset: u64, epoch: &str) -> Position {
        Position {
            offset,
            epoch: epoch.into(),
        }
    }

    #[test]
    fn history_covers_a_gap_only_when_every_missed_offset_is_there() {
        assert!(history(5, &[4, 5]).covers(&at(3, "e")));
        assert!(history(5, &[]).covers(&at(5, "e")));
        assert!(
            !history(5, &[5]).covers(&at(3, "e")),
            "offset 4 was trimmed"
        );
        assert!(
            !history(5, &[4, 5]).covers(&at(3, "other")),
            "another epoch"
        );
        assert!(!history(5, &[]).covers(&at(9, "e")), "ahead of the channel");
        assert!(
            !history(9, &[4, 5]).covers(&at(3, "e")),
            "cut off by the limit"
        );
    }
}
