//! The HTTP side: `GET /ws`, the Origin check, and the WebSocket buffer limits.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::connection;
use crate::hub::Hub;

/// Bytes buffered before a write goes to the socket; small, since most frames are small and
/// the buffer's capacity stays with the connection.
const WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// `GET /ws`, with the hub as its state, as a router of any outer state `S`, so it merges
/// into the application's router: `Router::new()....merge(qivr_realtime::router(hub))`.
pub fn router<S: Clone + Send + Sync + 'static>(hub: Hub) -> Router<S> {
    Router::new().route("/ws", get(upgrade)).with_state(hub)
}

async fn upgrade(State(hub): State<Hub>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if hub.0.registry.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if !origin_allowed(&headers, &hub.0.allowed_origins, &hub.0.public_origin) {
        tracing::info!(origin = ?headers.get(header::ORIGIN), "WebSocket from a foreign origin refused");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let config = &hub.0.config;
    ws.read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(config.max_frame_bytes)
        .max_frame_size(config.max_frame_bytes)
        .on_upgrade(move |socket| connection::serve(hub, socket))
}

/// Browsers always send `Origin` on WebSockets; other clients (the load generator, native
/// apps) send none and are let through. A browser page is allowed when it is the page's own
/// origin (same host as the request), the public URL, or one of the configured origins.
fn origin_allowed(headers: &HeaderMap, allowed: &[String], public_origin: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == public_origin || allowed.iter().any(|a| a == "*" || a == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| Some(authority) == host)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn same_origin_public_url_and_configured_origins_are_allowed_and_others_are_not() {
        let allowed = vec!["https://portal.example.com".to_string()];
        let public = "https://qivr.example.com";
        assert!(origin_allowed(&headers(None, "x"), &allowed, public));
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            &allowed,
            public
        ));
        assert!(origin_allowed(
            &headers(Some("https://qivr.example.com"), "internal:8080"),
            &allowed,
            public
        ));
        assert!(origin_allowed(
            &headers(Some("https://portal.example.com"), "internal:8080"),
            &allowed,
            public
        ));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example.com"), "qivr.example.com"),
            &allowed,
            public
        ));
    }
}
