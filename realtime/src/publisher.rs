//! How the rest of Qivr (API handlers, the outbox relay, workers) reaches subscribers:
//! through the broker, never through the hub's internals, so `realtime` stays a leaf.
//!
//! ```ignore
//! let publisher = Publisher::new(qivr_realtime::broker::from_config(&config).await?);
//! publisher.publish(tenant_id, "evaluations", "evaluation.created", json!({"id": id})).await?;
//! ```

use std::sync::Arc;

use uuid::Uuid;

use crate::broker::{Broker, Control};
use crate::channel::Channel;
use crate::error::Result;
use crate::event::{Event, Position};
use crate::metrics::Metrics;

/// Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    broker: Arc<dyn Broker>,
    metrics: Option<Metrics>,
}

impl Publisher {
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        Self {
            broker,
            metrics: None,
        }
    }

    pub(crate) fn with_metrics(broker: Arc<dyn Broker>, metrics: Metrics) -> Self {
        Self {
            broker,
            metrics: Some(metrics),
        }
    }

    /// Publishes a new event (fresh id, now as `ts`) to `channel` (a client-side name such as
    /// `evaluations` or `conversation:<uuid>`) of `tenant_id`. Returns its position in the
    /// channel's history (`None` when history is disabled).
    pub async fn publish(
        &self,
        tenant_id: Uuid,
        channel: &str,
        kind: &str,
        data: serde_json::Value,
    ) -> Result<Option<Position>> {
        self.publish_event(tenant_id, channel, &Event::new(kind, data))
            .await
    }

    /// Publishes an event as it is, keeping its id (the outbox relay re-publishing a row).
    pub async fn publish_event(
        &self,
        tenant_id: Uuid,
        channel: &str,
        event: &Event,
    ) -> Result<Option<Position>> {
        let scoped = Channel::parse(channel)?.scoped(tenant_id);
        let position = self.broker.publish(&scoped, event.to_bytes(), true).await?;
        if let Some(metrics) = &self.metrics {
            metrics.events_published.inc();
        }
        Ok(position)
    }

    /// Closes every connection of the user on every node (they were disabled or deleted).
    pub async fn disconnect_user(&self, tenant_id: Uuid, user_id: Uuid) -> Result<()> {
        self.broker
            .control(&Control::DisconnectUser { tenant_id, user_id })
            .await
    }

    /// Closes the connections of one session on every node (logout, revoked refresh family).
    pub async fn disconnect_session(&self, tenant_id: Uuid, session_id: Uuid) -> Result<()> {
        self.broker
            .control(&Control::DisconnectSession {
                tenant_id,
                session_id,
            })
            .await
    }

    /// Tells every node that the conversation's participants changed.
    pub async fn invalidate_conversation(
        &self,
        tenant_id: Uuid,
        conversation_id: Uuid,
    ) -> Result<()> {
        self.broker
            .control(&Control::InvalidateConversation {
                tenant_id,
                conversation_id,
            })
            .await
    }
}
