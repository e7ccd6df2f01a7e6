//! External identity: a tenant may register its own OpenID provider (what Cognito user pools
//! were) with an issuer, an audience (the app client id) and a JWKS URL.
//!
//! Tokens from that issuer are verified against its published keys. The key sets are cached
//! per URL and fetched again when a token names a `kid` we have not seen (key rotation). Such
//! refetches happen at most once every [`REFETCH_INTERVAL`] per provider, so a flood of tokens
//! with made-up `kid`s cannot make us hammer the provider. The token only proves *who*;
//! tenant and role come from our database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use dashmap::DashMap;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use uuid::Uuid;

use super::AuthError;

const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// A tenant's registered provider, as found by the token's issuer.
#[derive(Debug, Clone)]
pub struct IdentityProvider {
    pub tenant_id: Uuid,
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
}

/// The claims we read from an external token. Cognito ID tokens carry the app client in
/// `aud`; its access tokens carry it in `client_id` and say which they are in `token_use`.
#[derive(Debug, Deserialize)]
pub struct ExternalClaims {
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub aud: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub token_use: Option<String>,
}

struct CachedKeys {
    set: Arc<JwkSet>,
    /// When a token with an unknown `kid` last made us refetch.
    last_miss_refetch: Option<Instant>,
}

/// Verifies external tokens; cheap to clone and share.
#[derive(Clone, Default)]
pub struct ExternalVerifier {
    http: reqwest::Client,
    keys: Arc<DashMap<String, CachedKeys>>,
}

impl ExternalVerifier {
    /// Verifies `token` as issued by `provider`: signature by a key of its JWKS (RS256 or
    /// ES256, as the key says), issuer, expiry, and audience or client id.
    pub async fn verify(
        &self,
        token: &str,
        kid: &str,
        provider: &IdentityProvider,
    ) -> Result<ExternalClaims, AuthError> {
        let set = self.key_set(&provider.jwks_url, kid).await?;
        let jwk = set.find(kid).ok_or(AuthError::Invalid)?;
        let algorithm = match jwk.common.key_algorithm.map(|a| a.to_string()).as_deref() {
            None | Some("RS256") => Algorithm::RS256,
            Some("ES256") => Algorithm::ES256,
            Some(_) => return Err(AuthError::Invalid),
        };
        let key = DecodingKey::from_jwk(jwk)?;
        let mut validation = Validation::new(algorithm);
        validation.leeway = 5;
        validation.set_issuer(&[&provider.issuer]);
        validation.validate_aud = false; // checked below: `aud` or `client_id`
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation)?.claims;

        if let Some(token_use) = &claims.token_use {
            if token_use != "id" && token_use != "access" {
                return Err(AuthError::Invalid);
            }
        }
        let audience = Some(provider.audience.as_str());
        if claims.aud.as_deref() != audience && claims.client_id.as_deref() != audience {
            return Err(AuthError::Invalid);
        }
        Ok(claims)
    }

    /// The provider's key set, refetched when it lacks `kid` and the last fetch is not too
    /// recent.
    async fn key_set(&self, url: &str, kid: &str) -> Result<Arc<JwkSet>, AuthError> {
        let mut miss = false;
        if let Some(cached) = self.keys.get(url) {
            let refetched_recently = cached.last_miss_refetch.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL);
            if cached.set.find(kid).is_some() || refetched_recently {
                return Ok(cached.set.clone());
            }
            miss = true;
        }
        let set: JwkSet = async {
            self.http
                .get(url)
                .timeout(Duration::from_secs(5))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await
        }
        .await
        .with_context(|| format!("fetching JWKS from {url}"))
        .map_err(AuthError::ProviderUnavailable)?;
        let set = Arc::new(set);
        let last_miss_refetch = miss.then(Instant::now);
        self.keys.insert(url.to_string(), CachedKeys { set: set.clone(), last_miss_refetch });
        Ok(set)
    }
}
