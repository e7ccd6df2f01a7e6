//! The in-process broker: the embedded default, a single node with no Redis.
//!
//! Each channel's state sits behind its `DashMap` shard lock; publishing assigns the offset
//! and hands the publication to the node while holding it, so events of a channel reach the
//! node in offset order. The node's handler only `try_send`s, so the lock is held briefly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dashmap::DashMap;
use qivr_shared::config::RealtimeConfig;
use tokio::time::Instant;
use uuid::Uuid;

use super::{new_epoch, Broker, BrokerHandler, Control, History, PresenceChange};
use crate::channel::ScopedChannel;
use crate::error::Result;
use crate::event::{Position, Publication};
use crate::protocol::UserInfo;

pub struct MemoryBroker {
    channels: Arc<DashMap<ScopedChannel, ChannelState>>,
    handler: OnceLock<Arc<dyn BrokerHandler>>,
    history_size: usize,
    history_ttl: Duration,
    meta_ttl: Duration,
    /// The sweeper forgetting idle channels; aborted on `stop`.
    sweeper: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct ChannelState {
    epoch: Arc<str>,
    top: u64,
    /// Stored events with the time they were stored, oldest first, at most `history_size`.
    history: VecDeque<(u64, Bytes, Instant)>,
    last_used: Instant,
    /// Connection → user, for presence.
    present: HashMap<Uuid, UserInfo>,
}

impl ChannelState {
    fn new() -> Self {
        Self {
            epoch: new_epoch().into(),
            top: 0,
            history: VecDeque::new(),
            last_used: Instant::now(),
            present: HashMap::new(),
        }
    }

    fn expire_history(&mut self, ttl: Duration) {
        while self
            .history
            .front()
            .is_some_and(|(_, _, at)| at.elapsed() > ttl)
        {
            self.history.pop_front();
        }
    }
}

impl MemoryBroker {
    pub fn new(config: &RealtimeConfig) -> Self {
        Self {
            channels: Arc::new(DashMap::new()),
            handler: OnceLock::new(),
            history_size: config.history_size,
            history_ttl: Duration::from_secs(config.history_ttl_secs),
            meta_ttl: Duration::from_secs(config.history_meta_ttl_secs),
            sweeper: std::sync::Mutex::new(None),
        }
    }

    /// Drops a channel's stored history, as a Redis flush would (tests use it).
    pub fn forget(&self, channel: &ScopedChannel) {
        self.channels.remove(channel);
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    fn attach(&self, handler: Arc<dyn BrokerHandler>) {
        if self.handler.set(handler).is_err() {
            tracing::warn!("broker already attached to a node");
            return;
        }
        let channels = self.channels.clone();
        let meta_ttl = self.meta_ttl;
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                channels.retain(|_, state| {
                    state.last_used.elapsed() < meta_ttl || !state.present.is_empty()
                });
            }
        });
        *self.sweeper.lock().expect("sweeper lock") = Some(sweeper);
    }

    async fn publish(
        &self,
        channel: &ScopedChannel,
        event: Bytes,
        store: bool,
    ) -> Result<Option<Position>> {
        let mut state = self
            .channels
            .entry(channel.clone())
            .or_insert_with(ChannelState::new);
        state.last_used = Instant::now();
        let position = if store && self.history_size > 0 {
            if state
                .history
                .back()
                .is_some_and(|(_, _, at)| at.elapsed() > self.history_ttl)
            {
                state.history.clear();
            }
            state.top += 1;
            let offset = state.top;
            state
                .history
                .push_back((offset, event.clone(), Instant::now()));
            while state.history.len() > self.history_size {
                state.history.pop_front();
            }
            Some(Position {
                offset,
                epoch: state.epoch.clone(),
            })
        } else {
            None
        };
        if let Some(handler) = self.handler.get() {
            handler.publication(
                channel,
                Publication {
                    position: position.clone(),
                    event,
                },
            );
        }
        Ok(position)
    }

    async fn subscribe(&self, _: &ScopedChannel) -> Result<()> {
        Ok(())
    }

    async fn unsubscribe(&self, _: &ScopedChannel) -> Result<()> {
        Ok(())
    }

    async fn history(
        &self,
        channel: &ScopedChannel,
        since: Option<u64>,
        limit: usize,
    ) -> Result<History> {
        let mut state = self
            .channels
            .entry(channel.clone())
            .or_insert_with(ChannelState::new);
        state.last_used = Instant::now();
        state.expire_history(self.history_ttl);
        let publications = match since {
            Some(since) => state
                .history
                .iter()
                .filter(|(offset, _, _)| *offset > since)
                .take(limit)
                .map(|(offset, event, _)| (*offset, event.clone()))
                .collect(),
            None => Vec::new(),
        };
        Ok(History {
            top: Position {
                offset: state.top,
                epoch: state.epoch.clone(),
            },
            publications,
        })
    }

    async fn join(&self, channel: &ScopedChannel, conn_id: Uuid, user: &UserInfo) -> Result<()> {
        let mut state = self
            .channels
            .entry(channel.clone())
            .or_insert_with(ChannelState::new);
        let first = !state.present.values().any(|u| u.user_id == user.user_id);
        state.present.insert(conn_id, user.clone());
        if let (true, Some(handler)) = (first, self.handler.get()) {
            handler.presence(channel, PresenceChange::Joined(vec![user.clone()]));
        }
        Ok(())
    }

    async fn leave(&self, channel: &ScopedChannel, conn_id: Uuid, user_id: Uuid) -> Result<()> {
        let Some(mut state) = self.channels.get_mut(channel) else {
            return Ok(());
        };
        let Some(user) = state.present.remove(&conn_id) else {
            return Ok(());
        };
        let last = !state.present.values().any(|u| u.user_id == user_id);
        if let (true, Some(handler)) = (last, self.handler.get()) {
            handler.presence(channel, PresenceChange::Left(vec![user]));
        }
        Ok(())
    }

    async fn presence(&self, channel: &ScopedChannel) -> Result<Vec<UserInfo>> {
        let Some(state) = self.channels.get(channel) else {
            return Ok(Vec::new());
        };
        let mut users: Vec<UserInfo> = Vec::new();
        for user in state.present.values() {
            if !users.iter().any(|u| u.user_id == user.user_id) {
                users.push(user.clone());
            }
        }
        Ok(users)
    }

    async fn control(&self, control: &Control) -> Result<()> {
        if let Some(handler) = self.handler.get() {
            handler.control(control.clone());
        }
        Ok(())
    }

    fn stop(&self, _goodbye: bool) {
        if let Some(sweeper) = self.sweeper.lock().expect("sweeper lock").take() {
            sweeper.abort();
        }
    }
}
