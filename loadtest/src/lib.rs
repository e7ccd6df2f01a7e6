//! The Qivr load generator: scenarios against the realtime hub, each returning a report the
//! binary prints.
//!
//! # Layout
//!
//! - [`setup`]: a tenant, a staff user and a token in a (throwaway) database, and an
//!   in-process hub on port 0 with the in-process or the Redis broker.
//! - [`fanout`]: N authenticated connections on one channel, M events published; deliveries
//!   per second and the delivery latency distribution.
//! - [`idle`]: the hub's memory per idle connection, with the hub in a child process.
//!
//! Client and hub share the machine (and, here, the process), so figures are for comparing
//! runs and implementations on the same machine (DESIGN §11), not absolute capacity.

pub mod fanout;
pub mod idle;
pub mod setup;
