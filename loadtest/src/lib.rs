//! The Qivr load generator: scenarios against the server, each returning a [`report::Report`]
//! that the binary prints as a table and writes as JSON and plots.
//!
//! # Layout
//!
//! - [`setup`]: a tenant, a staff user and a token in a (throwaway) database, and an
//!   in-process hub on port 0 with the in-process or the Redis broker.
//! - [`population`]: thousands of clinics, users, conversations and tokens in bulk.
//! - [`server`]: the real `qivr` server in a child process (or in this one) for a run.
//! - [`target`]: what the hub scenarios connect to and publish through: Qivr or a peer.
//! - [`client`]: WebSocket connections spread over loopback source addresses, the protocol
//!   handshake, reading positions and publish times out of frames.
//! - Scenarios: [`fanout`], [`idle`], [`chat`], [`storm`], [`slow`].
//! - [`bare`]: the bare broadcast server, the ceiling the hub is compared with;
//!   [`socket_io`]: a minimal Socket.IO v4 client for the Socket.IO peer.
//! - [`report`], [`plot`]: summary tables, JSON, latency CDF and throughput SVGs;
//!   [`compare`]: the side-by-side ratios against DESIGN §11.
//! - [`limits`]: raising the file-descriptor limit for runs at scale; [`process`]: the
//!   server's memory and CPU time from `/proc`.
//!
//! Clients and server share the machine, so figures are for comparing runs and
//! implementations on the same machine (DESIGN §11), not absolute capacity.

pub mod bare;
pub mod chat;
pub mod client;
pub mod compare;
pub mod fanout;
pub mod idle;
pub mod limits;
pub mod plot;
pub mod population;
pub mod process;
pub mod report;
pub mod server;
pub mod setup;
pub mod slow;
pub mod socket_io;
pub mod storm;
pub mod target;
