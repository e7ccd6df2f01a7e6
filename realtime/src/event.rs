//! Events: the envelope every publisher sends (`{"id","kind","ts","data"}`), positions in a
//! channel's history, and the `event` frame, serialized once per event and node and shared
//! (as reference-counted bytes) by every local subscriber.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::channel::ScopedChannel;

/// What publishers send and subscribers receive under `event`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Stable across re-publication (the outbox relay re-sends with the same id), so clients
    /// can drop duplicates.
    pub id: Uuid,
    pub kind: String,
    pub ts: DateTime<Utc>,
    pub data: serde_json::Value,
}

impl Event {
    pub fn new(kind: impl Into<String>, data: serde_json::Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: kind.into(),
            ts: Utc::now(),
            data,
        }
    }

    /// The JSON the broker carries and stores.
    pub fn to_bytes(&self) -> Bytes {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: Uuid,
            kind: &'a str,
            ts: String,
            data: &'a serde_json::Value,
        }
        let wire = Wire {
            id: self.id,
            kind: &self.kind,
            ts: self.ts.to_rfc3339_opts(SecondsFormat::Millis, true),
            data: &self.data,
        };
        serde_json::to_vec(&wire)
            .expect("events always serialize")
            .into()
    }
}

/// Where an event sits in its channel's history. Offsets grow by one per stored event; the
/// epoch names one unbroken history, and changes when history was lost (Redis restarted
/// empty, or the channel was idle past its retention), which tells clients that offsets from
/// before cannot be recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub epoch: Arc<str>,
}

/// An event as the broker hands it to a node.
#[derive(Debug, Clone)]
pub struct Publication {
    /// `None` for ephemeral events (typing), which are never stored.
    pub position: Option<Position>,
    /// The event's JSON (see [`Event::to_bytes`]).
    pub event: Bytes,
}

/// The `event` frame for `publication` on `channel`, in the form every subscriber receives.
pub fn event_frame(channel: &ScopedChannel, publication: &Publication) -> String {
    let event = std::str::from_utf8(&publication.event).unwrap_or("null");
    let name = serde_json::to_string(channel.name()).expect("strings serialize");
    match &publication.position {
        Some(position) => {
            let epoch = serde_json::to_string(&*position.epoch).expect("strings serialize");
            format!(
                r#"{{"op":"event","channel":{name},"offset":"{}","epoch":{epoch},"event":{event}}}"#,
                position.offset
            )
        }
        None => format!(r#"{{"op":"event","channel":{name},"event":{event}}}"#),
    }
}

/// One queued frame for a connection, shared by all the node's subscribers of the channel.
#[derive(Debug)]
pub struct Delivery {
    pub channel: ScopedChannel,
    /// Set for stored events, so each connection can drop duplicates and notice gaps.
    pub position: Option<Position>,
    pub frame: Utf8Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Channel;

    #[test]
    fn event_frames_embed_the_event_verbatim_with_the_client_channel_name() {
        let channel = Channel::Evaluations.scoped(Uuid::now_v7());
        let event = Event::new("evaluation.created", serde_json::json!({"id": 7}));
        let publication = Publication {
            position: Some(Position {
                offset: 3,
                epoch: "ab12".into(),
            }),
            event: event.to_bytes(),
        };
        let frame: serde_json::Value =
            serde_json::from_str(&event_frame(&channel, &publication)).unwrap();
        assert_eq!(frame["op"], "event");
        assert_eq!(frame["channel"], "evaluations");
        assert_eq!(frame["offset"], "3");
        assert_eq!(frame["epoch"], "ab12");
        assert_eq!(frame["event"]["kind"], "evaluation.created");
        assert_eq!(frame["event"]["data"]["id"], 7);
        assert_eq!(frame["event"]["id"], event.id.to_string());
    }
}
