//! Our signing keys: Ed25519, stored in `signing_keys` so every node signs and verifies with
//! the same set, published at `/.well-known/jwks.json`.
//!
//! Only `EdDSA` is accepted for our own tokens, which rules out `alg: none` and HMAC/RSA
//! algorithm confusion: the algorithm is fixed by us, never taken from the token header.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pkcs8::LineEnding;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{AuthError, Claims};

/// The audience of every access token we issue.
pub const AUDIENCE: &str = "qivr";

pub struct SigningKeys {
    /// The key new tokens are signed with (the newest).
    current_kid: String,
    encoding: EncodingKey,
    /// Every non-retired key, by `kid`, so tokens signed before a rotation stay valid.
    decoding: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
    issuer: String,
}

impl SigningKeys {
    /// Loads the keys, creating the first one on a fresh database.
    pub async fn load_or_create(pool: &PgPool, issuer: &str) -> anyhow::Result<Self> {
        if Self::fetch(pool).await?.is_empty() {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let pem = key.to_pkcs8_pem(LineEnding::LF)?;
            let kid = Uuid::now_v7().to_string();
            let public = key.verifying_key().to_bytes();
            // language=PostgreSQL
            sqlx::query!(
                "INSERT INTO signing_keys (kid, private_key_pem, public_key) VALUES ($1, $2, $3)",
                kid,
                pem.as_str(),
                public.as_slice(),
            )
            .execute(pool)
            .await?;
        }
        let rows = Self::fetch(pool).await?;
        let (current_kid, current_pem, _) = rows.last().expect("a key was just ensured");
        let encoding = EncodingKey::from_ed_pem(current_pem.as_bytes())?;
        let mut decoding = HashMap::new();
        let mut jwks = Vec::new();
        for (kid, _, public) in &rows {
            let x = URL_SAFE_NO_PAD.encode(public);
            decoding.insert(kid.clone(), DecodingKey::from_ed_components(&x)?);
            jwks.push(json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x}));
        }
        Ok(Self {
            current_kid: current_kid.clone(),
            encoding,
            decoding,
            jwks: json!({ "keys": jwks }),
            issuer: issuer.to_string(),
        })
    }

    async fn fetch(pool: &PgPool) -> sqlx::Result<Vec<(String, String, Vec<u8>)>> {
        // language=PostgreSQL
        let rows = sqlx::query!(
            "SELECT kid, private_key_pem, public_key FROM signing_keys
             WHERE retired_at IS NULL ORDER BY created_at, kid"
        )
        .fetch_all(pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.kid, r.private_key_pem, r.public_key)).collect())
    }

    /// The public keys as a JSON Web Key Set.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// Whether `kid` names one of our keys (otherwise the token may be an external one).
    pub fn owns(&self, kid: &str) -> bool {
        self.decoding.contains_key(kid)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn sign<T: Serialize>(&self, claims: &T) -> jsonwebtoken::errors::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Verifies one of our tokens: signature by the key its `kid` names, `EdDSA` only, our
    /// issuer and audience, not expired.
    pub fn verify(&self, token: &str, kid: &str) -> Result<Claims, AuthError> {
        let key = self.decoding.get(kid).ok_or(AuthError::Invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 5;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(jsonwebtoken::decode::<Claims>(token, key, &validation)?.claims)
    }
}
