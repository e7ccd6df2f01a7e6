//! This node's connections and who is subscribed to what, and the fan-out over them.
//!
//! Fan-out runs on the broker's task and only ever `try_send`s into each connection's bounded
//! queue: a full queue marks that connection as a slow consumer (closed with 4008) and the
//! event moves on to the next subscriber. Subscribing and releasing a channel take a striped
//! per-channel lock, so the node subscribes to the broker on a channel's first local
//! subscriber and unsubscribes on its last without racing itself (centrifuge's `node.go`).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use dashmap::DashMap;
use tokio::sync::{mpsc, Notify};
use uuid::Uuid;

use crate::broker::Broker;
use crate::channel::ScopedChannel;
use crate::error::Result;
use crate::event::Delivery;
use crate::metrics::Metrics;
use crate::protocol::CloseCode;

/// What a connection's queue carries.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A frame for a channel the connection subscribed to, shared by all its subscribers.
    Deliver(Arc<Delivery>),
    /// The broker reconnected: compare this channel's position with its history.
    Resync(ScopedChannel),
    /// The conversation's membership changed: check access to this channel again.
    Recheck(ScopedChannel),
}

/// The part of a connection the rest of the node may touch.
pub(crate) struct ConnHandle {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// Updated when a `refresh` brings a token of another session.
    pub session_id: Mutex<Option<Uuid>>,
    pub tx: mpsc::Sender<Outbound>,
    /// Why the node wants this connection closed; set once.
    close: OnceLock<CloseCode>,
    close_signal: Notify,
}

impl ConnHandle {
    pub fn new(
        id: Uuid,
        tenant_id: Uuid,
        user_id: Uuid,
        session_id: Option<Uuid>,
        tx: mpsc::Sender<Outbound>,
    ) -> Self {
        Self {
            id,
            tenant_id,
            user_id,
            session_id: Mutex::new(session_id),
            tx,
            close: OnceLock::new(),
            close_signal: Notify::new(),
        }
    }

    /// Asks the connection to close with `code`. Returns whether this was the first request.
    pub fn close(&self, code: CloseCode) -> bool {
        let first = self.close.set(code).is_ok();
        if first {
            self.close_signal.notify_one();
        }
        first
    }

    /// Resolves once the node has asked the connection to close.
    pub async fn closed(&self) -> CloseCode {
        loop {
            if let Some(code) = self.close.get() {
                return *code;
            }
            self.close_signal.notified().await;
        }
    }

    fn session(&self) -> Option<Uuid> {
        *self.session_id.lock().expect("session lock")
    }
}

#[derive(Default)]
struct ChannelSubscribers {
    subscribers: HashMap<Uuid, Arc<ConnHandle>>,
    /// Whether the broker delivers this channel to the node (set under the channel's lock).
    broker_subscribed: bool,
}

const LOCK_STRIPES: usize = 64;

pub(crate) struct Registry {
    channels: DashMap<ScopedChannel, ChannelSubscribers>,
    /// Open connections by user, for disconnects and shutdown.
    connections: DashMap<Uuid, Vec<Arc<ConnHandle>>>,
    locks: Vec<tokio::sync::Mutex<()>>,
    hasher: RandomState,
    pub metrics: Metrics,
    shutting_down: AtomicBool,
    /// Signalled whenever a connection leaves, so shutdown can wait for the last one.
    left: Notify,
}

impl Registry {
    pub fn new(metrics: Metrics) -> Self {
        Self {
            channels: DashMap::new(),
            connections: DashMap::new(),
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            hasher: RandomState::new(),
            metrics,
            shutting_down: AtomicBool::new(false),
            left: Notify::new(),
        }
    }

    fn lock(&self, channel: &ScopedChannel) -> &tokio::sync::Mutex<()> {
        &self.locks[self.hasher.hash_one(channel) as usize % LOCK_STRIPES]
    }

    /// Registers an authenticated connection; refused (false) while shutting down.
    pub fn add_connection(&self, conn: &Arc<ConnHandle>) -> bool {
        if self.is_shutting_down() {
            return false;
        }
        self.connections
            .entry(conn.user_id)
            .or_default()
            .push(conn.clone());
        self.metrics.connections.inc();
        true
    }

    pub fn remove_connection(&self, conn: &ConnHandle) {
        let mut removed = false;
        if let Some(mut conns) = self.connections.get_mut(&conn.user_id) {
            let before = conns.len();
            conns.retain(|c| c.id != conn.id);
            removed = conns.len() != before;
        }
        self.connections
            .remove_if(&conn.user_id, |_, conns| conns.is_empty());
        if removed {
            self.metrics.connections.dec();
        }
        self.left.notify_waiters();
    }

    /// Adds `conn` to `channel`'s subscribers; on the channel's first, subscribes the node.
    pub async fn subscribe(
        &self,
        broker: &dyn Broker,
        channel: &ScopedChannel,
        conn: &Arc<ConnHandle>,
    ) -> Result<()> {
        let _guard = self.lock(channel).lock().await;
        let needs_broker = {
            let mut entry = self.channels.entry(channel.clone()).or_default();
            entry.subscribers.insert(conn.id, conn.clone());
            !entry.broker_subscribed
        };
        self.metrics.subscriptions.inc();
        if needs_broker {
            if let Err(error) = broker.subscribe(channel).await {
                self.remove_subscriber(channel, conn.id);
                self.channels
                    .remove_if(channel, |_, e| e.subscribers.is_empty());
                return Err(error);
            }
            if let Some(mut entry) = self.channels.get_mut(channel) {
                entry.broker_subscribed = true;
            }
        }
        Ok(())
    }

    /// Stops delivering `channel` to the connection at once (synchronous, for `Drop`).
    pub fn remove_subscriber(&self, channel: &ScopedChannel, conn_id: Uuid) {
        if let Some(mut entry) = self.channels.get_mut(channel) {
            if entry.subscribers.remove(&conn_id).is_some() {
                self.metrics.subscriptions.dec();
            }
        }
    }

    /// If `channel` has no local subscribers left, unsubscribes the node from it.
    pub async fn release(&self, broker: &dyn Broker, channel: &ScopedChannel) {
        let _guard = self.lock(channel).lock().await;
        let Some((_, entry)) = self
            .channels
            .remove_if(channel, |_, e| e.subscribers.is_empty())
        else {
            return;
        };
        if entry.broker_subscribed {
            if let Err(error) = broker.unsubscribe(channel).await {
                tracing::debug!(%error, channel = %channel, "broker unsubscribe failed");
            }
        }
    }

    /// Queues `delivery` for every local subscriber of its channel.
    pub fn fan_out(&self, delivery: Delivery) {
        let Some(entry) = self.channels.get(&delivery.channel) else {
            return;
        };
        let delivery = Arc::new(delivery);
        let mut delivered = 0;
        for conn in entry.subscribers.values() {
            match conn.tx.try_send(Outbound::Deliver(delivery.clone())) {
                Ok(()) => delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => self.slow_consumer(conn),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        self.metrics.events_delivered.inc_by(delivered);
    }

    /// Queues a control item for every local subscriber of `channel` (or of every channel).
    pub fn notify_subscribers(
        &self,
        channel: Option<&ScopedChannel>,
        item: impl Fn(&ScopedChannel) -> Outbound,
    ) {
        let notify = |channel: &ScopedChannel, entry: &ChannelSubscribers| {
            for conn in entry.subscribers.values() {
                if let Err(mpsc::error::TrySendError::Full(_)) = conn.tx.try_send(item(channel)) {
                    self.slow_consumer(conn);
                }
            }
        };
        match channel {
            Some(channel) => {
                if let Some(entry) = self.channels.get(channel) {
                    notify(channel, &entry);
                }
            }
            None => {
                for entry in self.channels.iter() {
                    notify(entry.key(), entry.value());
                }
            }
        }
    }

    fn slow_consumer(&self, conn: &ConnHandle) {
        if conn.close(CloseCode::SlowConsumer) {
            self.metrics.slow_consumer_closes.inc();
            tracing::info!(conn.id = %conn.id, tenant.id = %conn.tenant_id, "slow consumer: queue full, closing");
        }
    }

    /// Closes every connection of a user, or only those of one session.
    pub fn disconnect(
        &self,
        tenant_id: Uuid,
        user_id: Option<Uuid>,
        session_id: Option<Uuid>,
        code: CloseCode,
    ) {
        let close_matching = |conns: &Vec<Arc<ConnHandle>>| {
            for conn in conns.iter().filter(|c| c.tenant_id == tenant_id) {
                if session_id.is_none() || conn.session() == session_id {
                    conn.close(code);
                }
            }
        };
        match user_id {
            Some(user_id) => {
                if let Some(conns) = self.connections.get(&user_id) {
                    close_matching(&conns);
                }
            }
            None => self
                .connections
                .iter()
                .for_each(|conns| close_matching(&conns)),
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    /// Refuses new connections and asks every open one to close with `code`.
    pub fn close_all(&self, code: CloseCode) {
        self.shutting_down.store(true, Ordering::Relaxed);
        for conns in self.connections.iter() {
            for conn in conns.iter() {
                conn.close(code);
            }
        }
    }

    /// Resolves when no connection is left.
    pub async fn drained(&self) {
        loop {
            let left = self.left.notified();
            if self.connections.is_empty() {
                return;
            }
            left.await;
        }
    }
}
