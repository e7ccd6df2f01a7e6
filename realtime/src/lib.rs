//! The WebSocket hub: protocol v1 at `GET /ws` (DESIGN §6), a registry of connections and
//! subscriptions per node, the broker that joins nodes through Redis (or an in-process bus),
//! channel history for recovery, and presence.
//!
//! It is a leaf: the API and the workers publish through the broker; the hub never calls
//! back into them.
