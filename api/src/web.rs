//! Serving the built web apps: the clinic dashboard at `/clinic/`, the patient portal at
//! `/portal/`. Unknown paths inside an app get its `index.html`, so client-side routes survive
//! a reload. When an app has not been built, its path says how to build it.

use std::path::Path;

use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;

const APPS: [(&str, &str); 2] = [("/clinic", "clinic-dashboard"), ("/portal", "patient-portal")];

pub fn router(web_dir: &Path) -> Router<AppState> {
    APPS.iter().fold(Router::new(), |router, (mount, app)| {
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
    })
}
