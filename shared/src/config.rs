//! Qivr's configuration, typed once.
//!
//! Sources, later ones winning: built-in defaults, `qivr.toml` in the working directory (or the
//! file named by `QIVR_CONFIG`), then the environment. `DATABASE_URL` and `REDIS_URL` keep their
//! conventional names, and so do `SES_ENDPOINT` and `STORAGE`; everything else is `QIVR_<FIELD>` (nested fields with `__`, e.g.
//! `QIVR_AUTH__IDLE_TIMEOUT_SECS=600`). Every setting is optional: unset means the embedded
//! default described on the field, so `qivr serve` runs on a bare machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// PostgreSQL connection string. Unset: a private cluster under `<data_dir>/pg`, started
    /// from the machine's PostgreSQL binaries and stopped on exit.
    pub database_url: Option<SecretString>,
    /// Redis connection string. Unset: an in-process bus (a single node).
    pub redis_url: Option<String>,
    /// Where the HTTP server listens (`QIVR_ADDR`).
    pub addr: SocketAddr,
    /// The URL users open, used in emails and printed at start-up. Defaults to `http://<addr>`.
    pub public_url: Option<String>,
    /// Local state of the embedded defaults: the private PostgreSQL cluster, stored files.
    pub data_dir: PathBuf,
    /// Where the built web apps live (`clinic-dashboard/dist`, `patient-portal/dist`).
    pub web_dir: PathBuf,
    /// Emit logs as JSON lines (for log shippers) instead of human-readable text.
    pub log_json: bool,
    /// Origins allowed to open WebSockets and call the API from a browser, besides
    /// `public_url`. Empty: same-origin only.
    pub allowed_origins: Vec<String>,
    pub auth: AuthConfig,
    /// SES v2 endpoint (`SES_ENDPOINT`), e.g. a local emulator. Unset, and with
    /// `email.use_ses` false: the dev mailbox (emails are stored, never sent).
    pub ses_endpoint: Option<String>,
    pub email: EmailConfig,
    pub realtime: RealtimeConfig,
    /// Where uploaded documents are kept (`STORAGE`). Unset: local files under
    /// `<data_dir>/files`. A directory path keeps them there; `s3://bucket/prefix` keeps them in
    /// S3 or an S3-compatible store (endpoint and credentials in `documents`).
    pub storage: Option<String>,
    pub documents: DocumentsConfig,
}

/// Patient documents: upload limits and the S3 settings used when `storage` is `s3://…`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DocumentsConfig {
    /// Largest file accepted; larger uploads are cut off while streaming and refused (413).
    pub max_upload_bytes: u64,
    /// An S3-compatible endpoint (e.g. MinIO or a local emulator). Unset: Amazon S3.
    pub s3_endpoint: Option<String>,
    /// Region for S3 when the AWS environment names none.
    pub s3_region: String,
    /// Credentials for S3. Unset: the standard AWS environment variables.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<SecretString>,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 * 1024 * 1024,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
        }
    }
}

/// Outgoing email.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct EmailConfig {
    /// Send through Amazon SES with the standard AWS configuration (region, credentials from
    /// the environment or the instance role) even without `SES_ENDPOINT`.
    pub use_ses: bool,
    /// The sender address (verified in SES).
    pub from: String,
    /// Region for SES when the AWS environment names none.
    pub region: String,
    /// A message unread this long by a recipient who is not online gets them one email.
    pub unread_notify_after_secs: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self { use_ses: false, from: "Qivr <no-reply@qivr.local>".into(), region: "us-east-1".into(), unread_notify_after_secs: 300 }
    }
}

/// Token lifetimes and brute-force protection.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// `iss` of the access tokens we issue.
    pub issuer: String,
    /// Access token lifetime; short, because a stolen one cannot be revoked before it expires.
    pub access_ttl_secs: u64,
    /// Absolute lifetime of a session (refresh token family).
    pub refresh_ttl_secs: u64,
    /// A session unused for this long is over; the user must enter the password again.
    pub idle_timeout_secs: u64,
    /// Consecutive failed logins that lock an account.
    pub max_failed_logins: i32,
    /// How long a locked account stays locked.
    pub lockout_secs: u64,
    /// Login attempts allowed per client address per minute, across all accounts.
    pub login_attempts_per_minute: u32,
    /// A refresh token presented again within this many seconds of its rotation is rotated
    /// again instead of revoking the session: a browser that navigates away while a refresh is
    /// in flight never sees the response and retries with the old token. Later reuse still
    /// revokes the whole session.
    pub refresh_reuse_grace_secs: u64,
}

/// The realtime hub (`GET /ws`, DESIGN §6): its limits, timeouts and the history and presence
/// it keeps in the broker (Redis, or the in-process bus when `redis_url` is unset).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RealtimeConfig {
    /// Prefix of every Redis key and pub/sub channel the hub uses, so several deployments (or
    /// parallel tests) can share one Redis.
    pub redis_prefix: String,
    /// A new connection must authenticate within this time or is closed with 4001.
    pub auth_timeout_secs: u64,
    /// How often the server pings an idle connection (browsers answer pings by themselves).
    pub ping_interval_secs: u64,
    /// A connection from which nothing (not even a pong) arrives for this long is dead.
    pub receive_timeout_secs: u64,
    /// Longest a single write to a client may take before the connection is dropped.
    pub write_timeout_secs: u64,
    /// Outgoing frames queued per connection. A client that falls this far behind is closed
    /// with 4008 (slow consumer) so it never slows anyone else; it reconnects and recovers.
    pub send_queue_capacity: usize,
    /// Largest frame or message a client may send; larger ones close the connection.
    pub max_frame_bytes: usize,
    /// Initial read buffer of each connection. Small, because most connections are idle and
    /// DESIGN §11 allows under 10 KiB per idle connection; it grows for larger frames.
    pub read_buffer_bytes: usize,
    /// Channels one connection may be subscribed to at once.
    pub max_subscriptions_per_connection: usize,
    /// Sustained rate of client frames allowed per connection.
    pub client_frames_per_second: u32,
    /// Client frames allowed in a burst above the sustained rate. Frames beyond it get a
    /// `rate_limited` error; a client that keeps going after that many is closed with 4029.
    pub client_frame_burst: u32,
    /// `refresh_required` is sent this long before the connection's access token expires.
    pub refresh_before_expiry_secs: u64,
    /// Events kept per channel for recovery (`subscribe` with `since`); older ones are trimmed.
    pub history_size: usize,
    /// A channel's history expires this long after its last event.
    pub history_ttl_secs: u64,
    /// A channel's position (offset counter and epoch) outlives its history by this much, so a
    /// quiet channel keeps its epoch and clients learn precisely when history was lost.
    pub history_meta_ttl_secs: u64,
    /// Presence entries not refreshed for this long (their node died) expire and are announced
    /// as left by the surviving nodes.
    pub presence_ttl_secs: u64,
    /// How long a conversation's participants are cached before being looked up again.
    /// Membership changes invalidate the cache at once through the broker.
    pub conversation_cache_ttl_secs: u64,
    /// On shutdown, how long connections get to receive their 4500 close before the hub stops
    /// waiting for them.
    pub shutdown_grace_secs: u64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            redis_prefix: "qivr".into(),
            auth_timeout_secs: 10,
            ping_interval_secs: 25,
            receive_timeout_secs: 60,
            write_timeout_secs: 10,
            send_queue_capacity: 256,
            max_frame_bytes: 16 * 1024,
            read_buffer_bytes: 1024,
            max_subscriptions_per_connection: 128,
            client_frames_per_second: 20,
            client_frame_burst: 50,
            refresh_before_expiry_secs: 60,
            history_size: 256,
            history_ttl_secs: 3600,
            history_meta_ttl_secs: 7 * 24 * 3600,
            presence_ttl_secs: 30,
            conversation_cache_ttl_secs: 300,
            shutdown_grace_secs: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            redis_url: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from(".qivr"),
            web_dir: PathBuf::from("web"),
            log_json: false,
            allowed_origins: Vec::new(),
            auth: AuthConfig::default(),
            ses_endpoint: None,
            email: EmailConfig::default(),
            realtime: RealtimeConfig::default(),
            storage: None,
            documents: DocumentsConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "qivr".into(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            idle_timeout_secs: 30 * 60,
            max_failed_logins: 5,
            lockout_secs: 15 * 60,
            login_attempts_per_minute: 30,
            refresh_reuse_grace_secs: 30,
        }
    }
}

impl Config {
    /// Reads the configuration from `qivr.toml` and the environment.
    pub fn load() -> Result<Self, figment::Error> {
        let file = std::env::var("QIVR_CONFIG").unwrap_or_else(|_| "qivr.toml".into());
        Figment::new()
            .merge(Toml::file(file))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL", "SES_ENDPOINT", "STORAGE"]).lowercase(true))
            .merge(Env::prefixed("QIVR_").ignore(&["CONFIG"]).split("__"))
            .extract()
    }

    /// The URL people open in a browser.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_defaults_and_nested_fields_use_double_underscores() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("QIVR_ADDR", "0.0.0.0:9000");
            jail.set_env("QIVR_AUTH__IDLE_TIMEOUT_SECS", "60");
            jail.set_env("REDIS_URL", "redis://example:6379");
            let config = Config::load()?;
            assert_eq!(config.addr.port(), 9000);
            assert_eq!(config.auth.idle_timeout_secs, 60);
            assert_eq!(config.auth.access_ttl_secs, 900);
            assert_eq!(config.redis_url.as_deref(), Some("redis://example:6379"));
            Ok(())
        });
    }

    #[test]
    fn qivr_toml_is_read_and_the_environment_wins_over_it() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("qivr.toml", "addr = \"127.0.0.1:7000\"\n[auth]\nlockout_secs = 5\n")?;
            jail.set_env("QIVR_AUTH__LOCKOUT_SECS", "7");
            let config = Config::load()?;
            assert_eq!(config.addr.port(), 7000);
            assert_eq!(config.auth.lockout_secs, 7);
            Ok(())
        });
    }
}
