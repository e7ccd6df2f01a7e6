//! Writing the access audit log (DESIGN §3): every read and write of a patient's data, and
//! every login, failed login, lockout and role change.
//!
//! Entries are written in the same transaction as the access they describe, so an access
//! that happened is always logged and a logged access always happened. Hashing and chaining
//! happen in the database (trigger `access_audit_chain`), so no code path can skip them.

use qivr_shared::auth::Role;
use qivr_shared::tenancy::Tx;
use uuid::Uuid;

use crate::extract::{Caller, ClientInfo};

/// What was done, to what.
pub struct Entry {
    /// Dotted verb, e.g. `patient.read`, `condition.update`, `auth.login_failed`.
    pub action: &'static str,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<Uuid>,
    /// The patient whose data this is, so reports by patient find it.
    pub patient_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

impl Entry {
    pub fn new(action: &'static str) -> Self {
        Entry { action, resource_type: None, resource_id: None, patient_id: None, detail: serde_json::json!({}) }
    }

    /// An access to a patient's data: `resource` is the row touched (the patient itself, or
    /// one of their conditions, documents, ...).
    pub fn patient(action: &'static str, patient_id: Uuid, resource_type: &'static str, resource_id: Uuid) -> Self {
        Entry {
            resource_type: Some(resource_type),
            resource_id: Some(resource_id),
            patient_id: Some(patient_id),
            ..Entry::new(action)
        }
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Who did it: a user, or nobody known (a failed login for an unknown email).
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub role: Option<Role>,
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        Actor { user_id: Some(caller.principal.user_id), role: Some(caller.principal.role) }
    }
}

/// Appends one entry, in the tenant transaction `tx`.
pub async fn record(tx: &mut Tx, tenant_id: Uuid, actor: Actor, client: &ClientInfo, entry: Entry) -> sqlx::Result<()> {
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO access_audit (tenant_id, actor_user_id, actor_role, action, resource_type,
                                   resource_id, patient_id, ip, user_agent, request_id, detail,
                                   seq, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, '', '')",
        tenant_id,
        actor.user_id,
        actor.role.map(Role::as_str),
        entry.action,
        entry.resource_type,
        entry.resource_id,
        entry.patient_id,
        client.ip,
        client.user_agent,
        client.request_id,
        entry.detail,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Caller {
    /// Records an access by this caller.
    pub async fn audit(&self, tx: &mut Tx, entry: Entry) -> sqlx::Result<()> {
        record(tx, self.principal.tenant_id, self.into(), &self.client, entry).await
    }

    /// Records that this caller was shown these rows of patients' data, one entry each (so a
    /// report on any of those patients finds the list view too). `rows` are
    /// `(patient id, resource id)`.
    pub async fn audit_listed(&self, tx: &mut Tx, action: &str, resource_type: &str, rows: &[(Uuid, Uuid)]) -> sqlx::Result<()> {
        let (patients, resources): (Vec<Uuid>, Vec<Uuid>) = rows.iter().copied().unzip();
        // language=PostgreSQL
        sqlx::query!(
            "INSERT INTO access_audit (tenant_id, actor_user_id, actor_role, action, resource_type,
                                       resource_id, patient_id, ip, user_agent, request_id,
                                       seq, prev_hash, hash)
             SELECT $1, $2, $3, $4, $5, resource_id, patient_id, $6, $7, $8, 0, '', ''
             FROM unnest($9::uuid[], $10::uuid[]) AS listed (patient_id, resource_id)",
            self.principal.tenant_id,
            self.principal.user_id,
            self.principal.role.as_str(),
            action,
            resource_type,
            self.client.ip,
            self.client.user_agent,
            self.client.request_id,
            &patients,
            &resources,
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
