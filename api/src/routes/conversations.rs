//! Secure messaging: a patient's threads with their clinic.
//!
//! A patient sees only their own conversations; clinic staff see all of the clinic's, with
//! filters. Sending a message, and reading up to one, update every participant's unread count
//! in the same transaction, and stage the events: `message.created` / `message.read` on
//! `conversation:<id>`, `conversation.updated` on `inbox` (with every clinic user's unread
//! count) and on the patient's `user:<id>` (with theirs). Message text travels only on the
//! conversation channel, which only the conversation's patient and the clinic may join.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use qivr_realtime::{Conversation as Participants, ConversationAccess};
use qivr_shared::auth::Role;
use qivr_shared::tenancy::{self, Tx};
use qivr_shared::Problem;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::Entry;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, Staged};
use crate::extract::{Caller, Clinic, Json, Path, Query};
use crate::pagination::{Page, PageParams};
use crate::routes::documents::{attach_documents, Attachment};
use crate::routes::patients::own_patient_id;
use crate::state::AppState;
use crate::validate::{patch, Checks, SHORT_TEXT};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(get_conversation, update_conversation))
        .routes(routes!(list_messages, send_message))
        .routes(routes!(mark_read))
        .routes(routes!(list_reads))
}

/// Longest message body, in characters.
pub const MAX_BODY: usize = 5000;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub patient_name: String,
    pub subject: String,
    /// `open` or `closed`.
    pub status: String,
    pub assignee_user_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub last_message_at: Option<DateTime<Utc>>,
    /// Messages the caller has not read.
    pub unread_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// `None` for system messages.
    pub sender_user_id: Option<Uuid>,
    pub sender_name: Option<String>,
    /// `patient`, `staff`, `admin` or `system`.
    pub sender_role: String,
    pub body: String,
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Documents of the conversation's patient sent with the message (metadata only).
    #[schema(value_type = Vec<Attachment>)]
    pub attachments: sqlx::types::Json<Vec<Attachment>>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ConversationFilter {
    /// Only conversations with messages the caller has not read.
    pub unread: Option<bool>,
    /// A user id, or `me` (staff only).
    pub assignee: Option<String>,
    /// Staff only.
    pub patient_id: Option<Uuid>,
    /// `open` or `closed`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Conversations, most recent activity first: the patient's own, or (staff) the clinic's.
#[utoipa::path(get, path = "/conversations", tag = "messaging", params(ConversationFilter), security(("bearer" = [])),
    responses((status = 200, body = Page<Conversation>), (status = 404, body = Problem)))]
pub async fn list_conversations(State(state): State<AppState>, caller: Caller, Query(filter): Query<ConversationFilter>) -> ApiResult<Json<Page<Conversation>>> {
    let page = PageParams { cursor: filter.cursor, limit: filter.limit };
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let (after_at, after_id) = after.unzip();
    let assignee = match filter.assignee.as_deref() {
        None => None,
        Some("me") => Some(caller.principal.user_id),
        Some(id) => Some(Uuid::try_parse(id).map_err(|_| ApiError::BadRequest { field: "assignee".into(), detail: "must be a user id or `me`".into() })?),
    };
    let mut tx = caller.begin(&state).await?;
    let patient_id = if caller.principal.role.is_clinic() {
        filter.patient_id
    } else {
        Some(own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?)
    };
    // language=PostgreSQL
    let conversations = sqlx::query_as!(
        Conversation,
        r#"SELECT c.id, c.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", c.subject, c.status,
                  c.assignee_user_id, u.name AS "assignee_name?", c.last_message_at,
                  coalesce(r.unread_count, 0) AS "unread_count!", c.created_at, c.updated_at
           FROM conversations c
           JOIN patients p ON p.id = c.patient_id
           LEFT JOIN users u ON u.id = c.assignee_user_id
           LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = $2
           WHERE c.tenant_id = $1 AND c.deleted_at IS NULL
             AND ($3::uuid IS NULL OR c.patient_id = $3)
             AND ($4::uuid IS NULL OR c.assignee_user_id = $4)
             AND ($5::text IS NULL OR c.status = $5)
             AND (NOT $6 OR coalesce(r.unread_count, 0) > 0)
             AND ($7::timestamptz IS NULL OR (coalesce(c.last_message_at, c.created_at), c.id) < ($7, $8))
           ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC
           LIMIT $9"#,
        caller.principal.tenant_id,
        caller.principal.user_id,
        patient_id,
        assignee,
        filter.status,
        filter.unread.unwrap_or(false),
        after_at,
        after_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    let page = Page::from_rows(conversations, limit, |c| (c.last_message_at.unwrap_or(c.created_at), c.id));
    let listed: Vec<(Uuid, Uuid)> = page.items.iter().map(|c| (c.patient_id, c.id)).collect();
    caller.audit_listed(&mut tx, "conversation.list", "conversation", &listed).await?;
    tx.commit().await?;
    Ok(Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConversation {
    pub subject: String,
    /// Staff start a conversation with a patient; patients with their clinic.
    pub patient_id: Option<Uuid>,
    /// An optional first message.
    pub body: Option<String>,
}

/// Starts a conversation.
#[utoipa::path(post, path = "/conversations", tag = "messaging", request_body = NewConversation, security(("bearer" = [])),
    responses((status = 201, body = Conversation), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_conversation(State(state): State<AppState>, caller: Caller, Json(body): Json<NewConversation>) -> ApiResult<(StatusCode, Json<Conversation>)> {
    let mut checks = Checks::new();
    checks.required("subject", &body.subject, SHORT_TEXT);
    if let Some(text) = &body.body {
        checks.required("body", text, MAX_BODY);
    }
    match (caller.principal.role.is_clinic(), body.patient_id) {
        (true, None) => checks.fail("patient_id", "required when staff start a conversation"),
        (false, Some(_)) => checks.fail("patient_id", "patients start conversations with their own clinic"),
        _ => {}
    }
    checks.finish()?;
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let patient_id = match body.patient_id {
        Some(id) => {
            // language=PostgreSQL
            sqlx::query_scalar!("SELECT id FROM patients WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL", tenant_id, id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(ApiError::NotFound("patient"))?
        }
        None => own_patient_id(&mut tx, &caller).await?.ok_or(ApiError::NotFound("patient record"))?,
    };
    // language=PostgreSQL
    let id = sqlx::query_scalar!(
        "INSERT INTO conversations (tenant_id, patient_id, subject) VALUES ($1, $2, $3) RETURNING id",
        tenant_id,
        patient_id,
        body.subject.trim()
    )
    .fetch_one(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("conversation.create", patient_id, "conversation", id)).await?;
    let mut staged = Vec::new();
    if let Some(text) = body.body {
        staged = insert_message(&mut tx, &caller, Author::Caller, id, patient_id, text.trim(), None, &[]).await?.1;
    } else {
        staged.extend(announce_conversation(&mut tx, tenant_id, id).await?);
    }
    let conversation = fetch(&mut tx, &caller, id).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((StatusCode::CREATED, Json(conversation)))
}

/// One conversation.
#[utoipa::path(get, path = "/conversations/{id}", tag = "messaging", security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = Problem)))]
pub async fn get_conversation(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Conversation>> {
    let mut tx = caller.begin(&state).await?;
    let conversation = fetch(&mut tx, &caller, id).await?;
    caller.audit(&mut tx, Entry::patient("conversation.read", conversation.patient_id, "conversation", id)).await?;
    tx.commit().await?;
    Ok(Json(conversation))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationChanges {
    /// A clinic user; `null` unassigns.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_user_id: Option<Option<Uuid>>,
    /// `open` or `closed`.
    pub status: Option<String>,
}

/// Assigns or closes a conversation (staff).
#[utoipa::path(patch, path = "/conversations/{id}", tag = "messaging", request_body = ConversationChanges, security(("bearer" = [])),
    responses((status = 200, body = Conversation), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_conversation(State(state): State<AppState>, Clinic(caller): Clinic, Path(id): Path<Uuid>, Json(body): Json<ConversationChanges>) -> ApiResult<Json<Conversation>> {
    let tenant_id = caller.principal.tenant_id;
    let mut tx = caller.begin(&state).await?;
    let current = fetch(&mut tx, &caller, id).await?;
    let mut checks = Checks::new();
    if let Some(status) = body.status.as_deref().filter(|s| *s != "open" && *s != "closed") {
        checks.fail("status", format!("{status:?} is not open or closed"));
    }
    if let Some(Some(assignee)) = body.assignee_user_id {
        // language=PostgreSQL
        let ok = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND role <> 'patient'
                              AND deleted_at IS NULL AND disabled_at IS NULL) AS "ok!""#,
            tenant_id,
            assignee
        )
        .fetch_one(&mut *tx)
        .await?;
        if !ok {
            checks.fail("assignee_user_id", "must be an active clinic user");
        }
    }
    checks.finish()?;
    let (set_assignee, assignee) = match body.assignee_user_id {
        Some(value) => (true, value),
        None => (false, None),
    };
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE conversations SET status = coalesce($3, status),
                assignee_user_id = CASE WHEN $4 THEN $5 ELSE assignee_user_id END
         WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        id,
        body.status,
        set_assignee,
        assignee,
    )
    .execute(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("conversation.update", current.patient_id, "conversation", id)).await?;
    let staged = announce_conversation(&mut tx, tenant_id, id).await?;
    let conversation = fetch(&mut tx, &caller, id).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(Json(conversation))
}

/// A conversation's messages, newest first; follow `next_cursor` for older ones.
#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "messaging", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = Page<Message>), (status = 404, body = Problem)))]
pub async fn list_messages(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Query(page): Query<PageParams>) -> ApiResult<Json<Page<Message>>> {
    let limit = page.limit()?;
    let before: Option<(DateTime<Utc>, Uuid)> = page.cursor()?;
    let (before_at, before_id) = before.unzip();
    let mut tx = caller.begin(&state).await?;
    let conversation = fetch(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let messages = sqlx::query_as!(
        Message,
        r#"SELECT m.id, m.conversation_id, m.sender_user_id, u.name AS "sender_name?", m.sender_role, m.body,
                  m.client_id, m.created_at, message_attachments_json(m.id) AS "attachments!: _"
           FROM messages m LEFT JOIN users u ON u.id = m.sender_user_id
           WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.deleted_at IS NULL
             AND ($3::timestamptz IS NULL OR (m.created_at, m.id) < ($3, $4))
           ORDER BY m.created_at DESC, m.id DESC LIMIT $5"#,
        caller.principal.tenant_id,
        id,
        before_at,
        before_id,
        limit + 1,
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("message.list", conversation.patient_id, "conversation", id)).await?;
    tx.commit().await?;
    Ok(Json(Page::from_rows(messages, limit, |m| (m.created_at, m.id))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMessage {
    pub body: String,
    /// Chosen by the client (e.g. a UUID); sending again with the same one returns the message
    /// already stored instead of a second copy.
    pub client_id: Option<String>,
    /// Documents of the conversation's patient to attach (uploaded first, through the
    /// patient's documents).
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

/// Sends a message. Retried sends with the same `client_id` are answered with the stored
/// message (200) rather than stored twice.
#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "messaging", request_body = NewMessage, security(("bearer" = [])),
    responses((status = 201, body = Message), (status = 200, description = "a retry of a message already stored", body = Message),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn send_message(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<NewMessage>) -> ApiResult<(StatusCode, Json<Message>)> {
    let mut checks = Checks::new();
    checks.required("body", &body.body, MAX_BODY);
    checks.optional("client_id", body.client_id.as_deref(), 100);
    checks.finish()?;
    let mut tx = caller.begin(&state).await?;
    let conversation = fetch(&mut tx, &caller, id).await?;
    if let Some(client_id) = &body.client_id {
        // language=PostgreSQL
        let existing = sqlx::query_as!(
            Message,
            r#"SELECT m.id, m.conversation_id, m.sender_user_id, u.name AS "sender_name?", m.sender_role, m.body,
                      m.client_id, m.created_at, message_attachments_json(m.id) AS "attachments!: _"
               FROM messages m LEFT JOIN users u ON u.id = m.sender_user_id
               WHERE m.tenant_id = $1 AND m.conversation_id = $2 AND m.sender_user_id = $3 AND m.client_id = $4"#,
            caller.principal.tenant_id,
            id,
            caller.principal.user_id,
            client_id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            return Ok((StatusCode::OK, Json(existing)));
        }
    }
    let (message, staged) = insert_message(&mut tx, &caller, Author::Caller, id, conversation.patient_id, body.body.trim_end(), body.client_id, &body.attachment_ids).await?;
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok((StatusCode::CREATED, Json(message)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadReceipt {
    /// The newest message the reader has seen.
    pub up_to: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadState {
    pub conversation_id: Uuid,
    pub up_to: Uuid,
    pub unread_count: i32,
    pub read_at: DateTime<Utc>,
}

/// Marks the conversation read up to a message.
#[utoipa::path(post, path = "/conversations/{id}/read", tag = "messaging", request_body = ReadReceipt, security(("bearer" = [])),
    responses((status = 200, body = ReadState), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn mark_read(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>, Json(body): Json<ReadReceipt>) -> ApiResult<Json<ReadState>> {
    let tenant_id = caller.principal.tenant_id;
    let user_id = caller.principal.user_id;
    let mut tx = caller.begin(&state).await?;
    let conversation = fetch(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let up_to = sqlx::query!(
        "SELECT created_at FROM messages WHERE tenant_id = $1 AND conversation_id = $2 AND id = $3",
        tenant_id,
        id,
        body.up_to
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::invalid("up_to", "no such message in this conversation"))?;
    // Unread: messages by others after the one read up to (reading an older one never
    // un-reads newer ones: the position only moves forward).
    // language=PostgreSQL
    let read = sqlx::query!(
        r#"INSERT INTO conversation_reads AS r (tenant_id, conversation_id, user_id, unread_count, last_read_message_id, last_read_at)
           SELECT $1, $2, $3,
                  (SELECT count(*) FROM messages m WHERE m.conversation_id = $2 AND m.created_at > $5
                     AND m.sender_user_id IS DISTINCT FROM $3 AND m.deleted_at IS NULL
                     AND (m.sender_role <> 'system' OR $6))::int,
                  $4, now()
           ON CONFLICT (conversation_id, user_id) DO UPDATE
           SET unread_count = CASE WHEN r.last_read_at IS NULL
                                        OR (SELECT created_at FROM messages WHERE id = r.last_read_message_id) <= $5
                                   THEN excluded.unread_count ELSE r.unread_count END,
               last_read_message_id = CASE WHEN r.last_read_at IS NULL
                                        OR (SELECT created_at FROM messages WHERE id = r.last_read_message_id) <= $5
                                   THEN excluded.last_read_message_id ELSE r.last_read_message_id END,
               last_read_at = now()
           RETURNING unread_count, last_read_message_id AS "up_to!", last_read_at AS "read_at!""#,
        tenant_id,
        id,
        user_id,
        body.up_to,
        up_to.created_at,
        caller.principal.role == Role::Patient,
    )
    .fetch_one(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("conversation.mark_read", conversation.patient_id, "conversation", id)).await?;
    let receipt = serde_json::json!({
        "conversation_id": id, "user_id": user_id, "user_name": caller.principal.name,
        "role": caller.principal.role, "up_to": read.up_to, "read_at": read.read_at,
    });
    let mut staged = vec![events::stage(&mut tx, tenant_id, format!("conversation:{id}"), "message.read", receipt).await?];
    staged.extend(announce_conversation(&mut tx, tenant_id, id).await?);
    tx.commit().await?;
    state.events.publish(staged).await;
    Ok(Json(ReadState { conversation_id: id, up_to: read.up_to, unread_count: read.unread_count, read_at: read.read_at }))
}

/// How far one participant has read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadMarker {
    pub user_id: Uuid,
    pub user_name: String,
    /// `patient`, `staff` or `admin`.
    pub role: String,
    pub up_to: Uuid,
    pub read_at: DateTime<Utc>,
}

/// How far each participant has read: what "Seen" shows after a reload (live changes arrive
/// as `message.read` on the conversation's channel).
#[utoipa::path(get, path = "/conversations/{id}/reads", tag = "messaging", security(("bearer" = [])),
    responses((status = 200, body = [ReadMarker]), (status = 404, body = Problem)))]
pub async fn list_reads(State(state): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> ApiResult<Json<Vec<ReadMarker>>> {
    let mut tx = caller.begin(&state).await?;
    let conversation = fetch(&mut tx, &caller, id).await?;
    // language=PostgreSQL
    let reads = sqlx::query_as!(
        ReadMarker,
        r#"SELECT r.user_id, u.name AS user_name, u.role::text AS "role!", r.last_read_message_id AS "up_to!", r.last_read_at AS "read_at!"
           FROM conversation_reads r JOIN users u ON u.id = r.user_id
           WHERE r.tenant_id = $1 AND r.conversation_id = $2 AND r.last_read_message_id IS NOT NULL
             AND r.last_read_at IS NOT NULL AND u.deleted_at IS NULL
           ORDER BY r.last_read_at DESC"#,
        caller.principal.tenant_id,
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    caller.audit(&mut tx, Entry::patient("conversation.reads", conversation.patient_id, "conversation", id)).await?;
    tx.commit().await?;
    Ok(Json(reads))
}

/// Who a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Author {
    /// The caller, who has read it; everyone else has one more unread.
    Caller,
    /// The clinic's system, on the caller's behalf (e.g. "Appointment booked"): no sender, and
    /// unread only for the patient, whom it informs.
    System,
}

/// Stores a message with its attachments, bumps the unread counts it should and stages the
/// events.
async fn insert_message(
    tx: &mut Tx,
    caller: &Caller,
    author: Author,
    conversation_id: Uuid,
    patient_id: Uuid,
    body: &str,
    client_id: Option<String>,
    attachment_ids: &[Uuid],
) -> ApiResult<(Message, Vec<Staged>)> {
    let tenant_id = caller.principal.tenant_id;
    let system = author == Author::System;
    let (sender, role, name) = match author {
        Author::Caller => (Some(caller.principal.user_id), caller.principal.role.as_str(), Some(caller.principal.name.as_str())),
        Author::System => (None, "system", None),
    };
    // language=PostgreSQL
    let message = sqlx::query_as!(
        Message,
        r#"WITH inserted AS (
               INSERT INTO messages (tenant_id, conversation_id, sender_user_id, sender_role, body, client_id)
               VALUES ($1, $2, $3, $4, $5, $6)
               RETURNING id, conversation_id, sender_user_id, sender_role, body, client_id, created_at)
           SELECT i.id, i.conversation_id, i.sender_user_id, $7::text AS "sender_name?", i.sender_role, i.body,
                  i.client_id, i.created_at, '[]'::jsonb AS "attachments!: _"
           FROM inserted i"#,
        tenant_id,
        conversation_id,
        sender,
        role,
        body,
        client_id,
        name,
    )
    .fetch_one(&mut **tx)
    .await?;
    let mut message = message;
    message.attachments.0 = attach_documents(tx, tenant_id, patient_id, message.id, attachment_ids).await?;
    // The sender has read their own message; everyone else (the patient's login and every
    // active clinic user) has one more unread; a system message has no sender and is unread
    // only for the patient. One statement, locking the rows in user-id order: two sends in the
    // same conversation (the patient and staff at once) then queue on the first row instead of
    // each holding a row the other wants (a deadlock, a 500).
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO conversation_reads AS r (tenant_id, conversation_id, user_id, unread_count, last_read_message_id, last_read_at)
         SELECT $1, $2, u.id, CASE WHEN u.id = $3 THEN 0 ELSE 1 END,
                CASE WHEN u.id = $3 THEN $5::uuid END, CASE WHEN u.id = $3 THEN now() END
         FROM users u
         WHERE u.tenant_id = $1 AND (u.id = $3 OR (u.deleted_at IS NULL AND u.disabled_at IS NULL
           AND (u.role <> 'patient' OR u.id = (SELECT user_id FROM patients WHERE id = $4))
           AND (NOT $6 OR u.role = 'patient')))
         ORDER BY u.id
         ON CONFLICT (conversation_id, user_id) DO UPDATE
         SET unread_count = CASE WHEN r.user_id = $3 THEN 0 ELSE r.unread_count + 1 END,
             last_read_message_id = CASE WHEN r.user_id = $3 THEN $5 ELSE r.last_read_message_id END,
             last_read_at = CASE WHEN r.user_id = $3 THEN now() ELSE r.last_read_at END",
        tenant_id,
        conversation_id,
        sender,
        patient_id,
        message.id,
        system,
    )
    .execute(&mut **tx)
    .await?;
    // language=PostgreSQL
    sqlx::query!(
        "UPDATE conversations SET last_message_at = $3 WHERE tenant_id = $1 AND id = $2",
        tenant_id,
        conversation_id,
        message.created_at
    )
    .execute(&mut **tx)
    .await?;
    let data = serde_json::to_value(&message).expect("messages serialize");
    let mut staged = vec![events::stage(tx, tenant_id, format!("conversation:{conversation_id}"), "message.created", data).await?];
    staged.extend(announce_conversation(tx, tenant_id, conversation_id).await?);
    // Last: appending to the audit chain locks the clinic's chain head until commit, so every
    // statement after it would hold up the clinic's other writers.
    caller.audit(tx, Entry::patient("message.create", patient_id, "message", message.id)).await?;
    Ok((message, staged))
}

/// Posts a system message (e.g. "Appointment booked: …") in the patient's most recently active
/// open conversation, in the caller's transaction. A patient without an open conversation gets
/// none: the change reaches them by its own event and email.
pub(crate) async fn post_system_message(tx: &mut Tx, caller: &Caller, patient_id: Uuid, body: &str) -> ApiResult<Vec<Staged>> {
    // language=PostgreSQL
    let conversation = sqlx::query_scalar!(
        "SELECT id FROM conversations
         WHERE tenant_id = $1 AND patient_id = $2 AND status = 'open' AND deleted_at IS NULL
         ORDER BY coalesce(last_message_at, created_at) DESC LIMIT 1",
        caller.principal.tenant_id,
        patient_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    match conversation {
        Some(id) => Ok(insert_message(tx, caller, Author::System, id, patient_id, body, None, &[]).await?.1),
        None => Ok(Vec::new()),
    }
}

/// Stages `conversation.updated`: on `inbox` with every clinic user's unread count, and on
/// the patient's own channel with theirs. Neither carries message text.
async fn announce_conversation(tx: &mut Tx, tenant_id: Uuid, id: Uuid) -> ApiResult<Vec<Staged>> {
    // language=PostgreSQL
    let row = sqlx::query!(
        r#"SELECT c.id, c.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", p.user_id AS patient_user_id,
                  c.subject, c.status, c.assignee_user_id, u.name AS "assignee_name?", c.last_message_at,
                  c.created_at, c.updated_at,
                  (SELECT sender_role FROM messages WHERE conversation_id = c.id ORDER BY created_at DESC LIMIT 1) AS last_sender_role
           FROM conversations c JOIN patients p ON p.id = c.patient_id LEFT JOIN users u ON u.id = c.assignee_user_id
           WHERE c.tenant_id = $1 AND c.id = $2"#,
        tenant_id,
        id
    )
    .fetch_one(&mut **tx)
    .await?;
    // language=PostgreSQL
    let unread: HashMap<Uuid, i32> = sqlx::query!(
        "SELECT user_id, unread_count FROM conversation_reads WHERE tenant_id = $1 AND conversation_id = $2",
        tenant_id,
        id
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|r| (r.user_id, r.unread_count))
    .collect();
    let summary = serde_json::json!({
        "id": row.id, "patient_id": row.patient_id, "patient_name": row.patient_name, "subject": row.subject,
        "status": row.status, "assignee_user_id": row.assignee_user_id, "assignee_name": row.assignee_name,
        "last_message_at": row.last_message_at, "last_sender_role": row.last_sender_role,
        "created_at": row.created_at, "updated_at": row.updated_at,
    });
    let mut for_clinic = summary.clone();
    let clinic_unread: HashMap<Uuid, i32> = unread.iter().filter(|(user, _)| Some(**user) != row.patient_user_id).map(|(u, n)| (*u, *n)).collect();
    for_clinic["unread_counts"] = serde_json::to_value(&clinic_unread).expect("counts serialize");
    let mut staged = vec![events::stage(tx, tenant_id, "inbox".into(), "conversation.updated", for_clinic).await?];
    if let Some(patient_user) = row.patient_user_id {
        let mut for_patient = summary;
        for_patient["unread_count"] = unread.get(&patient_user).copied().unwrap_or(0).into();
        staged.push(events::stage(tx, tenant_id, format!("user:{patient_user}"), "conversation.updated", for_patient).await?);
    }
    Ok(staged)
}

/// The conversation as the caller may see it: a patient only their own, anything else 404.
async fn fetch(tx: &mut Tx, caller: &Caller, id: Uuid) -> ApiResult<Conversation> {
    let own = if caller.principal.role == Role::Patient { Some(own_patient_id(tx, caller).await?.ok_or(ApiError::NotFound("conversation"))?) } else { None };
    // language=PostgreSQL
    sqlx::query_as!(
        Conversation,
        r#"SELECT c.id, c.patient_id, p.first_name || ' ' || p.last_name AS "patient_name!", c.subject, c.status,
                  c.assignee_user_id, u.name AS "assignee_name?", c.last_message_at,
                  coalesce(r.unread_count, 0) AS "unread_count!", c.created_at, c.updated_at
           FROM conversations c
           JOIN patients p ON p.id = c.patient_id
           LEFT JOIN users u ON u.id = c.assignee_user_id
           LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = $3
           WHERE c.tenant_id = $1 AND c.id = $2 AND c.deleted_at IS NULL
             AND ($4::uuid IS NULL OR c.patient_id = $4)"#,
        caller.principal.tenant_id,
        id,
        caller.principal.user_id,
        own,
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApiError::NotFound("conversation"))
}

/// Tells the realtime hub who may join `conversation:<id>`: the patient's portal login (the
/// clinic's staff are admitted by their role).
pub struct DatabaseConversations {
    pub pool: PgPool,
}

#[async_trait::async_trait]
impl ConversationAccess for DatabaseConversations {
    async fn conversation(&self, tenant_id: Uuid, conversation_id: Uuid) -> Result<Option<Participants>, qivr_realtime::error::BoxError> {
        let mut tx = tenancy::begin(&self.pool, tenant_id, None).await?;
        // language=PostgreSQL
        let patient_user = sqlx::query_scalar!(
            "SELECT p.user_id FROM conversations c JOIN patients p ON p.id = c.patient_id
             WHERE c.tenant_id = $1 AND c.id = $2 AND c.deleted_at IS NULL",
            tenant_id,
            conversation_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(patient_user.map(|user| Participants { patient_user_ids: user.into_iter().collect() }))
    }
}
