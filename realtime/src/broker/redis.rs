//! The Redis broker: any number of hub nodes (and publishers) sharing one Redis.
//!
//! # Keys (all under the configured prefix `p`, per scoped channel `c`)
//!
//! - `p:h:c`: the history stream; entry ids are the offsets (`<offset>-0`), trimmed to
//!   `history_size` by `XADD MAXLEN` and expiring `history_ttl_secs` after the last event.
//! - `p:m:c`: the history's meta hash: `s`, the last offset, and `e`, the epoch. It lives
//!   longer than the stream; when it is gone (flushed, restarted, expired) the next publish or
//!   read starts a new epoch and drops any stream left behind, so clients can tell.
//! - `p:ch:c`: the pub/sub channel nodes subscribe to. Messages are `e<offset>:<epoch>:<json>`
//!   (stored events; ephemeral ones have both fields empty), `j<user json>` (joined) and
//!   `l[<user json>,...]` (left).
//! - `p:px:c` / `p:pi:c`: presence: a sorted set of `<user>:<connection>` scored by expiry
//!   time, and a hash of user → user json. Each node refreshes its own entries; every node
//!   sweeps expired ones in the channels it serves and announces who left, so a node that dies
//!   silently is noticed within `presence_ttl_secs`.
//! - `p:control`: pub/sub for [`Control`] messages, which every node subscribes to.
//!
//! Publishing is one Lua script: offset increment, `XADD` and `PUBLISH` happen atomically, so
//! offsets are in publish order on every node. Commands go over a [`ConnectionManager`]
//! (reconnects by itself); pub/sub has its own connection, owned by a task that reconnects
//! with backoff, resubscribes everything, then tells the node to check for missed events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dashmap::DashMap;
use futures::StreamExt;
use qivr_shared::config::RealtimeConfig;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use redis::{Script, Value};
use tokio::sync::Mutex;
use tracing::Instrument;
use uuid::Uuid;

use super::{new_epoch, Broker, BrokerHandler, Control, History, PresenceChange};
use crate::channel::ScopedChannel;
use crate::error::{Error, Result};
use crate::event::{Position, Publication};
use crate::protocol::UserInfo;

// language=Lua
const PUBLISH: &str = r#"
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[5]
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[2], 'e', epoch)
end
local offset = redis.call('hincrby', KEYS[2], 's', 1)
redis.call('pexpire', KEYS[2], ARGV[4])
redis.call('xadd', KEYS[1], 'MAXLEN', ARGV[2], offset .. '-0', 'd', ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[3])
redis.call('publish', ARGV[6], 'e' .. offset .. ':' .. epoch .. ':' .. ARGV[1])
return {offset, epoch}
"#;

// language=Lua
const HISTORY: &str = r#"
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[4]
  redis.call('del', KEYS[1])
  redis.call('hset', KEYS[2], 'e', epoch)
end
redis.call('pexpire', KEYS[2], ARGV[3])
local top = tonumber(redis.call('hget', KEYS[2], 's') or '0')
if ARGV[1] == '' then
  return {top, epoch, {}}
end
local from = tonumber(ARGV[1]) + 1
return {top, epoch, redis.call('xrange', KEYS[1], from .. '-0', '+', 'COUNT', ARGV[2])}
"#;

// language=Lua
const NOW_MS: &str = r#"
local function now_ms()
  local t = redis.call('time')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function has_user(members, uid, except)
  local prefix = uid .. ':'
  for _, m in ipairs(members) do
    if m ~= except and string.sub(m, 1, #prefix) == prefix then return true end
  end
  return false
end
"#;

// KEYS: px, pi. ARGV: user id, member, user json, ttl ms, pub/sub channel.
// Also refreshes: an entry already there only gets its expiry moved.
// language=Lua
const JOIN: &str = r#"
local others = has_user(redis.call('zrange', KEYS[1], 0, -1), ARGV[1], ARGV[2])
local added = redis.call('zadd', KEYS[1], now_ms() + tonumber(ARGV[4]), ARGV[2])
redis.call('hset', KEYS[2], ARGV[1], ARGV[3])
redis.call('pexpire', KEYS[1], ARGV[4])
redis.call('pexpire', KEYS[2], ARGV[4])
if added == 1 and not others then
  redis.call('publish', ARGV[5], 'j' .. ARGV[3])
end
return added
"#;

// KEYS: px, pi. ARGV: user id, member, pub/sub channel.
// language=Lua
const LEAVE: &str = r#"
if redis.call('zrem', KEYS[1], ARGV[2]) == 0 then return 0 end
if has_user(redis.call('zrange', KEYS[1], 0, -1), ARGV[1], nil) then return 0 end
local info = redis.call('hget', KEYS[2], ARGV[1])
redis.call('hdel', KEYS[2], ARGV[1])
if info then redis.call('publish', ARGV[3], 'l[' .. info .. ']') end
return 1
"#;

// KEYS: px, pi. ARGV: pub/sub channel.
// language=Lua
const SWEEP: &str = r#"
local now = now_ms()
local expired = redis.call('zrangebyscore', KEYS[1], '-inf', now)
if #expired == 0 then return 0 end
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
local remaining = redis.call('zrange', KEYS[1], 0, -1)
local gone, infos = {}, {}
for _, m in ipairs(expired) do
  local uid = string.match(m, '^([^:]+):')
  if uid and not gone[uid] and not has_user(remaining, uid, nil) then
    gone[uid] = true
    local info = redis.call('hget', KEYS[2], uid)
    redis.call('hdel', KEYS[2], uid)
    if info then table.insert(infos, info) end
  end
end
if #infos > 0 then redis.call('publish', ARGV[1], 'l[' .. table.concat(infos, ',') .. ']') end
return #infos
"#;

// KEYS: px, pi.
// language=Lua
const PRESENT: &str = r#"
local seen, out = {}, {}
for _, m in ipairs(redis.call('zrangebyscore', KEYS[1], now_ms(), '+inf')) do
  local uid = string.match(m, '^([^:]+):')
  if uid and not seen[uid] then
    seen[uid] = true
    local info = redis.call('hget', KEYS[2], uid)
    if info then table.insert(out, info) end
  end
end
return out
"#;

/// How long a subscribe waits for the pub/sub link to come (back) up before failing.
const LINK_WAIT: Duration = Duration::from_secs(3);

struct Scripts {
    publish: Script,
    history: Script,
    join: Script,
    leave: Script,
    sweep: Script,
    present: Script,
}

impl Scripts {
    fn new() -> Self {
        let presence = |body: &str| Script::new(&format!("{NOW_MS}{body}"));
        Self {
            publish: Script::new(PUBLISH),
            history: Script::new(HISTORY),
            join: presence(JOIN),
            leave: presence(LEAVE),
            sweep: presence(SWEEP),
            present: presence(PRESENT),
        }
    }
}

pub struct RedisBroker {
    shared: Arc<Shared>,
}

/// Everything the broker's tasks share.
struct Shared {
    client: redis::Client,
    commands: ConnectionManager,
    scripts: Scripts,
    prefix: String,
    history_size: usize,
    history_ttl_ms: u64,
    meta_ttl_ms: u64,
    presence_ttl: Duration,
    /// The pub/sub side: the live subscription sink (none while reconnecting) and every
    /// Redis channel this node wants, which is what a reconnect resubscribes.
    pubsub: Mutex<PubSubState>,
    /// Whether the pub/sub link is up; subscribers arriving while it is (re)connecting wait
    /// a little for it rather than fail at once.
    linked: tokio::sync::watch::Sender<bool>,
    handler: OnceLock<Arc<dyn BrokerHandler>>,
    /// This node's presence entries, refreshed periodically: (channel, connection) → user.
    present_here: DashMap<(ScopedChannel, Uuid), UserInfo>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Set by `stop`: background tasks end and presence stops being refreshed.
    stopped: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct PubSubState {
    sink: Option<PubSubSink>,
    wanted: HashSet<String>,
}

impl RedisBroker {
    /// Connects the command connection (failing if Redis is unreachable now); pub/sub starts
    /// on [`Broker::attach`].
    pub async fn connect(url: &str, config: &RealtimeConfig) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_max_delay(500)
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(5));
        let commands = ConnectionManager::new_with_config(client.clone(), manager_config).await?;
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                commands,
                scripts: Scripts::new(),
                prefix: config.redis_prefix.clone(),
                history_size: config.history_size,
                history_ttl_ms: config.history_ttl_secs * 1000,
                meta_ttl_ms: config.history_meta_ttl_secs.max(config.history_ttl_secs) * 1000,
                presence_ttl: Duration::from_secs(config.presence_ttl_secs.max(1)),
                pubsub: Mutex::new(PubSubState::default()),
                linked: tokio::sync::watch::Sender::new(false),
                handler: OnceLock::new(),
                present_here: DashMap::new(),
                tasks: std::sync::Mutex::new(Vec::new()),
                stopped: Default::default(),
            }),
        })
    }
}

impl Shared {
    fn key(&self, kind: &str, channel: &ScopedChannel) -> String {
        format!("{}:{kind}:{}", self.prefix, channel.key())
    }

    fn control_channel(&self) -> String {
        format!("{}:control", self.prefix)
    }

    fn stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn join(&self, channel: &ScopedChannel, conn_id: Uuid, user: &UserInfo) -> Result<()> {
        let info = serde_json::to_string(user)?;
        let _: i64 = self
            .scripts
            .join
            .key(self.key("px", channel))
            .key(self.key("pi", channel))
            .arg(user.user_id.to_string())
            .arg(format!("{}:{conn_id}", user.user_id))
            .arg(info)
            .arg(self.presence_ttl.as_millis() as u64)
            .arg(self.key("ch", channel))
            .invoke_async(&mut self.commands.clone())
            .await?;
        Ok(())
    }

    /// Hands one pub/sub message to the node.
    fn dispatch(&self, handler: &dyn BrokerHandler, msg: redis::Msg) {
        let name = msg.get_channel_name();
        let payload = msg.get_payload_bytes();
        if name == self.control_channel() {
            match serde_json::from_slice::<Control>(payload) {
                Ok(control) => handler.control(control),
                Err(error) => tracing::warn!(%error, "malformed control message"),
            }
            return;
        }
        let Some(channel) = name
            .strip_prefix(&self.prefix)
            .and_then(|rest| rest.strip_prefix(":ch:"))
            .and_then(ScopedChannel::from_key)
        else {
            return;
        };
        match parse_message(payload) {
            Some(Message::Publication(publication)) => handler.publication(&channel, publication),
            Some(Message::Presence(change)) => handler.presence(&channel, change),
            None => tracing::warn!(channel = %channel, "malformed broker message"),
        }
    }

    /// Owns the pub/sub connection for the life of the broker: connect, subscribe to all
    /// that is wanted, deliver, and on loss start again with backoff.
    async fn run_pubsub(self: Arc<Self>, handler: Arc<dyn BrokerHandler>) {
        let mut backoff = Duration::from_millis(50);
        let mut connected_before = false;
        while !self.stopped() {
            match self.open_pubsub().await {
                Ok(mut stream) => {
                    backoff = Duration::from_millis(50);
                    if connected_before {
                        self.wait_until_serving().await;
                        tracing::info!("redis pub/sub reconnected");
                        handler.reconnected();
                    }
                    connected_before = true;
                    while let Some(msg) = stream.next().await {
                        self.dispatch(&*handler, msg);
                    }
                    self.pubsub.lock().await.sink = None;
                    self.linked.send_replace(false);
                    if !self.stopped() {
                        tracing::warn!("redis pub/sub connection lost; reconnecting");
                    }
                }
                Err(error) => tracing::warn!(%error, "redis pub/sub connect failed; retrying"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// After a reconnect, waits (a while) until Redis answers reads again: a restarted Redis
    /// refuses them while it loads its data, and the node is about to read history.
    async fn wait_until_serving(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let probe: redis::RedisResult<i64> = redis::cmd("EXISTS")
                .arg(self.control_channel())
                .query_async(&mut self.commands.clone())
                .await;
            match probe {
                Ok(_) => return,
                Err(error) if tokio::time::Instant::now() > deadline => {
                    tracing::warn!(%error, "redis still not serving reads; resyncing anyway");
                    return;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn open_pubsub(&self) -> Result<redis::aio::PubSubStream> {
        let (mut sink, stream) = self.client.get_async_pubsub().await?.split();
        let mut state = self.pubsub.lock().await;
        sink.subscribe(self.control_channel()).await?;
        for name in &state.wanted {
            sink.subscribe(name).await?;
        }
        state.sink = Some(sink);
        self.linked.send_replace(true);
        Ok(stream)
    }

    /// Every third of the presence TTL: refresh this node's entries, and sweep expired ones
    /// (other nodes' included) in the channels this node has members in.
    async fn run_presence(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.presence_ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.stopped() {
                return;
            }
            let entries: Vec<_> = self
                .present_here
                .iter()
                .map(|e| (e.key().0.clone(), e.key().1, e.value().clone()))
                .collect();
            let mut channels = HashSet::new();
            for (channel, conn_id, user) in entries {
                if let Err(error) = self.join(&channel, conn_id, &user).await {
                    tracing::debug!(%error, "presence refresh failed");
                }
                channels.insert(channel);
            }
            for channel in channels {
                let swept: Result<i64, _> = self
                    .scripts
                    .sweep
                    .key(self.key("px", &channel))
                    .key(self.key("pi", &channel))
                    .arg(self.key("ch", &channel))
                    .invoke_async(&mut self.commands.clone())
                    .await;
                if let Err(error) = swept {
                    tracing::debug!(%error, "presence sweep failed");
                }
            }
        }
    }
}

enum Message {
    Publication(Publication),
    Presence(PresenceChange),
}

fn parse_message(payload: &[u8]) -> Option<Message> {
    let (kind, rest) = payload.split_first()?;
    match kind {
        b'e' => {
            let mut parts = rest.splitn(3, |b| *b == b':');
            let offset = parts.next()?;
            let epoch = parts.next()?;
            let event = Bytes::copy_from_slice(parts.next()?);
            let position = if offset.is_empty() {
                None
            } else {
                let offset = std::str::from_utf8(offset).ok()?.parse().ok()?;
                Some(Position {
                    offset,
                    epoch: std::str::from_utf8(epoch).ok()?.into(),
                })
            };
            Some(Message::Publication(Publication { position, event }))
        }
        b'j' => Some(Message::Presence(PresenceChange::Joined(vec![
            serde_json::from_slice(rest).ok()?,
        ]))),
        b'l' => Some(Message::Presence(PresenceChange::Left(
            serde_json::from_slice(rest).ok()?,
        ))),
        _ => None,
    }
}

fn int(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(text) => text.parse().ok(),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads `{top, epoch, [[id, [field, value, ...]], ...]}` from the history script.
fn parse_history(value: Value) -> Option<History> {
    let Value::Array(mut parts) = value else {
        return None;
    };
    if parts.len() != 3 {
        return None;
    }
    let entries = parts.pop()?;
    let epoch = text(&parts[1])?;
    let top = int(&parts[0])?;
    let Value::Array(entries) = entries else {
        return None;
    };
    let mut publications = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Array(entry) = entry else {
            return None;
        };
        let [id, Value::Array(fields)] = entry.as_slice() else {
            return None;
        };
        let offset = text(id)?.strip_suffix("-0")?.parse().ok()?;
        let data = fields
            .chunks(2)
            .find(|kv| text(&kv[0]).as_deref() == Some("d"))
            .map(|kv| &kv[1])?;
        let Value::BulkString(data) = data else {
            return None;
        };
        publications.push((offset, Bytes::copy_from_slice(data)));
    }
    Some(History {
        top: Position {
            offset: top,
            epoch: epoch.into(),
        },
        publications,
    })
}

#[async_trait]
impl Broker for RedisBroker {
    fn attach(&self, handler: Arc<dyn BrokerHandler>) {
        if self.shared.handler.set(handler.clone()).is_err() {
            tracing::warn!("broker already attached to a node");
            return;
        }
        let span = tracing::info_span!("redis_broker", prefix = %self.shared.prefix);
        let pubsub = tokio::spawn(
            self.shared
                .clone()
                .run_pubsub(handler)
                .instrument(span.clone()),
        );
        let presence = tokio::spawn(self.shared.clone().run_presence().instrument(span));
        self.shared
            .tasks
            .lock()
            .expect("tasks lock")
            .extend([pubsub, presence]);
    }

    async fn publish(
        &self,
        channel: &ScopedChannel,
        event: Bytes,
        store: bool,
    ) -> Result<Option<Position>> {
        let s = &self.shared;
        let mut commands = s.commands.clone();
        if !store || s.history_size == 0 {
            let mut message = Vec::with_capacity(event.len() + 3);
            message.extend_from_slice(b"e::");
            message.extend_from_slice(&event);
            let _: i64 = redis::cmd("PUBLISH")
                .arg(s.key("ch", channel))
                .arg(message)
                .query_async(&mut commands)
                .await?;
            return Ok(None);
        }
        let (offset, epoch): (u64, String) = s
            .scripts
            .publish
            .key(s.key("h", channel))
            .key(s.key("m", channel))
            .arg(&event[..])
            .arg(s.history_size)
            .arg(s.history_ttl_ms)
            .arg(s.meta_ttl_ms)
            .arg(new_epoch())
            .arg(s.key("ch", channel))
            .invoke_async(&mut commands)
            .await?;
        Ok(Some(Position {
            offset,
            epoch: epoch.into(),
        }))
    }

    async fn subscribe(&self, channel: &ScopedChannel) -> Result<()> {
        let name = self.shared.key("ch", channel);
        let mut linked = self.shared.linked.subscribe();
        let _ = tokio::time::timeout(LINK_WAIT, linked.wait_for(|up| *up)).await;
        let mut state = self.shared.pubsub.lock().await;
        state.wanted.insert(name.clone());
        let Some(sink) = state.sink.as_mut() else {
            state.wanted.remove(&name);
            return Err(Error::Unavailable);
        };
        if let Err(error) = sink.subscribe(&name).await {
            state.wanted.remove(&name);
            return Err(error.into());
        }
        Ok(())
    }

    async fn unsubscribe(&self, channel: &ScopedChannel) -> Result<()> {
        let name = self.shared.key("ch", channel);
        let mut state = self.shared.pubsub.lock().await;
        state.wanted.remove(&name);
        if let Some(sink) = state.sink.as_mut() {
            sink.unsubscribe(&name).await?;
        }
        Ok(())
    }

    async fn history(
        &self,
        channel: &ScopedChannel,
        since: Option<u64>,
        limit: usize,
    ) -> Result<History> {
        let s = &self.shared;
        let value: Value = s
            .scripts
            .history
            .key(s.key("h", channel))
            .key(s.key("m", channel))
            .arg(since.map(|o| o.to_string()).unwrap_or_default())
            .arg(limit.max(1))
            .arg(s.meta_ttl_ms)
            .arg(new_epoch())
            .invoke_async(&mut s.commands.clone())
            .await?;
        parse_history(value).ok_or_else(|| Error::Malformed("history reply".into()))
    }

    async fn join(&self, channel: &ScopedChannel, conn_id: Uuid, user: &UserInfo) -> Result<()> {
        self.shared
            .present_here
            .insert((channel.clone(), conn_id), user.clone());
        self.shared.join(channel, conn_id, user).await
    }

    async fn leave(&self, channel: &ScopedChannel, conn_id: Uuid, user_id: Uuid) -> Result<()> {
        let s = &self.shared;
        s.present_here.remove(&(channel.clone(), conn_id));
        if s.stopped() {
            return Ok(());
        }
        let _: i64 = s
            .scripts
            .leave
            .key(s.key("px", channel))
            .key(s.key("pi", channel))
            .arg(user_id.to_string())
            .arg(format!("{user_id}:{conn_id}"))
            .arg(s.key("ch", channel))
            .invoke_async(&mut s.commands.clone())
            .await?;
        Ok(())
    }

    async fn presence(&self, channel: &ScopedChannel) -> Result<Vec<UserInfo>> {
        let s = &self.shared;
        let infos: Vec<String> = s
            .scripts
            .present
            .key(s.key("px", channel))
            .key(s.key("pi", channel))
            .invoke_async(&mut s.commands.clone())
            .await?;
        let mut users = Vec::with_capacity(infos.len());
        let mut seen = HashMap::new();
        for info in infos {
            let user: UserInfo = serde_json::from_str(&info)?;
            if seen.insert(user.user_id, ()).is_none() {
                users.push(user);
            }
        }
        Ok(users)
    }

    async fn control(&self, control: &Control) -> Result<()> {
        let s = &self.shared;
        let _: i64 = redis::cmd("PUBLISH")
            .arg(s.control_channel())
            .arg(serde_json::to_vec(control)?)
            .query_async(&mut s.commands.clone())
            .await?;
        Ok(())
    }

    fn stop(&self, goodbye: bool) {
        self.shared
            .stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for task in self.shared.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
        let shared = self.shared.clone();
        if goodbye {
            let entries: Vec<_> = shared
                .present_here
                .iter()
                .map(|e| (e.key().clone(), e.value().user_id))
                .collect();
            shared.present_here.clear();
            tokio::spawn(async move {
                for ((channel, conn_id), user_id) in entries {
                    let _: Result<i64, _> = shared
                        .scripts
                        .leave
                        .key(shared.key("px", &channel))
                        .key(shared.key("pi", &channel))
                        .arg(user_id.to_string())
                        .arg(format!("{user_id}:{conn_id}"))
                        .arg(shared.key("ch", &channel))
                        .invoke_async(&mut shared.commands.clone())
                        .await;
                }
            });
        } else {
            shared.present_here.clear();
        }
        self.shared.linked.send_replace(false);
        // Dropping the sink ends this node's subscriptions with the pub/sub connection.
        if let Ok(mut state) = self.shared.pubsub.try_lock() {
            state.sink = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubsub_messages_parse_into_publications_and_presence_changes() {
        let Some(Message::Publication(p)) = parse_message(br#"e12:ab:cd:{"k":1}"#) else {
            panic!()
        };
        assert_eq!(
            p.position,
            Some(Position {
                offset: 12,
                epoch: "ab".into()
            })
        );
        assert_eq!(&p.event[..], br#"cd:{"k":1}"#);
        let Some(Message::Publication(p)) = parse_message(br#"e::{"k":1}"#) else {
            panic!()
        };
        assert_eq!(p.position, None);
        assert_eq!(&p.event[..], br#"{"k":1}"#);
        let user =
            r#"{"user_id":"0190c6f5-7f5b-7c8e-9c1a-2b3c4d5e6f70","name":"A","role":"staff"}"#;
        assert!(
            matches!(parse_message(format!("j{user}").as_bytes()), Some(Message::Presence(PresenceChange::Joined(u))) if u.len() == 1)
        );
        assert!(
            matches!(parse_message(format!("l[{user},{user}]").as_bytes()), Some(Message::Presence(PresenceChange::Left(u))) if u.len() == 2)
        );
        assert!(parse_message(b"x").is_none());
    }
}
