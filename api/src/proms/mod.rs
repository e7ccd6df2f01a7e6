//! Patient-reported outcome measures: what a questionnaire is and how it is scored, apart
//! from HTTP (the endpoints are in [`crate::routes::proms`]).
//!
//! # Layout
//!
//! - [`definition`]: the template definition (sections, items, scales, alerts), checked on save,
//!   and the checks answers must pass.
//! - [`scoring`]: the pure scoring engine, tested against the worked examples of PROMS.md.
//! - [`instruments`]: the standard instruments Qivr ships.
//! - [`fhir`]: FHIR R4 `Questionnaire` / `QuestionnaireResponse` JSON.
//!
//! Other modules that show a patient's outcomes (the medical summary) call [`latest_scores`].

pub mod definition;
pub mod fhir;
pub mod instruments;
pub mod scoring;

use chrono::{DateTime, Utc};
use qivr_shared::tenancy::Tx;
use serde::Serialize;
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use scoring::ScaleScore;

/// A patient's most recent completed response to one questionnaire, with its scores.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PromLatestScore)]
pub struct LatestScore {
    pub template_id: Uuid,
    /// The name of the version the patient answered.
    pub template_name: String,
    /// The standard instrument (`phq9`, `odi`, ...), or `None` for a clinic's own.
    pub instrument: Option<String>,
    pub instance_id: Uuid,
    pub submitted_at: DateTime<Utc>,
    pub scales: Vec<ScaleScore>,
}

/// The patient's latest scores, one entry per scored questionnaire they have completed, most
/// recent first. It reads only; the caller records the access in the audit log with its own
/// action (e.g. `Entry::patient("summary.read", ...)`).
pub async fn latest_scores(tx: &mut Tx, tenant_id: Uuid, patient_id: Uuid) -> sqlx::Result<Vec<LatestScore>> {
    // language=PostgreSQL
    let mut rows = sqlx::query!(
        r#"SELECT DISTINCT ON (i.template_id)
                  i.template_id, v.name, t.instrument, i.id, i.submitted_at AS "submitted_at!",
                  i.scores AS "scores!: Json<Vec<ScaleScore>>"
           FROM prom_instances i
           JOIN prom_template_versions v ON v.id = i.template_version_id
           JOIN prom_templates t ON t.id = i.template_id
           WHERE i.tenant_id = $1 AND i.patient_id = $2 AND i.status = 'completed'
             AND jsonb_array_length(i.scores) > 0 AND i.deleted_at IS NULL
           ORDER BY i.template_id, i.submitted_at DESC"#,
        tenant_id,
        patient_id
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.submitted_at));
    Ok(rows
        .into_iter()
        .map(|r| LatestScore {
            template_id: r.template_id,
            template_name: r.name,
            instrument: r.instrument,
            instance_id: r.id,
            submitted_at: r.submitted_at,
            scales: r.scores.0,
        })
        .collect())
}
