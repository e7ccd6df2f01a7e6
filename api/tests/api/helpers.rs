//! `spawn_app()` and the small client the tests drive it with.

use qivr_api::app::{Application, Roles};
use qivr_shared::db::testing::TestDatabase;
use qivr_shared::Config;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

pub const PASSWORD: &str = "qivr-demo-password";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    /// The pool the server uses (as the RLS-bound application role).
    pub pool: PgPool,
    /// A pool as the database owner, for arranging and inspecting state behind the API.
    pub owner: PgPool,
    /// Where this app's local document storage keeps files (removed with the app).
    pub files: FilesDir,
    /// Dropped with the app: the database goes away when the test ends.
    _database: TestDatabase,
}

/// A per-test directory for stored documents, removed when the test ends.
pub struct FilesDir(pub std::path::PathBuf);

impl FilesDir {
    /// Every file stored under it, at any depth.
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        files_below(&self.0)
    }
}

/// Every file below `dir`, at any depth.
pub fn files_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

impl Drop for FilesDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts Qivr on a random port against a fresh database, with the demo clinics.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::create().await;
    let db = &database.database;
    let owner = db.owner_pool().await.expect("owner pool");
    qivr_api::provision::seed_demo(&owner).await.expect("demo seed");
    let pool = db.app_pool(8).await.expect("app pool");
    let mut config = Config { addr: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.web_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../web").into();
    let files = FilesDir(std::env::temp_dir().join(format!("qivr-test-files-{}", uuid::Uuid::new_v4())));
    config.storage = Some(files.0.display().to_string());
    configure(&mut config);
    let app = Application::build(config, pool.clone(), Roles::ALL).await.expect("application builds");
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run(std::future::pending()));
    TestApp { url, client: reqwest::Client::new(), pool, owner, files, _database: database }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user: Value,
}

impl Session {
    pub fn id(&self) -> &str {
        self.user["id"].as_str().unwrap()
    }
}

pub struct Response {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// Reads a response; a body that is not JSON is kept as a string.
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Response { status, content_type, headers, body }
    }

    /// The field names of a problem's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().map(|e| e["field"].as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["status"], status);
    }
}

impl TestApp {
    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Response::read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Uploads a document for a patient as `multipart/form-data` with one `file` part.
    pub async fn upload(&self, patient_id: &str, token: &str, file_name: &str, mime: &str, bytes: Vec<u8>) -> Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()).mime_str(mime).unwrap();
        let form = reqwest::multipart::Form::new().part("file", part).text("category", "referral");
        let response = self
            .client
            .post(format!("{}/api/v1/patients/{patient_id}/documents", self.url))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload sent");
        Response::read(response).await
    }

    /// Downloads raw bytes (a document's content), with the response headers.
    pub async fn download(&self, path: &str, token: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self.client.get(format!("{}{path}", self.url)).bearer_auth(token).send().await.expect("download sent");
        (response.status(), response.headers().clone(), response.bytes().await.unwrap().to_vec())
    }

    /// How many access audit entries of `action` exist for a patient.
    pub async fn audited(&self, action: &str, patient_id: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM access_audit WHERE action = $1 AND patient_id = $2::uuid")
            .bind(action)
            .bind(patient_id)
            .fetch_one(&self.owner)
            .await
            .unwrap()
    }

    pub async fn try_login(&self, tenant: &str, email: &str, password: &str) -> Response {
        let body = json!({ "tenant": tenant, "email": email, "password": password });
        self.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await
    }

    /// Signs in a demo user, e.g. `login("harbour-physio", "staff")`.
    pub async fn login(&self, tenant: &str, local: &str) -> Session {
        let response = self.try_login(tenant, &format!("{local}@{tenant}.test"), PASSWORD).await;
        assert_eq!(response.status, StatusCode::OK, "login failed: {}", response.body);
        session(&response)
    }

    /// The id of a demo patient (`n` from 1 to 5) of a clinic, as its staff see it.
    pub async fn patient_id(&self, tenant: &str, n: usize) -> String {
        // language=PostgreSQL
        sqlx::query_scalar::<_, uuid::Uuid>(
            "SELECT p.id FROM patients p JOIN tenants t ON t.id = p.tenant_id WHERE t.slug = $1 AND p.email = $2",
        )
        .bind(tenant)
        .bind(format!("patient{n}@{tenant}.test"))
        .fetch_one(&self.owner)
        .await
        .expect("demo patient")
        .to_string()
    }

    pub async fn tenant_id(&self, slug: &str) -> uuid::Uuid {
        sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1").bind(slug).fetch_one(&self.owner).await.unwrap()
    }
}

pub fn session(response: &Response) -> Session {
    Session {
        access: response.body["access_token"].as_str().expect("access_token").to_string(),
        refresh: response.body["refresh_token"].as_str().expect("refresh_token").to_string(),
        user: response.body["user"].clone(),
    }
}


/// A WebSocket client of the hub, authenticated as a user.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
}

impl TestApp {
    pub async fn socket(&self, token: &str) -> Socket {
        let url = format!("{}/ws", self.url.replacen("http", "ws", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        let mut socket = Socket { stream, next_id: 1 };
        let connected = socket.request(json!({ "op": "auth", "token": token })).await;
        assert_eq!(connected["op"], "connected", "{connected}");
        socket
    }
}

impl Socket {
    /// Sends a request frame (with a fresh `id`) and returns the reply that echoes it.
    pub async fn request(&mut self, mut frame: Value) -> Value {
        use futures::SinkExt;
        let id = self.next_id;
        self.next_id += 1;
        frame["id"] = json!(id);
        self.stream.send(tokio_tungstenite::tungstenite::Message::text(frame.to_string())).await.expect("frame sent");
        loop {
            let reply = self.next().await;
            if reply["id"] == json!(id) {
                return reply;
            }
        }
    }

    /// Subscribes to `channel`, asserting the hub accepted.
    pub async fn subscribe(&mut self, channel: &str) {
        let reply = self.request(json!({ "op": "subscribe", "channel": channel })).await;
        assert_eq!(reply["op"], "subscribed", "{reply}");
    }

    /// The next frame, failing the test if none arrives within 10 seconds.
    pub async fn next(&mut self) -> Value {
        use futures::StreamExt;
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("a frame within 10 s")
                .expect("the socket is open")
                .expect("a valid frame");
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                return serde_json::from_str(&text).expect("JSON frames");
            }
        }
    }

    /// The next `event` frame's `event` (skipping presence and other frames).
    pub async fn next_event(&mut self) -> Value {
        loop {
            let frame = self.next().await;
            if frame["op"] == "event" {
                return frame["event"].clone();
            }
        }
    }

    /// Whether an event arrives within `millis` (for asserting nothing more comes).
    pub async fn event_within(&mut self, millis: u64) -> Option<Value> {
        tokio::time::timeout(std::time::Duration::from_millis(millis), self.next_event()).await.ok()
    }
}

impl Socket {
    /// Waits for the server to close the socket and returns the close code.
    pub async fn close_code(&mut self) -> u16 {
        use futures::StreamExt;
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("the socket closes within 10 s");
            match message {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(_)) => continue,
                other => panic!("closed without a close frame: {other:?}"),
            }
        }
    }
}
