//! A clinic's own identity provider (what Cognito user pools were): RS256 tokens shaped like
//! Cognito's, verified against a JWKS served by the test; tenant and role from our database.

use std::sync::{Arc, Mutex};

use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

const ISSUER: &str = "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_Harbour";
const CLIENT_ID: &str = "3n4b5urk1ft4fl3mg5e62d9ado";
const SUBJECT: &str = "7d8ca528-4931-4254-9273-ea5ee853f271";

fn jwk(n: u8) -> Value {
    let text = match n {
        1 => include_str!("fixtures/idp-jwk-1.json"),
        _ => include_str!("fixtures/idp-jwk-2.json"),
    };
    serde_json::from_str(text).unwrap()
}

fn sign(key: u8, kid: &str, claims: Value) -> String {
    let pem = match key {
        1 => include_str!("fixtures/idp-key-1.pem"),
        _ => include_str!("fixtures/idp-key-2.pem"),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()).unwrap()
}

/// An access token as Cognito issues them: no `aud`, the app client in `client_id`.
fn access_token_claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": SUBJECT, "iss": ISSUER, "token_use": "access", "client_id": CLIENT_ID,
        "scope": "openid email", "auth_time": now, "iat": now, "exp": now + 3600,
        "jti": "0b1c2d3e", "username": SUBJECT, "cognito:groups": ["admin"],
    })
}

/// Serves a JWKS whose keys the test can change, like a provider rotating keys.
async fn serve_jwks(keys: Arc<Mutex<Vec<Value>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let keys = keys.lock().unwrap().clone();
            async move { axum::Json(json!({ "keys": keys })) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test]
async fn tokens_from_a_clinics_registered_provider_sign_in_its_mapped_user() {
    let app = spawn_app().await;
    let keys = Arc::new(Mutex::new(vec![jwk(1)]));
    let jwks_url = serve_jwks(keys.clone()).await;

    let admin = app.login("harbour-physio", "admin").await;
    let registered = app
        .post("/api/v1/identity-providers", &admin.access, json!({ "issuer": ISSUER, "audience": CLIENT_ID, "jwks_url": jwks_url }))
        .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let staff = app.login("harbour-physio", "staff").await;
    let linked = app
        .patch(&format!("/api/v1/users/{}", staff.id()), &admin.access, json!({ "external_subject": SUBJECT }))
        .await;
    assert_eq!(linked.status, StatusCode::OK, "{}", linked.body);

    // An access token: accepted, and the role is ours (staff), not the token's groups.
    let token = sign(1, "test-key-1", access_token_claims());
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["email"], "staff@harbour-physio.test");
    assert_eq!(me.body["role"], "staff");
    assert_eq!(me.body["tenant"]["slug"], "harbour-physio");
    // Staff rights follow: the patient list opens.
    assert_eq!(app.get("/api/v1/patients", &token).await.status, StatusCode::OK);

    // An ID token: the app client is in `aud`.
    let mut id_claims = access_token_claims();
    id_claims["token_use"] = json!("id");
    id_claims["aud"] = json!(CLIENT_ID);
    id_claims.as_object_mut().unwrap().remove("client_id");
    assert_eq!(app.get("/api/v1/me", &sign(1, "test-key-1", id_claims)).await.status, StatusCode::OK);

    // The provider rotates to a new key: a token naming the unseen kid makes us refetch.
    keys.lock().unwrap().push(jwk(2));
    let rotated = sign(2, "test-key-2", access_token_claims());
    assert_eq!(app.get("/api/v1/me", &rotated).await.status, StatusCode::OK);

    let with = |field: &str, value: Value| {
        let mut claims = access_token_claims();
        claims[field] = value;
        claims
    };
    let now = chrono::Utc::now().timestamp();
    for (what, token) in [
        ("another app client", sign(1, "test-key-1", with("client_id", json!("someone-elses-client")))),
        ("an unregistered issuer", sign(1, "test-key-1", with("iss", json!("https://cognito-idp.example/other")))),
        ("an expired token", sign(1, "test-key-1", with("exp", json!(now - 600)))),
        ("a refresh-use token", sign(1, "test-key-1", with("token_use", json!("refresh")))),
        ("an unmapped subject", sign(1, "test-key-1", with("sub", json!("no-such-user")))),
        ("a signature by the wrong key", sign(2, "test-key-1", access_token_claims())),
        ("an unknown key id", sign(1, "test-key-9", access_token_claims())),
    ] {
        let response = app.get("/api/v1/me", &token).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what} was accepted");
    }

    // Removing the provider stops its tokens at once.
    let id = registered.body["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/identity-providers/{id}"), &admin.access).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn only_admins_register_providers_and_bad_ones_are_refused_by_field() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let body = json!({ "issuer": ISSUER, "audience": CLIENT_ID, "jwks_url": "https://example.test/jwks.json" });
    app.post("/api/v1/identity-providers", &staff.access, body.clone()).await.assert_problem(403);

    let admin = app.login("harbour-physio", "admin").await;
    let bad = app
        .post("/api/v1/identity-providers", &admin.access, json!({ "issuer": "", "audience": CLIENT_ID, "jwks_url": "ftp://x" }))
        .await;
    bad.assert_problem(422);
    assert_eq!(bad.fields(), ["issuer", "jwks_url"]);
    let not_a_url = app
        .post("/api/v1/identity-providers", &admin.access, json!({ "issuer": "nope", "audience": CLIENT_ID, "jwks_url": "https://example.test/jwks.json" }))
        .await;
    not_a_url.assert_problem(422);
    assert_eq!(not_a_url.fields(), ["issuer"]);

    assert_eq!(app.post("/api/v1/identity-providers", &admin.access, body.clone()).await.status, StatusCode::CREATED);
    let other_clinic = app.login("summit-health", "admin").await;
    let duplicate = app.post("/api/v1/identity-providers", &other_clinic.access, body).await;
    duplicate.assert_problem(409);
    assert_eq!(duplicate.fields(), ["issuer"]);
}
