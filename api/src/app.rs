//! Building the HTTP application: state, router, middleware, and the listener.
//!
//! [`Application::build`] binds its listener before returning, so tests can ask for port 0
//! and read the real port from [`Application::local_addr`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{middleware, Router};
use prometheus_client::registry::Registry;
use qivr_realtime::{Hub, Publisher};
use qivr_shared::auth::Authenticator;
use qivr_shared::{Config, Problem};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::events::Events;
use crate::routes::auth::LoginThrottle;
use crate::routes::conversations::DatabaseConversations;
use crate::state::{App, AppState};
use crate::{metrics, routes, web};

/// Largest request body we read (JSON bodies; document uploads stream with their own limit).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a request may take to be answered, and (for document uploads, which may take longer
/// as a whole) how long an upload may go without sending anything.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Which parts of Qivr this process runs (`qivr serve --roles`).
#[derive(Debug, Clone, Copy)]
pub struct Roles {
    /// The REST API and the web apps.
    pub api: bool,
    /// The WebSocket hub at `/ws`.
    pub realtime: bool,
    /// Background work: the outbox relay, email delivery, unread-message notifications.
    pub workers: bool,
}

impl Roles {
    pub const ALL: Roles = Roles { api: true, realtime: true, workers: true };
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    hub: Option<Hub>,
    /// Stops the background work (outbox relay, email) on shutdown.
    stop_background: CancellationToken,
    background: Vec<JoinHandle<()>>,
}

impl Application {
    /// Loads the signing keys, connects the realtime broker, builds the router for `roles`
    /// and binds `config.addr`.
    pub async fn build(config: Config, pool: PgPool, roles: Roles) -> anyhow::Result<Self> {
        let auth = Arc::new(Authenticator::new(pool.clone(), config.auth.clone()).await?);
        let redis = config.redis_url.as_deref().map(redis::Client::open).transpose()?;
        let broker = qivr_realtime::broker::from_config(&config).await?;
        let mut registry = Registry::default();
        let hub = roles.realtime.then(|| Hub::new(&config, auth.clone(), broker.clone(), Arc::new(DatabaseConversations { pool: pool.clone() }), &mut registry));
        let publisher = match &hub {
            Some(hub) => hub.publisher(),
            None => Publisher::new(broker.clone()),
        };
        let stop_background = CancellationToken::new();
        let mut background = Vec::new();
        if roles.workers {
            let mailer = qivr_workers::email::Mailer::from_config(&config).await;
            background.push(tokio::spawn(qivr_workers::relay::run(pool.clone(), publisher.clone(), stop_background.clone())));
            background.push(tokio::spawn(qivr_workers::email::run(pool.clone(), mailer, stop_background.clone())));
            background.push(tokio::spawn(qivr_workers::appointments::run(pool.clone(), stop_background.clone())));
            background.push(tokio::spawn(qivr_workers::notifications::run(
                pool.clone(),
                broker.clone(),
                config.clone(),
                stop_background.clone(),
            )));
            background.push(tokio::spawn(qivr_workers::prom_reminders::run(pool.clone(), config.clone(), stop_background.clone())));
        }
        let storage = crate::storage::Storage::from_config(&config)?;
        tracing::info!(storage = %storage.description, "document storage");
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let state = AppState(Arc::new(App {
            login_throttle: LoginThrottle::per_minute(config.auth.login_attempts_per_minute),
            metrics: metrics::HttpMetrics::new(registry),
            events: Events::new(publisher.clone(), pool.clone()),
            realtime: publisher,
            config,
            pool,
            auth,
            storage,
            redis,
        }));
        let mut router = if roles.api { router(state.clone()) } else { health_router(state.clone()) };
        if let Some(hub) = &hub {
            router = router.merge(qivr_realtime::router(hub.clone()));
        }
        Ok(Self { listener, router, hub, stop_background, background })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes. Then WebSocket clients are closed with 4500 (they
    /// reconnect elsewhere and recover), in-flight requests finish, and the relay stops.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let hub = self.hub;
        let signal = async move {
            shutdown.await;
            if let Some(hub) = hub {
                hub.shutdown().await;
            }
        };
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(signal).await;
        self.stop_background.cancel();
        for task in self.background {
            let _ = task.await;
        }
        served
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Qivr API", description = "The Qivr clinic platform's REST API. Errors are RFC 9457 problem details."),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "users"), (name = "patients"), (name = "evaluations"), (name = "appointments"), (name = "messaging"), (name = "records"), (name = "audit"), (name = "identity"), (name = "mailbox"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The whole HTTP surface: `/api/v1`, the OpenAPI document and UI, health, metrics, JWKS and
/// the web apps.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes::api())
        .split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");

    Router::new()
        .merge(api)
        .route("/.well-known/jwks.json", get(routes::auth::jwks))
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(metrics::serve))
        .route_layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .route("/", get(|| async { Redirect::temporary("/clinic/") }))
        .merge(web::router(&state.config.web_dir))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(answer_in_time))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "an unexpected error occurred; it has been logged".to_string())
                .into_response()
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path(),
                    request.id = %request_id, tenant.id = tracing::field::Empty, user.id = tracing::field::Empty)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// What a process without the API role serves: health and metrics only.
fn health_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(metrics::serve))
        .fallback(not_found)
        .with_state(state)
}

/// Answers 408 to a request not answered within [`REQUEST_TIMEOUT`]. Document uploads stream
/// for as long as the client keeps sending (their size is capped, and each chunk must arrive in
/// time), so a large file on a slow line is not cut off.
async fn answer_in_time(request: Request<axum::body::Body>, next: middleware::Next) -> Response {
    let path = request.uri().path();
    let upload = request.method() == axum::http::Method::POST && path.starts_with("/api/v1/patients/") && path.ends_with("/documents");
    if upload {
        return next.run(request).await;
    }
    tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await.unwrap_or_else(|_| {
        Problem::new(StatusCode::REQUEST_TIMEOUT, "the request took too long to answer".to_string()).into_response()
    })
}

async fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, "no such endpoint".to_string()).into_response()
}

async fn method_not_allowed() -> Response {
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint".to_string()).into_response()
}
