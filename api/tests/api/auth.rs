//! Login, refresh rotation, reuse detection, logout, lockout, idle timeout, and the tokens we
//! refuse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{session, spawn_app, spawn_app_with, TestApp, PASSWORD};

async fn refresh(app: &TestApp, token: &str) -> crate::helpers::Response {
    app.request(Method::POST, "/api/v1/auth/refresh", None, Some(json!({ "refresh_token": token }))).await
}

#[tokio::test]
async fn demo_staff_log_in_and_see_who_they_are() {
    let app = spawn_app().await;
    let response = app.try_login("harbour-physio", "Staff@Harbour-Physio.test", PASSWORD).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["token_type"], "Bearer");
    assert!(response.body["expires_in"].as_u64().unwrap() > 0);
    assert_eq!(response.body["user"]["role"], "staff");
    let staff = session(&response);

    let me = app.get("/api/v1/me", &staff.access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "staff@harbour-physio.test");
    assert_eq!(me.body["tenant"]["slug"], "harbour-physio");
    assert_eq!(me.body["id"], staff.user["id"]);
}

#[tokio::test]
async fn wrong_passwords_unknown_users_and_unknown_clinics_get_the_same_401() {
    let app = spawn_app().await;
    for (tenant, email, password) in [
        ("harbour-physio", "staff@harbour-physio.test", "not-the-password"),
        ("harbour-physio", "nobody@harbour-physio.test", PASSWORD),
        ("no-such-clinic", "staff@harbour-physio.test", PASSWORD),
        ("summit-health", "staff@harbour-physio.test", PASSWORD),
    ] {
        let response = app.try_login(tenant, email, password).await;
        response.assert_problem(401);
        assert_eq!(response.body["detail"], "invalid clinic, email or password");
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_against_the_right_password() {
    let app = spawn_app_with(|config| config.auth.max_failed_logins = 3).await;
    for _ in 0..2 {
        app.try_login("harbour-physio", "staff@harbour-physio.test", "guess").await.assert_problem(401);
    }
    let locking = app.try_login("harbour-physio", "staff@harbour-physio.test", "guess").await;
    locking.assert_problem(429);
    assert!(locking.headers.contains_key("retry-after"));
    assert!(locking.body["detail"].as_str().unwrap().contains("locked"));

    let right = app.try_login("harbour-physio", "staff@harbour-physio.test", PASSWORD).await;
    right.assert_problem(429);
    // Other accounts are unaffected.
    app.login("harbour-physio", "staff2").await;

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT a.action FROM access_audit a JOIN users u ON u.id = a.actor_user_id
         WHERE u.email = 'staff@harbour-physio.test' ORDER BY a.seq",
    )
    .fetch_all(&app.owner)
    .await
    .unwrap();
    assert_eq!(actions, ["auth.login_failed", "auth.login_failed", "auth.login_failed", "auth.lockout", "auth.login_locked"]);
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_throttled() {
    let app = spawn_app_with(|config| config.auth.login_attempts_per_minute = 3).await;
    for n in 1..=3 {
        app.try_login("harbour-physio", &format!("patient{n}@harbour-physio.test"), "guess").await.assert_problem(401);
    }
    let throttled = app.try_login("harbour-physio", "patient4@harbour-physio.test", PASSWORD).await;
    throttled.assert_problem(429);
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let first = app.login("harbour-physio", "staff").await;

    let rotated = refresh(&app, &first.refresh).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second = session(&rotated);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(app.get("/api/v1/me", &second.access).await.status, StatusCode::OK);

    // Someone replays the first (already rotated) refresh token after the grace window.
    sqlx::query("UPDATE refresh_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL")
        .execute(&app.owner)
        .await
        .unwrap();
    let replay = refresh(&app, &first.refresh).await;
    replay.assert_problem(401);
    assert!(replay.body["detail"].as_str().unwrap().contains("revoked"));

    // The whole family is gone: the newest refresh token and the session's access tokens too.
    refresh(&app, &second.refresh).await.assert_problem(401);
    app.get("/api/v1/me", &second.access).await.assert_problem(401);
    app.get("/api/v1/me", &first.access).await.assert_problem(401);
    // Another login of the same user is unaffected.
    let other = app.login("harbour-physio", "staff").await;
    assert_eq!(app.get("/api/v1/me", &other.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_retried_within_the_grace_window_rotates_again_instead_of_revoking() {
    // A browser navigated away while its refresh was in flight: it never saw the response and
    // retries with the token it still has.
    let app = spawn_app().await;
    let first = app.login("harbour-physio", "patient1").await;
    let used_at = || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>("SELECT used_at FROM refresh_tokens WHERE used_at IS NOT NULL")
            .fetch_all(&app.owner)
            .await
            .unwrap()
    };
    let lost = session(&refresh(&app, &first.refresh).await);
    let rotated_at = used_at().await;

    let retried = refresh(&app, &first.refresh).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    let retried = session(&retried);
    assert_eq!(app.get("/api/v1/me", &retried.access).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", &lost.access).await.status, StatusCode::OK);
    // The retry keeps the first rotation's time, so retrying never extends the window.
    assert_eq!(used_at().await, rotated_at);
    assert_eq!(refresh(&app, &retried.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session_for_access_and_refresh_tokens() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let response = app.request(Method::POST, "/api/v1/auth/logout", Some(&staff.access), None).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/me", &staff.access).await.assert_problem(401);
    refresh(&app, &staff.refresh).await.assert_problem(401);
}

#[tokio::test]
async fn a_session_idle_past_the_timeout_needs_the_password_again() {
    let app = spawn_app_with(|config| config.auth.idle_timeout_secs = 600).await;
    let staff = app.login("harbour-physio", "staff").await;
    assert_eq!(app.get("/api/v1/me", &staff.access).await.status, StatusCode::OK);

    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '11 minutes'").execute(&app.owner).await.unwrap();
    let idle = app.get("/api/v1/me", &staff.access).await;
    idle.assert_problem(401);
    assert!(idle.body["detail"].as_str().unwrap().contains("sign in again"));
    refresh(&app, &staff.refresh).await.assert_problem(401);
}

#[tokio::test]
async fn activity_keeps_a_session_alive() {
    let app = spawn_app_with(|config| config.auth.idle_timeout_secs = 600).await;
    let staff = app.login("harbour-physio", "staff").await;
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '9 minutes'").execute(&app.owner).await.unwrap();
    assert_eq!(app.get("/api/v1/me", &staff.access).await.status, StatusCode::OK);
    let last_seen_recently: bool = sqlx::query_scalar("SELECT bool_and(last_seen_at > now() - interval '1 minute') FROM sessions")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(last_seen_recently);
}

#[tokio::test]
async fn requests_close_together_do_not_rewrite_the_session() {
    let app = spawn_app_with(|config| config.auth.idle_timeout_secs = 600).await;
    let staff = app.login("harbour-physio", "staff").await;
    sqlx::query("UPDATE sessions SET last_seen_at = now() - interval '10 seconds'").execute(&app.owner).await.unwrap();
    assert_eq!(app.get("/api/v1/me", &staff.access).await.status, StatusCode::OK);
    let untouched: bool = sqlx::query_scalar("SELECT bool_and(last_seen_at < now() - interval '9 seconds') FROM sessions")
        .fetch_one(&app.owner)
        .await
        .unwrap();
    assert!(untouched, "seen 10 s ago is recent enough: no write");
}

#[tokio::test]
async fn the_jwks_publishes_our_ed25519_key() {
    let app = spawn_app().await;
    let jwks = app.request(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    let key = &jwks.body["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key.get("d").is_none(), "the private part must never be published");

    let staff = app.login("harbour-physio", "staff").await;
    let header = jsonwebtoken::decode_header(&staff.access).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
}

/// The claims of a valid token of `session`, for forging variants of it.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// Signs `claims` with our real private key (read from the database), so only the claim under
/// test is wrong.
async fn sign_with_our_key(app: &TestApp, kid: &str, claims: &Value) -> String {
    let pem: String = sqlx::query_scalar("SELECT private_key_pem FROM signing_keys WHERE kid = $1")
        .bind(kid)
        .fetch_one(&app.owner)
        .await
        .unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap()).unwrap()
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_get_401() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let kid = kid_of(&staff.access);
    let claims = claims_of(&staff.access);

    // Control: our key and unchanged claims are accepted, so the refusals below are about
    // the one thing each changes.
    let control = sign_with_our_key(&app, &kid, &claims).await;
    assert_eq!(app.get("/api/v1/me", &control).await.status, StatusCode::OK);

    let with = |field: &str, value: Value| {
        let mut changed = claims.clone();
        changed[field] = value;
        changed
    };
    let now = chrono::Utc::now().timestamp();
    for (what, forged) in [
        ("wrong issuer", sign_with_our_key(&app, &kid, &with("iss", json!("https://evil.example"))).await),
        ("wrong audience", sign_with_our_key(&app, &kid, &with("aud", json!("someone-else"))).await),
        ("expired", sign_with_our_key(&app, &kid, &with("exp", json!(now - 3600))).await),
        ("another tenant", sign_with_our_key(&app, &kid, &with("tid", json!(app.tenant_id("summit-health").await))).await),
    ] {
        let response = app.get("/api/v1/me", &forged).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what} was accepted");
        response.assert_problem(401);
    }

    // alg: none, with our kid.
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": kid }).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    app.get("/api/v1/me", &format!("{header}.{body}.")).await.assert_problem(401);

    // A valid-looking signature by another Ed25519 key under our kid.
    let other = foreign_ed25519_pem();
    let mut ed_header = Header::new(Algorithm::EdDSA);
    ed_header.kid = Some(kid.clone());
    let forged = jsonwebtoken::encode(&ed_header, &claims, &EncodingKey::from_ed_pem(other.as_bytes()).unwrap()).unwrap();
    app.get("/api/v1/me", &forged).await.assert_problem(401);

    // Algorithm confusion: HMAC keyed with our public key.
    let jwks = app.request(Method::GET, "/.well-known/jwks.json", None, None).await;
    let public = jwks.body["keys"][0]["x"].as_str().unwrap().to_string();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let confused = jsonwebtoken::encode(&hs_header, &claims, &EncodingKey::from_secret(public.as_bytes())).unwrap();
    app.get("/api/v1/me", &confused).await.assert_problem(401);

    // A tampered payload under the original signature.
    let parts: Vec<&str> = staff.access.split('.').collect();
    let tampered = URL_SAFE_NO_PAD.encode(with("role", json!("admin")).to_string());
    app.get("/api/v1/me", &format!("{}.{tampered}.{}", parts[0], parts[2])).await.assert_problem(401);

    // Garbage and missing tokens.
    app.get("/api/v1/me", "not-a-jwt").await.assert_problem(401);
    let missing = app.request(Method::GET, "/api/v1/me", None, None).await;
    missing.assert_problem(401);
    assert_eq!(missing.headers["www-authenticate"], "Bearer");
}

/// A fixed Ed25519 key that is not the server's (PKCS#8 PEM, generated with openssl).
fn foreign_ed25519_pem() -> String {
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEII2HYoRrCtvgj9MNDZ4C+SSsFBdpDIuofDLbFH5dV1n/\n-----END PRIVATE KEY-----\n".into()
}

#[tokio::test]
async fn a_client_with_an_expired_access_token_logs_out_with_its_refresh_token() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let response = app.request(Method::POST, "/api/v1/auth/logout", None, Some(json!({ "refresh_token": staff.refresh }))).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/me", &staff.access).await.assert_problem(401);
    refresh(&app, &staff.refresh).await.assert_problem(401);
    // Logging out again, or with nothing, is harmless.
    let again = app.request(Method::POST, "/api/v1/auth/logout", None, Some(json!({ "refresh_token": staff.refresh }))).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    assert_eq!(app.request(Method::POST, "/api/v1/auth/logout", None, None).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn logging_out_or_being_disabled_closes_open_websockets() {
    let app = spawn_app().await;
    let staff = app.login("harbour-physio", "staff").await;
    let mut socket = app.socket(&staff.access).await;
    let other_session = app.login("harbour-physio", "staff").await;
    let mut other_socket = app.socket(&other_session.access).await;

    app.request(Method::POST, "/api/v1/auth/logout", Some(&staff.access), None).await;
    assert_eq!(socket.close_code().await, 4001);
    // Only that session: the same user's other login stays connected.
    other_socket.subscribe("evaluations").await;

    let admin = app.login("harbour-physio", "admin").await;
    app.patch(&format!("/api/v1/users/{}", staff.id()), &admin.access, json!({ "disabled": true })).await;
    assert_eq!(other_socket.close_code().await, 4001);
}
