//! Patient documents: upload, list, download and (soft) delete.
//!
//! Staff may upload for any patient of their clinic; a patient for themselves only (anything
//! else is a 404, as for every patient resource). Uploads are `multipart/form-data` with a
//! `file` part and optional `category` and `description` parts. The file streams through to
//! [`Storage`](crate::storage::Storage) in bounded memory: its first bytes are checked against
//! the declared type ([`file_types`]), its size is counted as it arrives and the upload is
//! aborted the moment it passes `documents.max_upload_bytes` (413), and its SHA-256 is
//! computed on the way. Only then is the metadata row written, with the audit entry, in one
//! transaction. Downloads stream back with the checked type, `nosniff` and an attachment
//! disposition, so a browser never renders an upload as a page of ours.

use axum::body::Body;
use axum::extract::multipart::{Field, Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use qivr_shared::auth::Role;
use qivr_shared::tenancy::Tx;
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::REQUEST_TIMEOUT;
use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::events::Staged;
use crate::extract::{Caller, Json, Path, Query};
use crate::file_types::{self, Verdict, SNIFF_BYTES};
use crate::pagination::{Page, PageParams};
use crate::routes::patients::ensure_visible;
use crate::routes::records;
use crate::state::AppState;
use crate::validate::{Checks, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_documents, upload_document))
        // Uploads enforce their own, larger limit while streaming.
        .layer(DefaultBodyLimit::disable())
        .routes(routes!(get_document, delete_document))
        .routes(routes!(download_document))
}

/// Longest description of a document.
const DESCRIPTION_TEXT: usize = 1000;
/// Parts a multipart upload may have (`file`, `category`, `description`, with room for
/// harmless extras a client might add).
const MAX_PARTS: usize = 8;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Document {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub file_name: String,
    /// The checked type, served on download.
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// `referral`, `imaging`, `lab_result`, `letter`, `other`, …
    pub category: String,
    pub description: Option<String>,
    /// `patient`, `staff` or `admin`.
    pub uploaded_by_role: String,
    pub uploaded_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The multipart body of an upload, for the API documentation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    /// The file; its part's Content-Type must be an accepted type and match the content:
    /// PDF, PNG, JPEG, HEIC/HEIF, DOCX or plain text.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `referral`, `imaging`, `lab_result`, `letter` or `other` (the default).
    category: Option<String>,
    description: Option<String>,
}

/// A patient's documents, newest first.
#[utoipa::path(get, path = "/patients/{id}/documents", tag = "records", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Document>), (status = 404, body = Problem)))]
pub async fn list_documents(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(page): Query<PageParams>) -> ApiResult<Json<Page<Document>>> {
    let limit = page.limit()?;
    let before: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    let documents = newest(&mut tx, caller.principal.tenant_id, id, before, limit + 1).await?;
    let page = Page::from_rows(documents, limit, |d| (d.created_at, d.id));
    let listed: Vec<(Uuid, Uuid)> = page.items.iter().map(|d| (id, d.id)).collect();
    caller.audit_listed(&mut tx, "document.list", "document", &listed).await?;
    tx.commit().await?;
    Ok(Json(page))
}

/// A patient's current documents, newest first, from just before `before` (a page's cursor).
pub async fn newest(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, before: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> sqlx::Result<Vec<Document>> {
    let (before_at, before_id) = before.unzip();
    // language=PostgreSQL
    sqlx::query_as!(
        Document,
        r#"SELECT d.id, d.patient_id, d.file_name, d.content_type, d.size_bytes, d.sha256, d.category, d.description,
                  d.uploaded_by_role, u.name AS "uploaded_by_name?", d.created_at
           FROM documents d LEFT JOIN users u ON u.id = d.created_by
           WHERE d.tenant_id = $1 AND d.patient_id = $2 AND d.deleted_at IS NULL
             AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4))
           ORDER BY d.created_at DESC, d.id DESC LIMIT $5"#,
        tenant_id,
        patient_id,
        before_at,
        before_id,
        limit,
    )
    .fetch_all(&mut **tx)
    .await
}

/// Uploads a document for a patient (`multipart/form-data`).
#[utoipa::path(post, path = "/patients/{id}/documents", tag = "records", request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses((status = 201, body = Document), (status = 404, body = Problem), (status = 413, description = "the file is larger than allowed", body = Problem),
              (status = 415, description = "the file's type is not accepted", body = Problem),
              (status = 422, description = "the content is not of the declared type, or a field is invalid", body = Problem)))]
pub async fn upload_document(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, multipart: Result<Multipart, MultipartRejection>) -> ApiResult<(StatusCode, Json<Document>)> {
    let mut multipart = multipart.map_err(|rejection| ApiError::UnsupportedMediaType { field: "content-type", detail: rejection.body_text() })?;
    let tenant_id = caller.principal.tenant_id;
    // Checked before any byte is stored; the transaction is not held open during the upload.
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    tx.commit().await?;

    let document_id = Uuid::now_v7();
    let storage_key = format!("{tenant_id}/{id}/{document_id}");
    let mut stored: Option<StoredFile> = None;
    let mut category = None;
    let mut description = None;
    let mut parts = 0;
    let outcome: ApiResult<()> = async {
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            parts += 1;
            if parts > MAX_PARTS {
                return Err(ApiError::invalid("body", format!("at most {MAX_PARTS} parts")));
            }
            match field.name().unwrap_or_default() {
                "file" if stored.is_some() => return Err(ApiError::invalid("file", "only one file per upload")),
                "file" => stored = Some(store_file(&state, &storage_key, field).await?),
                "category" => category = Some(small_text(field, "category", SHORT_TEXT).await?),
                "description" => description = Some(small_text(field, "description", DESCRIPTION_TEXT).await?),
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    let stored = match (outcome, stored) {
        (Ok(()), Some(stored)) => stored,
        (outcome, stored) => {
            if stored.is_some() {
                discard(&state, &storage_key).await;
            }
            return Err(outcome.err().unwrap_or_else(|| ApiError::invalid("file", "a file is required")));
        }
    };
    let category = category.map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty()).unwrap_or_else(|| "other".into());
    let description = description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    let mut checks = Checks::new();
    if !matches!(category.as_str(), "referral" | "imaging" | "lab_result" | "letter" | "other") {
        checks.fail("category", "must be referral, imaging, lab_result, letter or other");
    }
    if let Err(error) = checks.finish() {
        discard(&state, &storage_key).await;
        return Err(error);
    }

    let saved: ApiResult<(Document, Vec<Staged>)> = async {
        let mut tx = caller.begin(&state).await?;
        // language=PostgreSQL
        let document = sqlx::query_as!(
            Document,
            r#"INSERT INTO documents (id, tenant_id, patient_id, file_name, content_type, size_bytes, sha256,
                                     storage_key, category, description, uploaded_by_role)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               RETURNING id, patient_id, file_name, content_type, size_bytes, sha256, category, description,
                         uploaded_by_role, $12::text AS "uploaded_by_name?", created_at"#,
            document_id,
            tenant_id,
            id,
            stored.file_name,
            stored.content_type,
            stored.size as i64,
            stored.sha256,
            storage_key,
            category,
            description,
            caller.principal.role.as_str(),
            caller.principal.name,
        )
        .fetch_one(&mut *tx)
        .await?;
        let detail = serde_json::json!({ "file_name": document.file_name, "size_bytes": document.size_bytes, "content_type": document.content_type });
        caller.audit(&mut tx, Entry::patient("document.create", id, "document", document_id).detail(detail)).await?;
        let data = serde_json::to_value(&document).expect("documents serialize");
        let staged = records::announce(&mut tx, caller.principal.tenant_id, id, "document.created", data).await?;
        tx.commit().await?;
        Ok((document, staged))
    }
    .await;
    match saved {
        Ok((document, staged)) => {
            tracing::info!(document.id = %document.id, size_bytes = document.size_bytes, "document uploaded");
            state.events.publish(staged).await;
            Ok((StatusCode::CREATED, Json(document)))
        }
        Err(error) => {
            discard(&state, &storage_key).await;
            Err(error)
        }
    }
}

/// What [`store_file`] wrote.
struct StoredFile {
    file_name: String,
    content_type: &'static str,
    size: u64,
    sha256: String,
}

/// Streams the `file` part into storage under `key`: sniffs its head, counts and hashes every
/// chunk, and aborts the upload (nothing stays behind) on any problem.
async fn store_file(state: &AppState, key: &str, mut field: Field<'_>) -> ApiResult<StoredFile> {
    let max = state.config.documents.max_upload_bytes;
    let file_name = clean_file_name(field.file_name().unwrap_or_default())?;
    let declared = field.content_type().unwrap_or("application/octet-stream").to_string();
    let mut head = BytesMut::new();
    while head.len() < SNIFF_BYTES {
        match next_chunk(&mut field).await? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(ApiError::invalid("file", "the file is empty"));
    }
    let content_type = match file_types::check(&declared, &head[..head.len().min(SNIFF_BYTES)]) {
        Verdict::Accepted(mime) => mime,
        Verdict::NotAllowed => {
            return Err(ApiError::UnsupportedMediaType {
                field: "file",
                detail: format!("files of type {declared} are not accepted; accepted: {}", file_types::allowed().join(", ")),
            })
        }
        Verdict::Mismatch(mime) => return Err(ApiError::invalid("file", format!("the content is not {mime} as declared"))),
    };
    let too_large = || ApiError::PayloadTooLarge { field: "file", max_bytes: max };
    if head.len() as u64 > max {
        return Err(too_large());
    }
    let mut upload = state.storage.upload(key);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut next = Some(head.freeze());
    let result: ApiResult<()> = async {
        while let Some(chunk) = next.take() {
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large());
            }
            hasher.update(&chunk);
            upload.write(chunk).await.map_err(|e| ApiError::Internal(e.into()))?;
            next = next_chunk(&mut field).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => upload.finish().await.map_err(|e| ApiError::Internal(e.into()))?,
        Err(error) => {
            upload.abort().await;
            return Err(error);
        }
    }
    Ok(StoredFile { file_name, content_type, size, sha256: hex::encode(hasher.finalize()) })
}

/// The next chunk of a part; an upload that sends nothing for [`REQUEST_TIMEOUT`] is given up
/// (uploads are exempt from the overall request timeout, see `app::answer_in_time`).
async fn next_chunk(field: &mut Field<'_>) -> ApiResult<Option<Bytes>> {
    match tokio::time::timeout(REQUEST_TIMEOUT, field.chunk()).await {
        Ok(chunk) => chunk.map_err(malformed),
        Err(_) => Err(ApiError::BadRequest { field: "file".into(), detail: format!("the upload stalled: nothing arrived for {} s", REQUEST_TIMEOUT.as_secs()) }),
    }
}

/// Reads a short text part, refusing (not truncating) one that is too long.
async fn small_text(mut field: Field<'_>, name: &'static str, max_chars: usize) -> ApiResult<String> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = next_chunk(&mut field).await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > max_chars * 4 {
            return Err(ApiError::invalid(name, format!("must be at most {max_chars} characters")));
        }
    }
    let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::invalid(name, "must be UTF-8 text"))?;
    let mut checks = Checks::new();
    checks.length(name, &text, max_chars);
    if text.contains('\0') {
        checks.fail(name, "must not contain NUL characters");
    }
    checks.finish()?;
    Ok(text)
}

/// The name a file is stored and offered under: its last path component, without control
/// characters, at most 255 characters.
fn clean_file_name(raw: &str) -> ApiResult<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).collect::<String>().trim().to_string();
    if name.is_empty() || name == "." || name == ".." {
        return Err(ApiError::invalid("file", "the file part needs a file name"));
    }
    Ok(name.chars().take(255).collect())
}

fn malformed(error: MultipartError) -> ApiError {
    ApiError::BadRequest { field: "body".into(), detail: format!("malformed multipart body: {}", error.body_text()) }
}

/// Removes an object whose metadata row was never written.
async fn discard(state: &AppState, key: &str) {
    if let Err(error) = state.storage.delete(key).await {
        tracing::warn!(%error, storage.key = key, "removing an unrecorded upload failed");
    }
}

/// One document's metadata.
#[utoipa::path(get, path = "/patients/{id}/documents/{document_id}", tag = "records", security(("bearer" = [])),
    responses((status = 200, body = Document), (status = 404, body = Problem)))]
pub async fn get_document(State(state): State<AppState>, caller: Caller, Path((id, document_id)): Path<(Uuid, Uuid)>) -> ApiResult<Json<Document>> {
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    let document = fetch(&mut tx, &caller, id, document_id).await?;
    caller.audit(&mut tx, Entry::patient("document.read", id, "document", document_id)).await?;
    tx.commit().await?;
    Ok(Json(document))
}

/// Downloads a document's content, streamed.
#[utoipa::path(get, path = "/patients/{id}/documents/{document_id}/content", tag = "records", security(("bearer" = [])),
    responses((status = 200, description = "the file, as an attachment", content_type = "application/octet-stream"), (status = 404, body = Problem)))]
pub async fn download_document(State(state): State<AppState>, caller: Caller, Path((id, document_id)): Path<(Uuid, Uuid)>) -> ApiResult<Response> {
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let row = sqlx::query!(
        "SELECT file_name, content_type, size_bytes, storage_key FROM documents
         WHERE tenant_id = $1 AND patient_id = $2 AND id = $3 AND deleted_at IS NULL",
        caller.principal.tenant_id,
        id,
        document_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("document"))?;
    let stream = state.storage.read(&row.storage_key).await.map_err(|e| ApiError::Internal(e.into()))?;
    caller.audit(&mut tx, Entry::patient("document.download", id, "document", document_id)).await?;
    tx.commit().await?;

    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_str(&row.content_type).map_err(|e| ApiError::Internal(e.into()))?),
        (header::CONTENT_LENGTH, HeaderValue::from(row.size_bytes)),
        (header::CONTENT_DISPOSITION, content_disposition(&row.file_name)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox")),
    ];
    let body = Body::from_stream(stream.map_err(|error| {
        tracing::error!(%error, "reading a document from storage failed mid-stream");
        error
    }));
    Ok((headers, body).into_response())
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 encoding.
fn content_disposition(file_name: &str) -> HeaderValue {
    let fallback: String = file_name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")).unwrap_or(HeaderValue::from_static("attachment"))
}

/// Removes a document from the record (soft: the row and the content stay for the audit
/// trail). Staff may remove any; a patient only what they uploaded themselves.
#[utoipa::path(delete, path = "/patients/{id}/documents/{document_id}", tag = "records", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_document(State(state): State<AppState>, caller: Caller, Path((id, document_id)): Path<(Uuid, Uuid)>) -> ApiResult<StatusCode> {
    let mut tx = caller.begin(&state).await?;
    ensure_visible(&mut tx, &caller, id).await?;
    let document = fetch(&mut tx, &caller, id, document_id).await?;
    if caller.principal.role == Role::Patient && document.uploaded_by_role != "patient" {
        return Err(ApiError::Forbidden("documents the clinic added can only be removed by the clinic".into()));
    }
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE documents SET deleted_at = now() WHERE tenant_id = $1 AND patient_id = $2 AND id = $3",
        caller.principal.tenant_id,
        id,
        document_id
    )
    .execute(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("document.delete", id, "document", document_id)).await?;
    let data = serde_json::json!({ "id": document_id, "patient_id": id });
    let staged = records::announce(&mut tx, caller.principal.tenant_id, id, "document.deleted", data).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn fetch(tx: &mut Tx, caller: &Caller, patient_id: Uuid, id: Uuid) -> ApiResult<Document> {
    // language=PostgreSQL
    sqlx::query_as!(
        Document,
        r#"SELECT d.id, d.patient_id, d.file_name, d.content_type, d.size_bytes, d.sha256, d.category, d.description,
                  d.uploaded_by_role, u.name AS "uploaded_by_name?", d.created_at
           FROM documents d LEFT JOIN users u ON u.id = d.created_by
           WHERE d.tenant_id = $1 AND d.patient_id = $2 AND d.id = $3 AND d.deleted_at IS NULL"#,
        caller.principal.tenant_id,
        patient_id,
        id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("document"))
}

/// A document as a message carries it: what a chat shows and needs to offer the download.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub document_id: Uuid,
    pub patient_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// Most documents one message may carry.
pub const MAX_ATTACHMENTS: usize = 10;

/// Attaches documents to a new message of a conversation with `patient_id`. Each must be a
/// current document of that same patient (type and size were enforced when it was uploaded);
/// anything else is a 422 naming the offending `attachment_ids[i]`.
pub async fn attach_documents(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, message_id: Uuid, ids: &[Uuid]) -> ApiResult<Vec<Attachment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if ids.len() > MAX_ATTACHMENTS {
        return Err(ApiError::invalid("attachment_ids", format!("at most {MAX_ATTACHMENTS} attachments per message")));
    }
    let mut checks = Checks::new();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            checks.fail(&format!("attachment_ids[{i}]"), "attached twice");
        }
    }
    checks.finish()?;
    // language=PostgreSQL
    let found = sqlx::query_as!(
        Attachment,
        "SELECT id AS document_id, patient_id, file_name, content_type, size_bytes FROM documents
         WHERE tenant_id = $1 AND patient_id = $2 AND id = ANY($3) AND deleted_at IS NULL",
        tenant_id,
        patient_id,
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut checks = Checks::new();
    let mut ordered = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match found.iter().find(|a| a.document_id == *id) {
            Some(attachment) => ordered.push(attachment.clone()),
            None => checks.fail(&format!("attachment_ids[{i}]"), "no such document of this conversation's patient"),
        }
    }
    checks.finish()?;
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO message_attachments (tenant_id, message_id, document_id, position)
         SELECT $1, $2, document_id, position::smallint FROM unnest($3::uuid[]) WITH ORDINALITY AS a (document_id, position)",
        tenant_id,
        message_id,
        ids
    )
    .execute(&mut **tx)
    .await?;
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_directories_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\me\\scan.pdf").unwrap(), "scan.pdf");
        assert_eq!(clean_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\nc.txt").unwrap(), "abc.txt");
        assert!(clean_file_name("dir/").is_err());
    }

    #[test]
    fn the_disposition_keeps_the_exact_name_encoded() {
        let value = content_disposition("Röntgen \"1\".pdf");
        assert_eq!(value.to_str().unwrap(), "attachment; filename=\"R_ntgen _1_.pdf\"; filename*=UTF-8''R%C3%B6ntgen%20%221%22.pdf");
    }
}
