//! Tenant-scoped transactions: the only way request handling touches tenant data.
//!
//! Row-level security policies compare each row's `tenant_id` with the transaction-local
//! setting `app.tenant_id`; the audit-field triggers read `app.user_id`. Both are set with
//! `set_config(..., true)`, so they vanish at commit or rollback and a pooled connection never
//! carries one request's tenant into the next.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub type Tx = Transaction<'static, Postgres>;

/// Begins a transaction that sees only `tenant_id`'s rows and records `actor` as the author
/// of what it writes.
pub async fn begin(pool: &PgPool, tenant_id: Uuid, actor: Option<Uuid>) -> sqlx::Result<Tx> {
    let mut tx = pool.begin().await?;
    let actor = actor.map(|id| id.to_string()).unwrap_or_default();
    // language=PostgreSQL
    sqlx::query("SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)")
        .bind(tenant_id.to_string())
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
