//! One WebSocket connection, from the auth frame to cleanup.
//!
//! One task per connection runs a `select!` loop over: the client's frames, the bounded queue
//! the registry fans out into, the keepalive ping, and the token's refresh/expiry timer. Every
//! write has a timeout and gives way at once when the node asks the connection to close (slow
//! consumer, revoked session, shutdown), so a stuck client never holds anything up. One task
//! rather than a reader and a writer keeps an idle connection small (DESIGN §11).
//!
//! Ordering and recovery live here: the connection remembers the last offset it delivered per
//! channel, drops duplicates (live events that were already in the `subscribed` reply), and
//! on a gap (or after the broker reconnected) fetches the missed events from history itself;
//! if history no longer has them it closes with 4008, and the client's resubscribe with
//! `since` then reports `recovered:false`.
//!
//! All state is in [`Conn`], whose `Drop` removes the connection from the registry and its
//! channels, and leaves presence, on every exit path.

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use qivr_shared::auth::{AuthError, Principal};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use tracing::Instrument;
use uuid::Uuid;

use crate::channel::{authorize, Channel, Decision, ScopedChannel};
use crate::event::{event_frame, Delivery, Event, Position, Publication};
use crate::hub::Hub;
use crate::metrics::CloseLabels;
use crate::protocol::{
    error_frame, AuthRequest, ChannelRequest, CloseCode, ConnectedUser, ErrorCode, PublishRequest,
    ServerFrame, SubscribeRequest, UserInfo,
};
use crate::registry::{ConnHandle, Outbound};

/// What the connection runs over: axum's `WebSocket`, or anything that behaves like it.
pub(crate) trait Socket:
    Stream<Item = Result<Message, axum::Error>> + Sink<Message, Error = axum::Error> + Unpin + Send
{
}
impl<T> Socket for T where
    T: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Unpin
        + Send
{
}

/// How a connection ends.
enum Stop {
    /// Send a close frame with this code and reason.
    Close(CloseCode, &'static str),
    /// The client left or the socket failed: nothing more to say.
    Gone,
}

impl Stop {
    fn close(code: CloseCode) -> Self {
        Stop::Close(code, code.reason())
    }
}

/// How long a closing connection waits for the client to answer its close frame.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);

/// Frames written from the queue before one flush.
const MAX_BATCH: usize = 64;

/// Serves one upgraded WebSocket until it ends.
pub(crate) async fn serve(hub: Hub, mut socket: impl Socket) {
    let conn_id = Uuid::now_v7();
    let span = tracing::info_span!("ws", conn.id = %conn_id, tenant.id = tracing::field::Empty, user.id = tracing::field::Empty);
    async move {
        // Rare paths are boxed so their state is allocated only while they run: the task's
        // own state is what every idle connection keeps (DESIGN §11).
        let (principal, auth_id) = match Box::pin(authenticate(&hub, &mut socket)).await {
            Ok(authenticated) => authenticated,
            Err(stop) => return Box::pin(finish(&hub, socket, stop)).await,
        };
        let span = tracing::Span::current();
        span.record("tenant.id", tracing::field::display(principal.tenant_id));
        span.record("user.id", tracing::field::display(principal.user_id));

        let config = &hub.0.config;
        let (tx, rx) = mpsc::channel(config.send_queue_capacity.max(1));
        let handle = Arc::new(ConnHandle::new(
            conn_id,
            principal.tenant_id,
            principal.user_id,
            principal.session_id,
            tx,
        ));
        if !hub.0.registry.add_connection(&handle) {
            return Box::pin(finish(&hub, socket, Stop::close(CloseCode::ShuttingDown))).await;
        }
        let per_second =
            NonZeroU32::new(config.client_frames_per_second.max(1)).expect("at least one");
        let burst = NonZeroU32::new(config.client_frame_burst.max(1)).expect("at least one");
        let mut conn = Conn {
            hub: hub.clone(),
            handle,
            user: user_info(&principal),
            expires_at: principal.expires_at,
            refresh_at: refresh_at(principal.expires_at, config.refresh_before_expiry_secs),
            principal,
            subs: HashMap::new(),
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            strikes: 0,
            refresh_sent: false,
        };
        tracing::debug!("connected");
        let stop = conn.run(&mut socket, rx, auth_id).await;
        drop(conn);
        Box::pin(finish(&hub, socket, stop)).await;
    }
    .instrument(span)
    .await
}

/// Waits for the `auth` frame (the first frame, within `auth_timeout_secs`) and verifies it.
async fn authenticate(
    hub: &Hub,
    socket: &mut impl Socket,
) -> Result<(Principal, Option<u64>), Stop> {
    let deadline = Instant::now() + Duration::from_secs(hub.0.config.auth_timeout_secs);
    let unauthorized = |reason| Err(Stop::Close(CloseCode::Unauthorized, reason));
    loop {
        let text = match timeout_at(deadline, socket.next()).await {
            Err(_) => return unauthorized("auth timeout"),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Err(Stop::Gone),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(Some(Ok(Message::Binary(_)))) => return unauthorized("auth must come first"),
            Ok(Some(Ok(Message::Text(text)))) => text,
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            return unauthorized("auth must come first");
        };
        if frame.get("op").and_then(Value::as_str) != Some("auth") {
            return unauthorized("auth must come first");
        }
        let id = frame.get("id").and_then(Value::as_u64);
        let Some(token) = frame.get("token").and_then(Value::as_str) else {
            return unauthorized("missing token");
        };
        return match timeout_at(deadline, hub.0.auth.authenticate(token)).await {
            Ok(Ok(principal)) => Ok((principal, id)),
            Ok(Err(error)) => match auth_failure(&error) {
                (ErrorCode::Unavailable, _) => Err(Stop::Close(
                    CloseCode::ShuttingDown,
                    "cannot verify tokens now; reconnect",
                )),
                (_, reason) => unauthorized(reason),
            },
            Err(_) => unauthorized("auth timeout"),
        };
    }
}

/// What to tell a client whose token was refused, without leaking internals.
fn auth_failure(error: &AuthError) -> (ErrorCode, &'static str) {
    match error {
        AuthError::Expired => (ErrorCode::Unauthorized, "token expired"),
        AuthError::SessionEnded => (ErrorCode::Unauthorized, "session has ended"),
        AuthError::Missing | AuthError::Invalid => (ErrorCode::Unauthorized, "invalid token"),
        AuthError::ProviderUnavailable(_) | AuthError::Database(_) => {
            tracing::warn!(%error, "could not verify a token");
            (
                ErrorCode::Unavailable,
                "cannot verify tokens now; try again",
            )
        }
    }
}

fn user_info(principal: &Principal) -> UserInfo {
    UserInfo {
        user_id: principal.user_id,
        name: principal.name.clone(),
        role: principal.role.as_str().into(),
    }
}

/// Sends the close frame, if there is one to send, and lets the socket go.
async fn finish(hub: &Hub, mut socket: impl Socket, stop: Stop) {
    let write_timeout = Duration::from_secs(hub.0.config.write_timeout_secs);
    match stop {
        Stop::Close(code, reason) => {
            tracing::debug!(close.code = code.code(), reason, "closing");
            hub.metrics()
                .closes
                .get_or_create(&CloseLabels { code: code.code() })
                .inc();
            let frame = CloseFrame {
                code: code.code(),
                reason: Utf8Bytes::from_static(reason),
            };
            if timeout(write_timeout, socket.send(Message::Close(Some(frame))))
                .await
                .is_ok()
            {
                // The closing handshake: read (and drop) until the client's close or EOF.
                // Closing with unread input would make the kernel reset the connection, and
                // the client could lose the frames before our close, the close itself included.
                let drain = async {
                    while let Some(Ok(message)) = socket.next().await {
                        if let Message::Close(_) = message {
                            break;
                        }
                    }
                };
                let _ = timeout(CLOSE_HANDSHAKE, drain).await;
            }
        }
        Stop::Gone => {
            let _ = timeout(Duration::from_secs(1), socket.close()).await;
        }
    }
}

/// An authenticated connection's state. Dropping it cleans up after the connection.
struct Conn {
    hub: Hub,
    handle: Arc<ConnHandle>,
    principal: Principal,
    user: UserInfo,
    /// Subscribed channels and the position last delivered in each.
    subs: HashMap<ScopedChannel, Position>,
    limiter: DefaultDirectRateLimiter,
    /// Frames refused in a row by the rate limiter; past the burst size the client is closed.
    strikes: u32,
    /// When the current token expires (Unix seconds).
    expires_at: i64,
    /// When to send `refresh_required` (unix seconds); see [`refresh_at`].
    refresh_at: i64,
    refresh_sent: bool,
}

impl Conn {
    async fn run(
        &mut self,
        socket: &mut impl Socket,
        mut rx: mpsc::Receiver<Outbound>,
        auth_id: Option<u64>,
    ) -> Stop {
        let config = self.hub.0.config.clone();
        let connected = ConnectedUser {
            id: self.principal.user_id,
            tenant_id: self.principal.tenant_id,
            role: self.principal.role.as_str(),
            email: self.principal.email.clone(),
            name: self.principal.name.clone(),
        };
        let hello = ServerFrame::Connected {
            id: auth_id,
            user: &connected,
            expires_in: self.expires_in(),
        };
        if let Err(stop) = Box::pin(self.write(socket, hello.to_text())).await {
            return stop;
        }

        let ping_every = Duration::from_secs(config.ping_interval_secs.max(1));
        let receive_timeout = Duration::from_secs(config.receive_timeout_secs.max(1));
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut last_heard = Instant::now();
        let token_timer = sleep_until(self.token_deadline());
        tokio::pin!(token_timer);
        let handle = self.handle.clone();

        loop {
            let step = tokio::select! {
                code = handle.closed() => Err(Stop::close(code)),
                frame = socket.next() => {
                    last_heard = Instant::now();
                    let step = match frame {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(Stop::Gone),
                        Some(Ok(Message::Text(text))) => Box::pin(self.on_text(socket, &text)).await,
                        Some(Ok(Message::Binary(_))) => {
                            Box::pin(self.reply_error(socket, None, ErrorCode::BadRequest, "frames must be JSON text")).await
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    };
                    token_timer.as_mut().reset(self.token_deadline());
                    step
                }
                Some(item) = rx.recv() => self.on_outbound(socket, item, &mut rx).await,
                _ = ping.tick() => {
                    if last_heard.elapsed() > receive_timeout {
                        tracing::debug!("receive timeout");
                        Err(Stop::Gone)
                    } else {
                        Box::pin(self.send(socket, Message::Ping(Bytes::new()))).await
                    }
                }
                () = &mut token_timer => {
                    let step = Box::pin(self.on_token_timer(socket)).await;
                    token_timer.as_mut().reset(self.token_deadline());
                    step
                }
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    fn expires_in(&self) -> i64 {
        (self.expires_at - chrono::Utc::now().timestamp()).max(0)
    }

    /// When the token timer next fires: `refresh_required` first, then expiry.
    fn token_deadline(&self) -> Instant {
        let at = if self.refresh_sent { self.expires_at } else { self.refresh_at };
        Instant::now() + Duration::from_secs((at - chrono::Utc::now().timestamp()).max(0) as u64)
    }

    async fn on_token_timer(&mut self, socket: &mut impl Socket) -> Result<(), Stop> {
        let expires_in = self.expires_in();
        if expires_in <= 0 {
            return Err(Stop::close(CloseCode::TokenExpired));
        }
        if !self.refresh_sent {
            self.refresh_sent = true;
            self.write(
                socket,
                ServerFrame::RefreshRequired { expires_in }.to_text(),
            )
            .await?;
        }
        Ok(())
    }

    // ---- writing ----

    /// Runs one socket operation under the write timeout, giving way if the node asks the
    /// connection to close meanwhile.
    async fn io(
        &self,
        operation: impl Future<Output = Result<(), axum::Error>>,
    ) -> Result<(), Stop> {
        let write_timeout = Duration::from_secs(self.hub.0.config.write_timeout_secs);
        tokio::select! {
            // The operation first: one that completes at once registers neither the timer
            // nor the close signal's waiter (this is the fan-out's hot path).
            biased;
            result = timeout(write_timeout, operation) => match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "write failed");
                    Err(Stop::Gone)
                }
                Err(_) => {
                    tracing::debug!("write timed out");
                    Err(Stop::Gone)
                }
            },
            code = self.handle.closed() => Err(Stop::close(code)),
        }
    }

    async fn send(&self, socket: &mut impl Socket, message: Message) -> Result<(), Stop> {
        self.io(socket.send(message)).await
    }

    async fn write(&self, socket: &mut impl Socket, text: String) -> Result<(), Stop> {
        self.send(socket, Message::Text(text.into())).await
    }

    async fn feed(&self, socket: &mut impl Socket, frame: Utf8Bytes) -> Result<(), Stop> {
        self.io(socket.feed(Message::Text(frame))).await
    }

    async fn reply_error(
        &self,
        socket: &mut impl Socket,
        id: Option<u64>,
        code: ErrorCode,
        message: &str,
    ) -> Result<(), Stop> {
        self.write(socket, error_frame(id, code, message)).await
    }

    // ---- the queue ----

    /// Writes what the node queued, up to a batch, then flushes once.
    async fn on_outbound(
        &mut self,
        socket: &mut impl Socket,
        first: Outbound,
        rx: &mut mpsc::Receiver<Outbound>,
    ) -> Result<(), Stop> {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(item) = next.take() {
            match item {
                Outbound::Deliver(delivery) => self.deliver(socket, &delivery).await?,
                Outbound::Resync(channel) => Box::pin(self.catch_up(socket, &channel)).await?,
                Outbound::Recheck(channel) => Box::pin(self.recheck(socket, &channel)).await?,
            }
            written += 1;
            if written < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        self.io(socket.flush()).await
    }

    /// Writes one delivery in order: duplicates are dropped, a gap is filled from history
    /// first, a changed epoch (history lost) closes with 4008.
    async fn deliver(&mut self, socket: &mut impl Socket, delivery: &Delivery) -> Result<(), Stop> {
        let Some(last) = self.subs.get(&delivery.channel) else {
            return Ok(());
        };
        let Some(position) = &delivery.position else {
            return self.feed(socket, delivery.frame.clone()).await;
        };
        if position.epoch != last.epoch {
            tracing::info!(channel = %delivery.channel, "channel history was lost; client must recover");
            return Err(Stop::Close(
                CloseCode::SlowConsumer,
                "history lost; resubscribe",
            ));
        }
        if position.offset <= last.offset {
            return Ok(());
        }
        if position.offset > last.offset + 1 {
            Box::pin(self.catch_up(socket, &delivery.channel)).await?;
            if self
                .subs
                .get(&delivery.channel)
                .is_some_and(|last| position.offset <= last.offset)
            {
                return Ok(());
            }
        }
        self.feed(socket, delivery.frame.clone()).await?;
        if let Some(last) = self.subs.get_mut(&delivery.channel) {
            last.offset = position.offset;
        }
        Ok(())
    }

    /// Delivers whatever history holds after this channel's last delivered offset.
    async fn catch_up(
        &mut self,
        socket: &mut impl Socket,
        channel: &ScopedChannel,
    ) -> Result<(), Stop> {
        let Some(since) = self.subs.get(channel).cloned() else {
            return Ok(());
        };
        let broker = &self.hub.0.broker;
        let mut attempts = 0;
        let history = loop {
            match broker
                .history(channel, Some(since.offset), self.hub.0.config.history_size)
                .await
            {
                Ok(history) => break history,
                Err(error) if attempts < 3 => {
                    tracing::debug!(%error, channel = %channel, "history read failed; retrying");
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    tracing::warn!(%error, channel = %channel, "could not read history to fill a gap");
                    return Err(Stop::Close(
                        CloseCode::SlowConsumer,
                        "missed events; resubscribe",
                    ));
                }
            }
        };
        if !history.covers(&since) {
            tracing::info!(channel = %channel, "missed events are no longer in history");
            return Err(Stop::Close(
                CloseCode::SlowConsumer,
                "missed events; resubscribe",
            ));
        }
        for (offset, event) in history.publications {
            let position = Some(Position {
                offset,
                epoch: history.top.epoch.clone(),
            });
            self.feed(
                socket,
                event_frame(channel, &Publication { position, event }).into(),
            )
            .await?;
        }
        self.subs.insert(channel.clone(), history.top);
        Ok(())
    }

    /// Re-asks whether a patient may still listen to a conversation; withdraws it if not.
    async fn recheck(
        &mut self,
        socket: &mut impl Socket,
        channel: &ScopedChannel,
    ) -> Result<(), Stop> {
        if !self.subs.contains_key(channel) || self.principal.role.is_clinic() {
            return Ok(());
        }
        let Channel::Conversation(conversation_id) = channel.channel() else {
            return Ok(());
        };
        match self
            .hub
            .0
            .access
            .may_listen(
                self.principal.tenant_id,
                conversation_id,
                self.principal.user_id,
            )
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.leave_channel(channel).await;
                let frame = ServerFrame::Error {
                    id: None,
                    code: ErrorCode::Forbidden,
                    message: "access to this channel was withdrawn",
                    channel: Some(channel.name()),
                };
                self.write(socket, frame.to_text()).await
            }
            Err(error) => {
                tracing::warn!(%error, channel = %channel, "conversation access re-check failed");
                Ok(())
            }
        }
    }

    // ---- client frames ----

    async fn on_text(&mut self, socket: &mut impl Socket, text: &str) -> Result<(), Stop> {
        let parsed = serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object);
        let id = parsed
            .as_ref()
            .and_then(|frame| frame.get("id"))
            .and_then(Value::as_u64);
        if self.limiter.check().is_err() {
            self.strikes += 1;
            if self.strikes > self.hub.0.config.client_frame_burst {
                return Err(Stop::close(CloseCode::RateLimited));
            }
            return self
                .reply_error(
                    socket,
                    id,
                    ErrorCode::RateLimited,
                    "too many frames; slow down",
                )
                .await;
        }
        self.strikes = 0;
        let Some(frame) = parsed else {
            return self
                .reply_error(
                    socket,
                    None,
                    ErrorCode::BadRequest,
                    "frames must be JSON objects",
                )
                .await;
        };
        let Some(op) = frame.get("op").and_then(Value::as_str).map(str::to_owned) else {
            return self
                .reply_error(socket, id, ErrorCode::BadRequest, "missing field `op`")
                .await;
        };
        match op.as_str() {
            "subscribe" => match fields::<SubscribeRequest>(frame) {
                Ok(request) => self.subscribe(socket, id, request).await,
                Err(message) => {
                    self.reply_error(socket, id, ErrorCode::BadRequest, &message)
                        .await
                }
            },
            "unsubscribe" => match fields::<ChannelRequest>(frame) {
                Ok(request) => self.unsubscribe(socket, id, request).await,
                Err(message) => {
                    self.reply_error(socket, id, ErrorCode::BadRequest, &message)
                        .await
                }
            },
            "publish" => match fields::<PublishRequest>(frame) {
                Ok(request) => self.publish(socket, id, request).await,
                Err(message) => {
                    self.reply_error(socket, id, ErrorCode::BadRequest, &message)
                        .await
                }
            },
            "presence" => match fields::<ChannelRequest>(frame) {
                Ok(request) => self.presence(socket, id, request).await,
                Err(message) => {
                    self.reply_error(socket, id, ErrorCode::BadRequest, &message)
                        .await
                }
            },
            "refresh" => match fields::<AuthRequest>(frame) {
                Ok(request) => self.refresh(socket, id, request).await,
                Err(message) => {
                    self.reply_error(socket, id, ErrorCode::BadRequest, &message)
                        .await
                }
            },
            "auth" => {
                self.reply_error(socket, id, ErrorCode::BadRequest, "already authenticated")
                    .await
            }
            other => {
                let message = format!(
                    "unknown op `{}`",
                    other.chars().take(40).collect::<String>()
                );
                self.reply_error(socket, id, ErrorCode::BadRequest, &message)
                    .await
            }
        }
    }

    /// Parses a channel name and checks that this user may use it.
    async fn admit(&self, name: &str) -> Result<Channel, (ErrorCode, String)> {
        let channel =
            Channel::parse(name).map_err(|error| (ErrorCode::BadRequest, error.to_string()))?;
        match authorize(&self.principal, channel) {
            Decision::Allow => Ok(channel),
            Decision::Forbidden => Err((ErrorCode::Forbidden, format!("not allowed on {channel}"))),
            Decision::AskConversation(conversation_id) => {
                let p = &self.principal;
                match self
                    .hub
                    .0
                    .access
                    .may_listen(p.tenant_id, conversation_id, p.user_id)
                    .await
                {
                    Ok(true) => Ok(channel),
                    Ok(false) => Err((ErrorCode::NotFound, "no such conversation".into())),
                    Err(error) => {
                        tracing::warn!(%error, "conversation access lookup failed");
                        Err((
                            ErrorCode::Unavailable,
                            "cannot check access now; try again".into(),
                        ))
                    }
                }
            }
        }
    }

    async fn subscribe(
        &mut self,
        socket: &mut impl Socket,
        id: Option<u64>,
        request: SubscribeRequest,
    ) -> Result<(), Stop> {
        let channel = match self.admit(&request.channel).await {
            Ok(channel) => channel,
            Err((code, message)) => return self.reply_error(socket, id, code, &message).await,
        };
        let since = match &request.since {
            None => None,
            Some(since) => match since.offset.parse() {
                Ok(offset) => Some(Position {
                    offset,
                    epoch: since.epoch.as_str().into(),
                }),
                Err(_) => {
                    return self
                        .reply_error(
                            socket,
                            id,
                            ErrorCode::BadRequest,
                            "`since.offset` must be an offset the server sent",
                        )
                        .await
                }
            },
        };
        let scoped = channel.scoped(self.principal.tenant_id);
        if self.subs.contains_key(&scoped) {
            return self
                .reply_error(socket, id, ErrorCode::BadRequest, "already subscribed")
                .await;
        }
        if self.subs.len() >= self.hub.0.config.max_subscriptions_per_connection {
            return self
                .reply_error(socket, id, ErrorCode::BadRequest, "too many subscriptions")
                .await;
        }
        let span = tracing::debug_span!("subscribe", channel = %channel);
        let hub = self.hub.clone();
        let (registry, broker) = (&hub.0.registry, &*hub.0.broker);

        // Subscribe before reading history: every event after the history's top then
        // arrives live, and the ones already in the reply are dropped as duplicates.
        if let Err(error) = registry
            .subscribe(broker, &scoped, &self.handle)
            .instrument(span.clone())
            .await
        {
            tracing::warn!(parent: &span, %error, "broker subscribe failed");
            return self
                .reply_error(
                    socket,
                    id,
                    ErrorCode::Unavailable,
                    "cannot subscribe now; try again",
                )
                .await;
        }
        let limit = hub.0.config.history_size;
        let history = match broker
            .history(&scoped, since.as_ref().map(|s| s.offset), limit)
            .instrument(span.clone())
            .await
        {
            Ok(history) => history,
            Err(error) => {
                tracing::warn!(parent: &span, %error, "history read failed");
                registry.remove_subscriber(&scoped, self.handle.id);
                registry.release(broker, &scoped).await;
                return self
                    .reply_error(
                        socket,
                        id,
                        ErrorCode::Unavailable,
                        "cannot subscribe now; try again",
                    )
                    .await;
            }
        };
        let recovered = since.as_ref().is_some_and(|since| history.covers(since));
        if since.is_some() {
            hub.metrics().recovery(recovered);
            tracing::debug!(parent: &span, recovered, "recovery");
        }
        let frames: Vec<Box<serde_json::value::RawValue>> = if recovered {
            history
                .publications
                .into_iter()
                .map(|(offset, event)| {
                    let position = Some(Position {
                        offset,
                        epoch: history.top.epoch.clone(),
                    });
                    serde_json::value::RawValue::from_string(event_frame(
                        &scoped,
                        &Publication { position, event },
                    ))
                    .expect("event frames are JSON")
                })
                .collect()
        } else {
            Vec::new()
        };
        let reply = ServerFrame::Subscribed {
            id,
            channel: scoped.name(),
            offset: history.top.offset.to_string(),
            epoch: &history.top.epoch,
            recovered,
            events: frames.iter().map(|f| &**f).collect(),
        }
        .to_text();
        self.subs.insert(scoped.clone(), history.top.clone());
        self.write(socket, reply).await?;
        if channel.has_presence() {
            if let Err(error) = broker.join(&scoped, self.handle.id, &self.user).await {
                tracing::warn!(parent: &span, %error, "presence join failed");
            }
        }
        Ok(())
    }

    /// Stops listening to a channel, releasing it on the node and leaving its presence.
    async fn leave_channel(&mut self, channel: &ScopedChannel) {
        if self.subs.remove(channel).is_none() {
            return;
        }
        let hub = &self.hub.0;
        hub.registry.remove_subscriber(channel, self.handle.id);
        hub.registry.release(&*hub.broker, channel).await;
        if channel.channel().has_presence() {
            if let Err(error) = hub
                .broker
                .leave(channel, self.handle.id, self.principal.user_id)
                .await
            {
                tracing::warn!(%error, channel = %channel, "presence leave failed");
            }
        }
    }

    async fn unsubscribe(
        &mut self,
        socket: &mut impl Socket,
        id: Option<u64>,
        request: ChannelRequest,
    ) -> Result<(), Stop> {
        let channel = match Channel::parse(&request.channel) {
            Ok(channel) => channel.scoped(self.principal.tenant_id),
            Err(error) => {
                return self
                    .reply_error(socket, id, ErrorCode::BadRequest, &error.to_string())
                    .await
            }
        };
        if !self.subs.contains_key(&channel) {
            return self
                .reply_error(socket, id, ErrorCode::BadRequest, "not subscribed")
                .await;
        }
        self.leave_channel(&channel).await;
        self.write(
            socket,
            ServerFrame::Unsubscribed {
                id,
                channel: channel.name(),
            }
            .to_text(),
        )
        .await
    }

    async fn publish(
        &mut self,
        socket: &mut impl Socket,
        id: Option<u64>,
        request: PublishRequest,
    ) -> Result<(), Stop> {
        let channel = match Channel::parse(&request.channel) {
            Ok(channel) => channel,
            Err(error) => {
                return self
                    .reply_error(socket, id, ErrorCode::BadRequest, &error.to_string())
                    .await
            }
        };
        if !channel.accepts_client_publish(&request.kind) {
            let message = "clients may publish only `typing` events, on conversation channels";
            return self
                .reply_error(socket, id, ErrorCode::Forbidden, message)
                .await;
        }
        let scoped = channel.scoped(self.principal.tenant_id);
        if !self.subs.contains_key(&scoped) {
            return self
                .reply_error(
                    socket,
                    id,
                    ErrorCode::Forbidden,
                    "subscribe to the channel first",
                )
                .await;
        }
        let mut data = match request.data {
            Value::Object(data) => data,
            Value::Null => serde_json::Map::new(),
            _ => {
                return self
                    .reply_error(
                        socket,
                        id,
                        ErrorCode::BadRequest,
                        "`data` must be an object",
                    )
                    .await
            }
        };
        data.insert(
            "user_id".into(),
            Value::String(self.principal.user_id.to_string()),
        );
        data.insert("name".into(), Value::String(self.principal.name.clone()));
        let event = Event::new(request.kind, Value::Object(data));
        if let Err(error) = self
            .hub
            .0
            .broker
            .publish(&scoped, event.to_bytes(), false)
            .await
        {
            tracing::warn!(%error, channel = %scoped, "client publish failed");
            return self
                .reply_error(
                    socket,
                    id,
                    ErrorCode::Unavailable,
                    "cannot publish now; try again",
                )
                .await;
        }
        self.hub.metrics().events_published.inc();
        self.write(
            socket,
            ServerFrame::Published {
                id,
                channel: scoped.name(),
            }
            .to_text(),
        )
        .await
    }

    async fn presence(
        &mut self,
        socket: &mut impl Socket,
        id: Option<u64>,
        request: ChannelRequest,
    ) -> Result<(), Stop> {
        let channel = match self.admit(&request.channel).await {
            Ok(channel) => channel,
            Err((code, message)) => return self.reply_error(socket, id, code, &message).await,
        };
        if !channel.has_presence() {
            return self
                .reply_error(
                    socket,
                    id,
                    ErrorCode::BadRequest,
                    "this channel keeps no presence",
                )
                .await;
        }
        let scoped = channel.scoped(self.principal.tenant_id);
        match self.hub.0.broker.presence(&scoped).await {
            Ok(present) => {
                self.write(
                    socket,
                    ServerFrame::Presence {
                        id,
                        channel: scoped.name(),
                        present: &present,
                    }
                    .to_text(),
                )
                .await
            }
            Err(error) => {
                tracing::warn!(%error, channel = %scoped, "presence read failed");
                self.reply_error(
                    socket,
                    id,
                    ErrorCode::Unavailable,
                    "cannot read presence now; try again",
                )
                .await
            }
        }
    }

    async fn refresh(
        &mut self,
        socket: &mut impl Socket,
        id: Option<u64>,
        request: AuthRequest,
    ) -> Result<(), Stop> {
        let principal = match self.hub.0.auth.authenticate(&request.token).await {
            Ok(principal) => principal,
            Err(error) => {
                let (code, message) = auth_failure(&error);
                return self.reply_error(socket, id, code, message).await;
            }
        };
        if principal.user_id != self.principal.user_id
            || principal.tenant_id != self.principal.tenant_id
        {
            return self
                .reply_error(
                    socket,
                    id,
                    ErrorCode::Unauthorized,
                    "the token is for another user",
                )
                .await;
        }
        *self.handle.session_id.lock().expect("session lock") = principal.session_id;
        self.expires_at = principal.expires_at;
        self.refresh_at = refresh_at(principal.expires_at, self.hub.0.config.refresh_before_expiry_secs);
        self.refresh_sent = false;
        self.user = user_info(&principal);
        self.principal = principal;
        self.write(
            socket,
            ServerFrame::Refreshed {
                id,
                expires_in: self.expires_in(),
            }
            .to_text(),
        )
        .await
    }
}

/// The op's fields, or a message naming what is wrong with them.
fn fields<T: DeserializeOwned>(frame: Value) -> Result<T, String> {
    serde_json::from_value(frame).map_err(|error| error.to_string())
}

impl Drop for Conn {
    fn drop(&mut self) {
        let hub = self.hub.clone();
        hub.0.registry.remove_connection(&self.handle);
        let channels: Vec<ScopedChannel> = self.subs.drain().map(|(channel, _)| channel).collect();
        for channel in &channels {
            hub.0.registry.remove_subscriber(channel, self.handle.id);
        }
        if channels.is_empty() {
            return;
        }
        let (conn_id, user_id) = (self.handle.id, self.principal.user_id);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            for channel in channels {
                hub.0.registry.release(&*hub.0.broker, &channel).await;
                if channel.channel().has_presence() {
                    if let Err(error) = hub.0.broker.leave(&channel, conn_id, user_id).await {
                        tracing::debug!(%error, channel = %channel, "presence leave failed");
                    }
                }
            }
        });
    }
}

/// When a token expiring at `expires_at` should be refreshed: `lead` seconds before expiry, but
/// not before two thirds of its remaining life (and at least a second before expiry). A lead
/// longer than a short token's life would ask for a refresh at once, so every page load would
/// race a refresh in flight.
fn refresh_at(expires_at: i64, lead: u64) -> i64 {
    let remaining = expires_at - chrono::Utc::now().timestamp();
    expires_at - (lead as i64).min((remaining / 3).max(1))
}

#[cfg(test)]
mod tests {
    use super::refresh_at;

    #[test]
    fn refresh_is_asked_for_at_most_a_third_of_the_remaining_life_before_expiry() {
        let now = chrono::Utc::now().timestamp();
        assert_eq!(refresh_at(now + 900, 60), now + 840);
        assert_eq!(refresh_at(now + 30, 60), now + 20);
        assert_eq!(refresh_at(now + 2, 60), now + 1);
        assert!(refresh_at(now - 5, 60) < now);
    }
}
