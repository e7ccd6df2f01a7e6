//! Who takes part in a conversation, asked once and cached.
//!
//! Conversations belong to the messaging part of the API; the hub only needs to know whether
//! a patient may listen to `conversation:<id>`. It asks a [`ConversationAccess`] (the
//! messaging code provides the database implementation) and caches the answer for
//! `conversation_cache_ttl_secs`. When membership changes, the API calls
//! [`crate::Publisher::invalidate_conversation`], which reaches every node through the broker
//! and drops the entry at once (and withdraws subscriptions that are no longer allowed).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::{BoxError, Error, Result};

/// A conversation as far as channel access is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The portal logins of the conversation's patient side (usually one). Staff and admins
    /// of the tenant need no entry: their role admits them.
    pub patient_user_ids: Vec<Uuid>,
}

/// Looks conversations up for the hub. Implementations must scope the lookup to `tenant_id`.
#[async_trait]
pub trait ConversationAccess: Send + Sync + 'static {
    /// The conversation, or `None` when the tenant has no such conversation.
    async fn conversation(
        &self,
        tenant_id: Uuid,
        conversation_id: Uuid,
    ) -> Result<Option<Conversation>, BoxError>;
}

/// Used until the messaging code provides one: there are no conversations, so only staff
/// (admitted by role) can subscribe to conversation channels.
pub struct NoConversations;

#[async_trait]
impl ConversationAccess for NoConversations {
    async fn conversation(&self, _: Uuid, _: Uuid) -> Result<Option<Conversation>, BoxError> {
        Ok(None)
    }
}

/// Most entries kept; past it the cache is emptied (lookups are cheap, memory is not).
const MAX_ENTRIES: usize = 100_000;

/// The cache in front of a [`ConversationAccess`]. Misses (no such conversation) are not
/// cached, so a conversation created a moment ago is found at once.
pub(crate) struct AccessCache {
    source: Arc<dyn ConversationAccess>,
    ttl: Duration,
    entries: DashMap<(Uuid, Uuid), (Arc<Conversation>, Instant)>,
}

impl AccessCache {
    pub fn new(source: Arc<dyn ConversationAccess>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            entries: DashMap::new(),
        }
    }

    pub async fn may_listen(
        &self,
        tenant_id: Uuid,
        conversation_id: Uuid,
        user_id: Uuid,
    ) -> Result<bool> {
        let key = (tenant_id, conversation_id);
        let cached = self
            .entries
            .get(&key)
            .filter(|e| e.1.elapsed() < self.ttl)
            .map(|e| e.0.clone());
        let conversation = match cached {
            Some(conversation) => conversation,
            None => {
                let Some(found) = self
                    .source
                    .conversation(tenant_id, conversation_id)
                    .await
                    .map_err(Error::Access)?
                else {
                    return Ok(false);
                };
                if self.entries.len() >= MAX_ENTRIES {
                    self.entries.clear();
                }
                let found = Arc::new(found);
                self.entries.insert(key, (found.clone(), Instant::now()));
                found
            }
        };
        Ok(conversation.patient_user_ids.contains(&user_id))
    }

    pub fn invalidate(&self, tenant_id: Uuid, conversation_id: Uuid) {
        self.entries.remove(&(tenant_id, conversation_id));
    }
}
