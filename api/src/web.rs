//! Serving the built web apps: the clinic dashboard at `/clinic/`, the patient portal at
//! `/portal/`. Unknown paths inside an app get its `index.html`, so client-side routes survive
//! a reload. When an app has not been built, its path says how to build it.
//!
//! Vite fingerprints everything under `assets/`, so those files are cached for a year; the
//! `index.html` that names them is revalidated on every load, so a deploy shows at once.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;

const APPS: [(&str, &str); 2] = [("/clinic", "clinic-dashboard"), ("/portal", "patient-portal")];

pub fn router(web_dir: &Path) -> Router<AppState> {
    let apps = APPS.iter().fold(Router::new(), |router, (mount, app)| {
        let dist = web_dir.join(app).join("dist");
        if dist.join("index.html").is_file() {
            let spa = ServeDir::new(&dist).fallback(ServeFile::new(dist.join("index.html")));
            router.nest_service(mount, spa)
        } else {
            let page = format!(
                "<!doctype html><title>Qivr</title><h1>{app} is not built</h1>\
                 <p>Run <code>npm --prefix web ci &amp;&amp; npm --prefix web run build</code> and restart Qivr.</p>"
            );
            let handler = move || {
                let page = page.clone();
                async move { (StatusCode::SERVICE_UNAVAILABLE, Html(page)) }
            };
            router.route(&format!("{mount}/"), get(handler.clone())).route(&format!("{mount}/{{*rest}}"), get(handler))
        }
    });
    apps.layer(middleware::from_fn(cache_control))
}

async fn cache_control(request: Request, next: Next) -> Response {
    let fingerprinted = request.uri().path().split('/').nth(2) == Some("assets");
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if fingerprinted { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}
