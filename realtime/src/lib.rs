//! The WebSocket hub: protocol v1 at `GET /ws` (DESIGN §6), a registry of connections and
//! subscriptions per node, the broker that joins nodes through Redis (or an in-process bus),
//! channel history for recovery, and presence.
//!
//! It is a leaf: the API and the workers publish through the broker (with a [`Publisher`]);
//! the hub never calls back into them.
//!
//! # Layout
//!
//! - [`protocol`]: the frames and close codes on the wire.
//! - [`channel`]: channel names, their tenant scoping, and who may subscribe to what.
//! - [`access`]: conversation membership, asked of the messaging code and cached.
//! - [`event`]: the event envelope, positions in a channel's history, the shared event frame.
//! - [`broker`]: the broker interface, with [`broker::memory`] and [`broker::redis`].
//! - `registry`: this node's connections and subscriptions, and the fan-out.
//! - `connection`: one connection's life: auth, the frame loop, recovery, cleanup.
//! - [`hub`]: the node as a whole ([`Hub`]), its start-up and graceful shutdown.
//! - `http`: the `/ws` route ([`router`]) and the Origin check.
//! - [`publisher`]: how the rest of Qivr publishes events and revokes sessions.
//! - [`metrics`]: Prometheus metrics.
//!
//! # Use
//!
//! ```ignore
//! let broker = qivr_realtime::broker::from_config(&config).await?;
//! let hub = Hub::new(&config, auth.clone(), broker, Arc::new(NoConversations), &mut registry);
//! let app = Router::new().merge(qivr_realtime::router(hub.clone()));
//! let publisher = hub.publisher();
//! // on shutdown, before the HTTP server stops:
//! hub.shutdown().await;
//! ```

pub mod access;
pub mod broker;
pub mod channel;
mod connection;
pub mod error;
pub mod event;
mod http;
pub mod hub;
pub mod metrics;
pub mod protocol;
pub mod publisher;
mod registry;

pub use access::{Conversation, ConversationAccess, NoConversations};
pub use error::{Error, Result};
pub use event::{Event, Position};
pub use http::router;
pub use hub::Hub;
pub use publisher::Publisher;
