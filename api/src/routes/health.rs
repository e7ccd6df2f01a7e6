//! Liveness and readiness, for orchestrators and load balancers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database (and Redis, when configured) answer.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match sqlx::query_scalar!("SELECT 1").fetch_one(&state.pool).await {
        Ok(_) => "ok".to_string(),
        Err(error) => format!("error: {error}"),
    };
    let redis = match &state.redis {
        None => "not configured".to_string(),
        Some(client) => match ping(client).await {
            Ok(()) => "ok".to_string(),
            Err(error) => format!("error: {error}"),
        },
    };
    let ready = database == "ok" && (redis == "ok" || state.redis.is_none());
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(json!({ "database": database, "redis": redis })))
}

async fn ping(client: &redis::Client) -> redis::RedisResult<()> {
    let mut conn = client.get_multiplexed_async_connection().await?;
    redis::cmd("PING").query_async::<String>(&mut conn).await.map(drop)
}
