//! Row-level security: isolation that holds even when a query forgets its tenant filter.

use qivr_shared::tenancy;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_server_role_is_bound_by_row_level_security() {
    let app = spawn_app().await;
    let (user, superuser, bypass): (String, bool, bool) = sqlx::query_as(
        "SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(user, "qivr_app");
    assert!(!superuser && !bypass);
}

#[tokio::test]
async fn a_query_that_forgets_the_tenant_filter_still_sees_only_its_tenant() {
    let app = spawn_app().await;
    let harbour = app.tenant_id("harbour-physio").await;
    let summit = app.tenant_id("summit-health").await;
    let everyone: i64 = sqlx::query_scalar("SELECT count(*) FROM patients").fetch_one(&app.owner).await.unwrap();
    assert_eq!(everyone, 10, "the owner sees both clinics' patients");

    for tenant in [harbour, summit] {
        let mut tx = tenancy::begin(&app.pool, tenant, None).await.unwrap();
        // Deliberately no WHERE tenant_id = ...
        let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM patients")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(tenants, [tenant]);
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(users, 8, "3 clinic users and 5 patients");
        // Updates and deletes without a filter cannot reach the other clinic either.
        let touched = sqlx::query("UPDATE patients SET phone = phone").execute(&mut *tx).await.unwrap();
        assert_eq!(touched.rows_affected(), 5);
        tx.rollback().await.unwrap();
    }

    // Outside a tenant transaction, nothing is visible at all.
    let unscoped: i64 = sqlx::query_scalar("SELECT count(*) FROM patients").fetch_one(&app.pool).await.unwrap();
    assert_eq!(unscoped, 0);
}

#[tokio::test]
async fn rows_cannot_be_written_into_another_tenant() {
    let app = spawn_app().await;
    let harbour = app.tenant_id("harbour-physio").await;
    let summit = app.tenant_id("summit-health").await;
    let mut tx = tenancy::begin(&app.pool, harbour, None).await.unwrap();
    let error = sqlx::query(
        "INSERT INTO patients (tenant_id, first_name, last_name, date_of_birth) VALUES ($1, 'Eve', 'Intruder', '1990-01-01')",
    )
    .bind(summit)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed_even_by_its_owner() {
    let app = spawn_app().await;
    app.login("harbour-physio", "staff").await;
    let harbour = app.tenant_id("harbour-physio").await;

    let mut tx = tenancy::begin(&app.pool, harbour, None).await.unwrap();
    let denied = sqlx::query("UPDATE access_audit SET action = 'nothing'").execute(&mut *tx).await.unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    tx.rollback().await.unwrap();

    for statement in ["UPDATE access_audit SET action = 'nothing'", "DELETE FROM access_audit", "TRUNCATE access_audit"] {
        let refused = sqlx::query(statement).execute(&app.owner).await.unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{statement}: {refused}");
    }
}
