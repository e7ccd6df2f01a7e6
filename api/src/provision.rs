//! Creating clinics: `qivr tenant create` for real ones, and the demo (`qivr seed --demo`, or
//! the first start of the embedded default).
//!
//! The demo is a contract scripts rely on (DESIGN §9): clinics `harbour-physio` and
//! `summit-health`, each with `admin@`, `staff@`, `staff2@` and `patient1@` … `patient5@`
//! `<slug>.test`, all with [`DEMO_PASSWORD`].

use anyhow::Context;
use chrono::NaiveDate;
use qivr_shared::auth::{password, Role};
use qivr_shared::tenancy::{self, Tx};
use rand::distributions::{Alphanumeric, DistString};
use sqlx::PgPool;
use uuid::Uuid;

use crate::proms::definition::Answers;
use crate::proms::instruments::{self, Instrument};
use crate::proms::scoring;
use crate::routes::proms::{insert_template, TemplateVersion};
use crate::routes::consents;

pub const DEMO_PASSWORD: &str = "qivr-demo-password";
pub const DEMO_TENANTS: [(&str, &str); 2] = [("harbour-physio", "Harbour Physiotherapy"), ("summit-health", "Summit Health")];

/// The admin login of a newly provisioned clinic.
pub struct NewTenant {
    pub tenant_id: Uuid,
    pub admin_email: String,
    /// Shown once; only its hash is stored.
    pub one_time_password: String,
}

/// Creates a clinic and its first admin, with a random one-time password.
pub async fn create_tenant(pool: &PgPool, slug: &str, name: &str, admin_email: &str, admin_name: &str) -> anyhow::Result<NewTenant> {
    let one_time_password = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20);
    let hash = password::hash(one_time_password.clone()).await?;
    let tenant_id = insert_tenant(pool, slug, name).await?;
    let mut tx = tenancy::begin(pool, tenant_id, None).await?;
    let admin_email = admin_email.trim().to_lowercase();
    insert_user(&mut tx, tenant_id, &admin_email, admin_name, Role::Admin, &hash).await?;
    consents::install_defaults(&mut tx, tenant_id).await?;
    tx.commit().await?;
    Ok(NewTenant { tenant_id, admin_email, one_time_password })
}

async fn insert_tenant(pool: &PgPool, slug: &str, name: &str) -> anyhow::Result<Uuid> {
    // language=PostgreSQL
    sqlx::query_scalar!("INSERT INTO tenants (slug, name) VALUES ($1, $2) RETURNING id", slug, name)
        .fetch_one(pool)
        .await
        .with_context(|| format!("creating tenant {slug} (slugs are lowercase letters, digits and dashes, and unique)"))
}

async fn insert_user(tx: &mut Tx, tenant_id: Uuid, email: &str, name: &str, role: Role, hash: &str) -> sqlx::Result<Uuid> {
    // language=PostgreSQL
    sqlx::query_scalar!(
        "INSERT INTO users (tenant_id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        tenant_id,
        email,
        name,
        role as Role,
        hash,
    )
    .fetch_one(&mut **tx)
    .await
}

/// Whether the database holds no clinic at all (a fresh embedded start).
pub async fn is_empty(pool: &PgPool) -> sqlx::Result<bool> {
    // language=PostgreSQL
    sqlx::query_scalar!(r#"SELECT NOT EXISTS (SELECT 1 FROM tenants) AS "empty!""#).fetch_one(pool).await
}

/// Whether the demo clinics exist.
pub async fn has_demo(pool: &PgPool) -> sqlx::Result<bool> {
    // language=PostgreSQL
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM tenants WHERE slug = $1) AS "present!""#, DEMO_TENANTS[0].0)
        .fetch_one(pool)
        .await
}

struct DemoPatient {
    first: &'static str,
    last: &'static str,
    born: (i32, u32, u32),
    history: &'static str,
    condition: (&'static str, &'static str),
}

const PATIENTS: [DemoPatient; 5] = [
    DemoPatient { first: "Olivia", last: "Bennett", born: (1986, 4, 12), history: "Lumbar disc herniation 2019, managed conservatively.", condition: ("Chronic low back pain", "active") },
    DemoPatient { first: "Liam", last: "Chen", born: (1992, 9, 3), history: "ACL reconstruction (left knee) 2021.", condition: ("Patellofemoral pain", "active") },
    DemoPatient { first: "Ava", last: "Okafor", born: (1978, 1, 27), history: "Office worker; intermittent neck pain for 3 years.", condition: ("Cervical radiculopathy", "active") },
    DemoPatient { first: "Noah", last: "Fischer", born: (1969, 11, 15), history: "Type 2 diabetes; right shoulder stiffness since spring.", condition: ("Adhesive capsulitis", "active") },
    DemoPatient { first: "Mia", last: "Rossi", born: (2001, 6, 30), history: "Runner; recurrent ankle sprains.", condition: ("Lateral ankle sprain", "resolved") },
];

const STAFF: [(&str, &str, Role); 3] = [
    ("admin", "Harper Quinn", Role::Admin),
    ("staff", "Sam Taylor", Role::Staff),
    ("staff2", "Jordan Lee", Role::Staff),
];

const PROVIDERS: [(&str, &str); 3] = [
    ("Dr. Priya Nair", "Sports physiotherapy"),
    ("Dr. Marcus Webb", "Musculoskeletal physiotherapy"),
    ("Elena Santos", "Occupational therapy"),
];

/// Creates the demo clinics. Does nothing when they already exist.
pub async fn seed_demo(pool: &PgPool) -> anyhow::Result<()> {
    if has_demo(pool).await? {
        tracing::info!("the demo clinics already exist");
        return Ok(());
    }
    let hash = password::hash(DEMO_PASSWORD.into()).await?;
    for (slug, name) in DEMO_TENANTS {
        let tenant_id = insert_tenant(pool, slug, name).await?;
        let mut tx = tenancy::begin(pool, tenant_id, None).await?;
        let mut clinic_users = Vec::new();
        for (local, name, role) in STAFF {
            clinic_users.push(insert_user(&mut tx, tenant_id, &format!("{local}@{slug}.test"), name, role, &hash).await?);
        }
        consents::install_defaults(&mut tx, tenant_id).await?;
        let weekdays_8_to_6: Vec<serde_json::Value> =
            (1..=5).map(|day| serde_json::json!({ "weekday": day, "start": "08:00", "end": "18:00" })).collect();
        let mut providers = Vec::new();
        for (name, specialty) in PROVIDERS {
            // language=PostgreSQL
            let id = sqlx::query_scalar!(
                "INSERT INTO providers (tenant_id, name, specialty, working_hours) VALUES ($1, $2, $3, $4) RETURNING id",
                tenant_id,
                name,
                specialty,
                serde_json::Value::from(weekdays_8_to_6.clone()),
            )
            .fetch_one(&mut *tx)
            .await?;
            providers.push(id);
        }
        let mut patient_ids = Vec::new();
        for (n, patient) in PATIENTS.iter().enumerate() {
            let email = format!("patient{}@{slug}.test", n + 1);
            let name = format!("{} {}", patient.first, patient.last);
            let user_id = insert_user(&mut tx, tenant_id, &email, &name, Role::Patient, &hash).await?;
            let (y, m, d) = patient.born;
            // language=PostgreSQL
            let patient_id = sqlx::query_scalar!(
                "INSERT INTO patients (tenant_id, user_id, first_name, last_name, date_of_birth, email, phone, medical_history)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                tenant_id,
                user_id,
                patient.first,
                patient.last,
                NaiveDate::from_ymd_opt(y, m, d).context("demo birth date")?,
                email,
                format!("+61 400 000 00{}", n + 1),
                patient.history,
            )
            .fetch_one(&mut *tx)
            .await?;
            let (condition, status) = patient.condition;
            // language=PostgreSQL
            sqlx::query!(
                "INSERT INTO conditions (tenant_id, patient_id, name, status, onset_date, resolved_date)
                 VALUES ($1, $2, $3, $4, current_date - 200, CASE WHEN $4 = 'resolved' THEN current_date - 30 END)",
                tenant_id,
                patient_id,
                condition,
                status,
            )
            .execute(&mut *tx)
            .await?;
            seed_activity(&mut tx, tenant_id, patient_id, n, &providers).await?;
            if let Some(&(_, subject, messages)) = CONVERSATIONS.iter().find(|(index, ..)| *index == n) {
                seed_conversation(&mut tx, tenant_id, patient_id, user_id, clinic_users[1], subject, messages).await?;
            }
            patient_ids.push(patient_id);
            grant_required_consents(&mut tx, tenant_id, patient_id).await?;
        }
        seed_proms(&mut tx, tenant_id, &patient_ids).await?;
        tx.commit().await?;
        tracing::info!(tenant.slug = slug, "demo clinic created");
    }
    Ok(())
}

/// The demo patients have granted their clinic's required consents, so the portal opens
/// straight away for them (patients added later are asked first).
async fn grant_required_consents(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid) -> sqlx::Result<()> {
    // language=PostgreSQL
    sqlx::query!(
        "INSERT INTO consent_decisions (tenant_id, patient_id, consent_type_id, consent_version_id, decision, recorded_by_role)
         SELECT $1, $2, t.id, v.id, 'granted', 'patient'
         FROM consent_types t JOIN consent_versions v ON v.consent_type_id = t.id
         WHERE t.tenant_id = $1 AND t.required",
        tenant_id,
        patient_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives demo patient `n` (0-based) something on every screen: upcoming and past
/// appointments for the first three, an intake waiting in the evaluation queue for the rest.
async fn seed_activity(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, n: usize, providers: &[Uuid]) -> sqlx::Result<()> {
    let provider = providers[n % providers.len()];
    if n < 3 {
        // language=PostgreSQL
        sqlx::query!(
            "INSERT INTO appointments (tenant_id, patient_id, provider_id, starts_at, ends_at, kind, location, status)
             VALUES ($1, $2, $3, date_trunc('day', now()) + make_interval(days => $4, hours => $5),
                     date_trunc('day', now()) + make_interval(days => $4, hours => $5, mins => 45), 'follow_up', 'Room 1', 'scheduled'),
                    ($1, $2, $3, date_trunc('day', now()) - make_interval(days => 14 - $4, hours => -$5),
                     date_trunc('day', now()) - make_interval(days => 14 - $4, hours => -$5, mins => -45), 'initial', 'Room 1', 'completed')",
            tenant_id,
            patient_id,
            provider,
            n as i32 + 1,
            9 + n as i32,
        )
        .execute(&mut **tx)
        .await?;
    } else {
        let (complaint, pain, flags): (&str, i16, &[String]) = match n {
            3 => ("Right shoulder stiff and painful when reaching overhead", 6, &[]),
            _ => ("Ankle gave way again while running; swollen", 7, &[]),
        };
        // language=PostgreSQL
        sqlx::query!(
            "WITH intake AS (
                 INSERT INTO intakes (tenant_id, patient_id, chief_complaint, pain_level, red_flags, goals)
                 VALUES ($1, $2, $3, $4, $5, 'Back to normal activity') RETURNING id)
             INSERT INTO evaluations (tenant_id, intake_id, patient_id, status)
             SELECT $1, id, $2, $6 FROM intake",
            tenant_id,
            patient_id,
            complaint,
            pain,
            flags,
            if n == 3 { "pending" } else { "in_review" },
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Demo conversations by patient index: a subject and three messages (patient, clinic, patient).
/// The patient has read everything; the clinic has the patient's last message unread.
const CONVERSATIONS: [(usize, &str, [&str; 3]); 2] = [
    (0, "Hamstring stretch", ["Should the hamstring stretch hurt? It pulls a lot at the back of my knee.", "A gentle pull is fine; stop if the pain is sharp or lasts after you stop. Hold 30 seconds, three times.", "Thanks! It feels easier today."]),
    (3, "Shoulder exercises", ["Can I do the pendulum exercise more than twice a day?", "Yes, little and often is good for a stiff shoulder: up to five times a day.", "Great, I'll keep going and see you next week."]),
];

async fn seed_conversation(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid, patient_user: Uuid, staff_user: Uuid, subject: &str, [asked, answered, thanked]: [&str; 3]) -> sqlx::Result<()> {
    // language=PostgreSQL
    sqlx::query!(
        "WITH c AS (
             INSERT INTO conversations (tenant_id, patient_id, subject, assignee_user_id, last_message_at)
             VALUES ($1, $2, $3, $5, now() - interval '2 hours') RETURNING id),
         m AS (
             INSERT INTO messages (tenant_id, conversation_id, sender_user_id, sender_role, body, created_at)
             SELECT $1, c.id, x.sender, x.role, x.body, now() - x.ago
             FROM c, (VALUES ($4::uuid, 'patient', $6::text, interval '26 hours'),
                             ($5::uuid, 'staff', $7::text, interval '20 hours'),
                             ($4::uuid, 'patient', $8::text, interval '2 hours')) AS x (sender, role, body, ago)
             RETURNING id, sender_role, created_at)
         INSERT INTO conversation_reads (tenant_id, conversation_id, user_id, unread_count, last_read_message_id, last_read_at)
         SELECT $1, c.id, u.id,
                CASE WHEN u.id = $4 THEN 0 ELSE 1 END,
                CASE WHEN u.id = $4 THEN (SELECT id FROM m ORDER BY created_at DESC LIMIT 1)
                     ELSE (SELECT id FROM m WHERE sender_role = 'staff') END,
                now() - interval '2 hours'
         FROM c, users u WHERE u.tenant_id = $1 AND (u.role <> 'patient' OR u.id = $4)",
        tenant_id,
        patient_id,
        subject,
        patient_user,
        staff_user,
        asked,
        answered,
        thanked,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// PHQ-9 and GAD-7 templates, and PROMs on the screens: patient 1 has three fortnightly
/// PHQ-9 completions improving over six weeks and the fourth due now, patient 2 a PHQ-9 due
/// now, patient 3 a GAD-7 overdue since yesterday.
async fn seed_proms(tx: &mut Tx, tenant_id: Uuid, patients: &[Uuid]) -> anyhow::Result<()> {
    let mut templates = Vec::new();
    for instrument in [Instrument::Phq9, Instrument::Gad7] {
        let definition = instruments::definition(instrument);
        let version = TemplateVersion { name: instrument.name().into(), description: None, definition: definition.clone() };
        templates.push((insert_template(tx, tenant_id, Some(instrument), &version).await?, definition));
    }
    let [(phq9, phq9_definition), (gad7, _)] = &templates[..] else { unreachable!("two templates") };
    // (patient, template, first due in days from today, every days, occurrences, answers of the completed ones)
    let plan: [(usize, Uuid, i32, Option<i32>, i32, &[[u8; 9]]); 3] = [
        (0, *phq9, -42, Some(14), 4, &[[2, 2, 2, 2, 1, 2, 1, 1, 0], [1, 1, 2, 1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 1, 1, 0, 0]]),
        (1, *phq9, 0, None, 1, &[]),
        (2, *gad7, -1, None, 1, &[]),
    ];
    for (n, template_id, first_due_days, every_days, occurrences, completed) in plan {
        // language=PostgreSQL
        let assignment_id = sqlx::query_scalar!(
            "INSERT INTO prom_assignments (tenant_id, patient_id, template_id, first_due_at, every_days, occurrences)
             VALUES ($1, $2, $3, date_trunc('hour', now()) + make_interval(days => $4), $5, $6) RETURNING id",
            tenant_id,
            patients[n],
            template_id,
            first_due_days,
            every_days,
            occurrences,
        )
        .fetch_one(&mut **tx)
        .await?;
        for k in 0..occurrences {
            let answers: Option<Answers> = completed
                .get(k as usize)
                .map(|values| values.iter().enumerate().map(|(i, v)| (format!("phq9_{}", i + 1), serde_json::json!(v))).collect());
            let scores = answers.as_ref().map(|a| serde_json::to_value(scoring::score(phq9_definition, a).scales).expect("scores serialize"));
            // language=PostgreSQL
            sqlx::query!(
                "INSERT INTO prom_instances (tenant_id, assignment_id, patient_id, template_id, template_version_id, due_at,
                                             status, answers, started_at, submitted_at, scores)
                 SELECT $1, a.id, a.patient_id, a.template_id, v.id, a.first_due_at + make_interval(days => $3 * coalesce(a.every_days, 0)),
                        CASE WHEN $4::jsonb IS NULL THEN 'pending' ELSE 'completed' END, coalesce($4, '{}'),
                        CASE WHEN $4::jsonb IS NOT NULL THEN a.first_due_at + make_interval(days => $3 * coalesce(a.every_days, 0), hours => 5) END,
                        CASE WHEN $4::jsonb IS NOT NULL THEN a.first_due_at + make_interval(days => $3 * coalesce(a.every_days, 0), hours => 5) END,
                        $5
                 FROM prom_assignments a JOIN prom_template_versions v ON v.template_id = a.template_id AND v.version = 1
                 WHERE a.tenant_id = $1 AND a.id = $2",
                tenant_id,
                assignment_id,
                k,
                answers.map(|a| serde_json::to_value(a).expect("answers serialize")),
                scores,
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// The demo logins, for the start-up banner.
pub fn demo_logins() -> String {
    let mut out = format!("Demo logins (password for all: {DEMO_PASSWORD}):\n");
    for (slug, name) in DEMO_TENANTS {
        out.push_str(&format!(
            "  {name} (clinic \"{slug}\"): admin@{slug}.test, staff@{slug}.test, staff2@{slug}.test; \
             patients patient1@{slug}.test … patient5@{slug}.test\n"
        ));
    }
    out
}
