//! The hub's Prometheus metrics, registered under `qivr_realtime_` in the registry the
//! application serves at `/metrics` (passed in, so two nodes in one test keep separate counts).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    /// The WebSocket close code the server sent (4001, 4008, ...; 1000 for a normal close).
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RecoveryLabels {
    /// `hit`: every missed event was recovered; `miss`: the client must refetch.
    pub result: &'static str,
}

/// Cheap to clone: every metric is an `Arc` inside.
#[derive(Clone, Default)]
pub struct Metrics {
    /// Open, authenticated connections on this node.
    pub connections: Gauge,
    /// Subscriptions (connection × channel) on this node.
    pub subscriptions: Gauge,
    /// Events published through this node's [`crate::Publisher`]s and its clients.
    pub events_published: Counter,
    /// Event frames queued to connections on this node.
    pub events_delivered: Counter,
    /// Connections closed because their queue overflowed.
    pub slow_consumer_closes: Counter,
    /// Times the link to Redis was lost and re-established.
    pub redis_reconnects: Counter,
    pub recoveries: Family<RecoveryLabels, Counter>,
    pub closes: Family<CloseLabels, Counter>,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let r = registry.sub_registry_with_prefix("qivr_realtime");
        r.register(
            "connections",
            "Open authenticated WebSocket connections",
            metrics.connections.clone(),
        );
        r.register(
            "subscriptions",
            "Channel subscriptions of open connections",
            metrics.subscriptions.clone(),
        );
        r.register(
            "events_published",
            "Events published through this node",
            metrics.events_published.clone(),
        );
        r.register(
            "events_delivered",
            "Event frames queued to connections",
            metrics.events_delivered.clone(),
        );
        r.register(
            "slow_consumer_closes",
            "Connections closed as slow consumers (4008)",
            metrics.slow_consumer_closes.clone(),
        );
        r.register(
            "redis_reconnects",
            "Redis pub/sub reconnections",
            metrics.redis_reconnects.clone(),
        );
        r.register(
            "recoveries",
            "Subscriptions with `since`, by whether history covered the gap",
            metrics.recoveries.clone(),
        );
        r.register(
            "closes",
            "Connections closed by the server, by close code",
            metrics.closes.clone(),
        );
        metrics
    }

    pub fn recovery(&self, hit: bool) {
        self.recoveries
            .get_or_create(&RecoveryLabels {
                result: if hit { "hit" } else { "miss" },
            })
            .inc();
    }
}
