//! Bulk set-up for runs at scale: thousands of clinics, users, patients, conversations and
//! sessions written with a handful of `INSERT … SELECT FROM unnest(…)` statements (one
//! round trip per table per chunk, not per row), and their access tokens signed locally.

use std::sync::Arc;

use qivr_shared::auth::{Authenticator, Role};
use sqlx::PgPool;
use uuid::Uuid;

/// Rows per statement.
const CHUNK: usize = 5_000;

/// A user who can connect: their id and a signed access token.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub token: String,
}

/// A conversation between a patient and the staff member it is assigned to.
#[derive(Debug, Clone)]
pub struct Pair {
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    pub patient: Member,
    pub staff: Member,
}

/// Creates `count` conversations, `per_tenant` to a clinic, each between its own patient and
/// its own staff member (so a clinic has `per_tenant` staff: sending a message bumps the
/// unread count of every clinic user, and a realistic clinic is small).
pub async fn conversations(
    owner: &PgPool,
    auth: &Arc<Authenticator>,
    count: usize,
    per_tenant: usize,
) -> anyhow::Result<Vec<Pair>> {
    let per_tenant = per_tenant.max(1);
    let run = Uuid::new_v4().simple().to_string()[..8].to_string();
    let tenants: Vec<Uuid> = (0..count.div_ceil(per_tenant))
        .map(|_| Uuid::new_v4())
        .collect();
    let pairs: Vec<Pair> = (0..count)
        .map(|n| Pair {
            tenant_id: tenants[n / per_tenant],
            conversation_id: Uuid::new_v4(),
            patient: Member {
                user_id: Uuid::new_v4(),
                token: String::new(),
            },
            staff: Member {
                user_id: Uuid::new_v4(),
                token: String::new(),
            },
        })
        .collect();

    for chunk in tenants.chunks(CHUNK) {
        let slugs: Vec<String> = chunk
            .iter()
            .map(|t| format!("load-{run}-{}", t.simple()))
            .collect();
        // language=PostgreSQL
        sqlx::query("INSERT INTO tenants (id, slug, name) SELECT id, slug, 'Load test' FROM unnest($1::uuid[], $2::text[]) AS t(id, slug)")
            .bind(chunk)
            .bind(&slugs)
            .execute(owner)
            .await?;
    }
    for chunk in pairs.chunks(CHUNK) {
        let column = |f: fn(&Pair) -> Uuid| chunk.iter().map(f).collect::<Vec<Uuid>>();
        let (tenant, conversation) = (column(|p| p.tenant_id), column(|p| p.conversation_id));
        let (patient, staff) = (column(|p| p.patient.user_id), column(|p| p.staff.user_id));
        let patient_record: Vec<Uuid> = chunk.iter().map(|_| Uuid::new_v4()).collect();
        // language=PostgreSQL
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, name, role)
             SELECT id, tenant_id, replace(id::text, '-', '') || '@load.test', name, role::user_role
             FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::uuid[]) AS tenant_id, 'Load Patient' AS name, 'patient' AS role
                   UNION ALL
                   SELECT unnest($3::uuid[]), unnest($2::uuid[]), 'Load Staff', 'staff') AS u",
        )
        .bind(&patient)
        .bind(&tenant)
        .bind(&staff)
        .execute(owner)
        .await?;
        // language=PostgreSQL
        sqlx::query(
            "INSERT INTO patients (id, tenant_id, user_id, first_name, last_name, date_of_birth)
             SELECT id, tenant_id, user_id, 'Load', 'Patient', date '1980-01-01'
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS p(id, tenant_id, user_id)",
        )
        .bind(&patient_record)
        .bind(&tenant)
        .bind(&patient)
        .execute(owner)
        .await?;
        // language=PostgreSQL
        sqlx::query(
            "INSERT INTO conversations (id, tenant_id, patient_id, subject, assignee_user_id)
             SELECT id, tenant_id, patient_id, 'Load test', assignee
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[]) AS c(id, tenant_id, patient_id, assignee)",
        )
        .bind(&conversation)
        .bind(&tenant)
        .bind(&patient_record)
        .bind(&staff)
        .execute(owner)
        .await?;
    }
    let mut pairs = pairs;
    let mut users: Vec<(Uuid, Uuid, Role)> = Vec::with_capacity(pairs.len() * 2);
    for pair in &pairs {
        users.push((pair.tenant_id, pair.patient.user_id, Role::Patient));
        users.push((pair.tenant_id, pair.staff.user_id, Role::Staff));
    }
    let tokens = sessions(owner, auth, &users).await?;
    for (pair, tokens) in pairs.iter_mut().zip(tokens.chunks(2)) {
        pair.patient.token = tokens[0].clone();
        pair.staff.token = tokens[1].clone();
    }
    Ok(pairs)
}

/// A live session for each `(tenant, user, role)` and an access token for it, in order.
pub async fn sessions(
    owner: &PgPool,
    auth: &Authenticator,
    users: &[(Uuid, Uuid, Role)],
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<Uuid> = users.iter().map(|_| Uuid::new_v4()).collect();
    for (chunk, ids) in users.chunks(CHUNK).zip(ids.chunks(CHUNK)) {
        let tenant: Vec<Uuid> = chunk.iter().map(|u| u.0).collect();
        let user: Vec<Uuid> = chunk.iter().map(|u| u.1).collect();
        // language=PostgreSQL
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, user_id, expires_at)
             SELECT id, tenant_id, user_id, now() + interval '1 day'
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS s(id, tenant_id, user_id)",
        )
        .bind(ids)
        .bind(&tenant)
        .bind(&user)
        .execute(owner)
        .await?;
    }
    users
        .iter()
        .zip(&ids)
        .map(|(&(tenant, user, role), &session)| Ok(auth.issue(user, tenant, role, session)?.token))
        .collect()
}

/// `count` staff members of `tenant_id`, each with a session; their access tokens.
pub async fn staff(
    owner: &PgPool,
    auth: &Authenticator,
    tenant_id: Uuid,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let users: Vec<(Uuid, Uuid, Role)> = (0..count)
        .map(|_| (tenant_id, Uuid::new_v4(), Role::Staff))
        .collect();
    for chunk in users.chunks(CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|u| u.1).collect();
        // language=PostgreSQL
        sqlx::query(
            "INSERT INTO users (id, tenant_id, email, name, role)
             SELECT id, $2, replace(id::text, '-', '') || '@load.test', 'Load Staff', 'staff'
             FROM unnest($1::uuid[]) AS u(id)",
        )
        .bind(&ids)
        .bind(tenant_id)
        .execute(owner)
        .await?;
    }
    sessions(owner, auth, &users).await
}
