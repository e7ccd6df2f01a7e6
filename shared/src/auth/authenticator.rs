//! The one place a bearer token becomes a [`Principal`], for the API and the hub alike.
//!
//! Our own tokens (recognised by a `kid` of ours) are verified with our keys, and their
//! session must still be live: not logged out, not revoked by refresh-token reuse, not idle
//! past `idle_timeout_secs` (each use moves the idle clock on). Any other token is looked up
//! by its issuer among the tenants' registered identity providers and verified against that
//! provider's JWKS; its `sub` must map to a user's `external_subject` in that tenant.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::external::{ExternalVerifier, IdentityProvider};
use super::keys::{SigningKeys, AUDIENCE};
use super::{AuthError, Claims, Principal, Role};
use crate::config::AuthConfig;
use crate::tenancy;

pub struct Authenticator {
    pool: PgPool,
    keys: SigningKeys,
    external: ExternalVerifier,
    config: AuthConfig,
}

/// A freshly issued access token.
pub struct AccessToken {
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub expires_at: i64,
}

impl Authenticator {
    pub async fn new(pool: PgPool, config: AuthConfig) -> anyhow::Result<Self> {
        let keys = SigningKeys::load_or_create(&pool, &config.issuer).await?;
        Ok(Self { pool, keys, external: ExternalVerifier::default(), config })
    }

    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// Signs an access token for a user's session.
    pub fn issue(&self, user_id: Uuid, tenant_id: Uuid, role: Role, session_id: Uuid) -> anyhow::Result<AccessToken> {
        let now = chrono::Utc::now().timestamp();
        let expires_at = now + self.config.access_ttl_secs as i64;
        let claims = Claims {
            sub: user_id,
            tid: tenant_id,
            role,
            sid: session_id,
            iss: self.keys.issuer().to_string(),
            aud: AUDIENCE.to_string(),
            exp: expires_at,
            iat: now,
            jti: Uuid::new_v4(),
        };
        Ok(AccessToken { token: self.keys.sign(&claims)?, expires_in: self.config.access_ttl_secs, expires_at })
    }

    /// Verifies `token` and loads its user.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        if self.keys.owns(&kid) {
            let claims = self.keys.verify(token, &kid)?;
            self.load_session_user(&claims).await
        } else {
            self.authenticate_external(token, &kid).await
        }
    }

    async fn load_session_user(&self, claims: &Claims) -> Result<Principal, AuthError> {
        let mut tx = tenancy::begin(&self.pool, claims.tid, Some(claims.sub)).await?;
        // The session must be live and not idle. Its `last_seen_at` is moved on only when it
        // is older than a tenth of the idle timeout (at most a minute): rewriting it on every
        // request made each request a write transaction with its own WAL flush, the largest
        // cost of a message send under load, for no gain in how idleness is judged.
        // language=PostgreSQL
        let user = sqlx::query!(
            r#"WITH live AS (
                   SELECT id, user_id, last_seen_at FROM sessions
                   WHERE tenant_id = $1 AND id = $2 AND user_id = $3
                     AND revoked_at IS NULL AND expires_at > now()
                     AND last_seen_at > now() - make_interval(secs => $4)),
               touched AS (
                   UPDATE sessions SET last_seen_at = now()
                   WHERE tenant_id = $1 AND id = (SELECT id FROM live WHERE last_seen_at < now() - make_interval(secs => $5)))
               SELECT u.id, u.role AS "role: Role", u.name, u.email
               FROM users u JOIN live ON live.user_id = u.id
               WHERE u.tenant_id = $1 AND u.deleted_at IS NULL AND u.disabled_at IS NULL"#,
            claims.tid,
            claims.sid,
            claims.sub,
            self.config.idle_timeout_secs as f64,
            (self.config.idle_timeout_secs as f64 / 10.0).min(60.0),
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::SessionEnded)?;
        tx.commit().await?;
        Ok(Principal {
            user_id: user.id,
            tenant_id: claims.tid,
            role: user.role,
            name: user.name,
            email: user.email,
            session_id: Some(claims.sid),
            expires_at: claims.exp,
        })
    }

    async fn authenticate_external(&self, token: &str, kid: &str) -> Result<Principal, AuthError> {
        let issuer = unverified_issuer(token).ok_or(AuthError::Invalid)?;
        // language=PostgreSQL
        let provider = sqlx::query_as!(
            IdentityProvider,
            r#"SELECT tenant_id AS "tenant_id!", issuer AS "issuer!", audience AS "audience!",
                      jwks_url AS "jwks_url!"
               FROM identity_provider_for_issuer($1)"#,
            issuer
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AuthError::Invalid)?;
        let claims = self.external.verify(token, kid, &provider).await?;

        let mut tx = tenancy::begin(&self.pool, provider.tenant_id, None).await?;
        // language=PostgreSQL
        let user = sqlx::query!(
            r#"SELECT id, role AS "role: Role", name, email FROM users
               WHERE tenant_id = $1 AND external_subject = $2
                 AND deleted_at IS NULL AND disabled_at IS NULL"#,
            provider.tenant_id,
            claims.sub,
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AuthError::Invalid)?;
        tx.commit().await?;
        Ok(Principal {
            user_id: user.id,
            tenant_id: provider.tenant_id,
            role: user.role,
            name: user.name,
            email: user.email,
            session_id: None,
            expires_at: claims.exp,
        })
    }
}

/// The `iss` claim read without verification, only to find which provider must verify it.
fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok().map(|claims| claims.iss)
}
