//! The hub: one node's state, built once at start-up and shared by every connection.
//!
//! [`Hub::new`] attaches the node to the broker; what the broker delivers goes through
//! [`Dispatch`] (which holds no reference back to the broker, so nothing forms a cycle) into
//! the [`Registry`]'s fan-out. [`Hub::shutdown`] closes every connection with 4500 and waits
//! for them, up to `shutdown_grace_secs`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry as MetricsRegistry;
use qivr_shared::auth::Authenticator;
use qivr_shared::config::{Config, RealtimeConfig};

use crate::access::{AccessCache, ConversationAccess};
use crate::broker::{Broker, BrokerHandler, Control, PresenceChange};
use crate::channel::{Channel, ScopedChannel};
use crate::event::{event_frame, Delivery, Publication};
use crate::metrics::Metrics;
use crate::protocol::CloseCode;
use crate::publisher::Publisher;
use crate::registry::{Outbound, Registry};

/// Cheap to clone; the router's state.
#[derive(Clone)]
pub struct Hub(pub(crate) Arc<HubInner>);

pub(crate) struct HubInner {
    pub config: RealtimeConfig,
    /// Origins allowed besides the page's own (`Config::allowed_origins`).
    pub allowed_origins: Vec<String>,
    /// `scheme://host[:port]` of `Config::public_url`, always allowed.
    pub public_origin: String,
    pub auth: Arc<Authenticator>,
    pub broker: Arc<dyn Broker>,
    pub registry: Arc<Registry>,
    pub access: Arc<AccessCache>,
}

impl Hub {
    /// Builds the node and attaches it to `broker`. Metrics go into `metrics` under
    /// `qivr_realtime_`. `conversations` answers who may listen to `conversation:<id>`
    /// ([`crate::NoConversations`] until messaging exists).
    pub fn new(
        config: &Config,
        auth: Arc<Authenticator>,
        broker: Arc<dyn Broker>,
        conversations: Arc<dyn ConversationAccess>,
        metrics: &mut MetricsRegistry,
    ) -> Self {
        let realtime = config.realtime.clone();
        let registry = Arc::new(Registry::new(Metrics::register(metrics)));
        let access = Arc::new(AccessCache::new(
            conversations,
            Duration::from_secs(realtime.conversation_cache_ttl_secs),
        ));
        broker.attach(Arc::new(Dispatch {
            registry: registry.clone(),
            access: access.clone(),
        }));
        Hub(Arc::new(HubInner {
            allowed_origins: config
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
            public_origin: origin_of(&config.public_url()),
            config: realtime,
            auth,
            broker,
            registry,
            access,
        }))
    }

    /// A publisher using this node's broker (what the API uses when it runs in the same process).
    pub fn publisher(&self) -> Publisher {
        Publisher::with_metrics(self.0.broker.clone(), self.0.registry.metrics.clone())
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.registry.metrics
    }

    /// Refuses new connections, closes every open one with 4500 (clients reconnect elsewhere
    /// and recover), and waits for them to finish, at most `shutdown_grace_secs`. Then stops
    /// the broker, saying goodbye to presence.
    pub async fn shutdown(&self) {
        self.0.registry.close_all(CloseCode::ShuttingDown);
        let grace = Duration::from_secs(self.0.config.shutdown_grace_secs);
        if tokio::time::timeout(grace, self.0.registry.drained())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the shutdown grace period");
        }
        self.0.broker.stop(true);
    }

    /// Stops this node as if its process had died: no goodbyes to presence, no close frames
    /// that would reach other nodes. Connections are dropped. For tests of node failure.
    #[doc(hidden)]
    pub fn simulate_crash(&self) {
        self.0.broker.stop(false);
        self.0.registry.close_all(CloseCode::ShuttingDown);
    }
}

/// `scheme://authority` of a URL, which is what an `Origin` header holds.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or("")),
        None => url.to_string(),
    }
}

/// The node as the broker sees it.
struct Dispatch {
    registry: Arc<Registry>,
    access: Arc<AccessCache>,
}

impl BrokerHandler for Dispatch {
    fn publication(&self, channel: &ScopedChannel, publication: Publication) {
        let frame = event_frame(channel, &publication).into();
        self.registry.fan_out(Delivery {
            channel: channel.clone(),
            position: publication.position,
            frame,
        });
    }

    fn presence(&self, channel: &ScopedChannel, change: PresenceChange) {
        #[derive(serde::Serialize)]
        struct Frame<'a> {
            op: &'static str,
            channel: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            joined: Option<&'a [crate::protocol::UserInfo]>,
            #[serde(skip_serializing_if = "Option::is_none")]
            left: Option<&'a [crate::protocol::UserInfo]>,
        }
        let (joined, left) = match &change {
            PresenceChange::Joined(users) => (Some(&users[..]), None),
            PresenceChange::Left(users) => (None, Some(&users[..])),
        };
        let frame = serde_json::to_string(&Frame {
            op: "presence",
            channel: channel.name(),
            joined,
            left,
        })
        .expect("presence frames serialize");
        self.registry.fan_out(Delivery {
            channel: channel.clone(),
            position: None,
            frame: frame.into(),
        });
    }

    fn control(&self, control: Control) {
        tracing::debug!(?control, "control message");
        match control {
            Control::DisconnectUser { tenant_id, user_id } => {
                self.registry
                    .disconnect(tenant_id, Some(user_id), None, CloseCode::Unauthorized)
            }
            Control::DisconnectSession {
                tenant_id,
                session_id,
            } => {
                self.registry
                    .disconnect(tenant_id, None, Some(session_id), CloseCode::Unauthorized)
            }
            Control::InvalidateConversation {
                tenant_id,
                conversation_id,
            } => {
                self.access.invalidate(tenant_id, conversation_id);
                let channel = Channel::Conversation(conversation_id).scoped(tenant_id);
                self.registry
                    .notify_subscribers(Some(&channel), |c| Outbound::Recheck(c.clone()));
            }
        }
    }

    fn reconnected(&self) {
        self.registry.metrics.redis_reconnects.inc();
        self.registry
            .notify_subscribers(None, |c| Outbound::Resync(c.clone()));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_are_scheme_and_authority() {
        assert_eq!(
            super::origin_of("https://clinic.example.com/app/"),
            "https://clinic.example.com"
        );
        assert_eq!(
            super::origin_of("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
