//! The `qivr` command line: `serve`, `migrate`, `seed --demo`, `tenant create`, `worker`.

use std::collections::BTreeSet;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use qivr_shared::db::Database;
use qivr_shared::Config;

use crate::app::{Application, Roles};
use crate::provision;

#[derive(Parser)]
#[command(name = "qivr", version, about = "Qivr: the real-time clinic platform")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server. With no configuration: a private PostgreSQL under ./.qivr, the demo
    /// clinics on first start, and everything in one process.
    Serve {
        /// Which parts to run in this process (comma-separated), so each can scale on its own.
        #[arg(long, value_delimiter = ',', default_value = "api,realtime,workers")]
        roles: Vec<ServeRole>,
    },
    /// Applies pending database migrations and exits.
    Migrate,
    /// Seeds data.
    Seed {
        /// Creates the demo clinics, users and patients (never done outside a demo).
        #[arg(long)]
        demo: bool,
    },
    /// Manages clinics.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Runs only the background workers (same as `serve --roles workers`).
    Worker,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Creates a clinic and its first admin, and prints the admin's one-time password.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "Clinic admin")]
        admin_name: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum ServeRole {
    /// The REST API and the web apps.
    Api,
    /// The WebSocket hub.
    Realtime,
    /// Background jobs.
    Workers,
}

impl Cli {
    pub async fn run(self, config: Config) -> anyhow::Result<()> {
        match self.command {
            Command::Serve { roles } => serve(config, roles.into_iter().collect()).await,
            Command::Worker => serve(config, BTreeSet::from([ServeRole::Workers])).await,
            Command::Migrate => {
                Database::from_config(&config).await?.migrate().await?;
                println!("Migrations applied.");
                Ok(())
            }
            Command::Seed { demo } => {
                anyhow::ensure!(demo, "nothing to seed: pass --demo to create the demo clinics");
                let db = Database::from_config(&config).await?;
                db.migrate().await?;
                provision::seed_demo(&db.owner_pool().await?).await?;
                print!("{}", provision::demo_logins());
                Ok(())
            }
            Command::Tenant { command: TenantCommand::Create { slug, name, admin_email, admin_name } } => {
                let db = Database::from_config(&config).await?;
                db.migrate().await?;
                let created = provision::create_tenant(&db.owner_pool().await?, &slug, &name, &admin_email, &admin_name).await?;
                println!("Created clinic \"{slug}\" ({}).", created.tenant_id);
                println!("Admin login: {} / one-time password: {}", created.admin_email, created.one_time_password);
                println!("Sign in at {}/clinic/ and invite your staff from there.", config.public_url());
                Ok(())
            }
        }
    }
}

async fn serve(config: Config, roles: BTreeSet<ServeRole>) -> anyhow::Result<()> {
    let embedded = config.database_url.is_none();
    let db = Database::from_config(&config).await.context("starting the database")?;
    db.migrate().await.context("migrating the database")?;
    if embedded {
        let owner = db.owner_pool().await?;
        if provision::is_empty(&owner).await? {
            provision::seed_demo(&owner).await?;
        }
    }
    let pool = db.app_pool(32).await?;
    let show_demo = embedded && provision::has_demo(&pool).await?;

    let public_url = config.public_url();
    let app = Application::build(config, pool, Roles {
        api: roles.contains(&ServeRole::Api),
        realtime: roles.contains(&ServeRole::Realtime),
        workers: roles.contains(&ServeRole::Workers),
    })
    .await?;
    tracing::info!(addr = %app.local_addr(), ?roles, "qivr is listening");
    println!("\nQivr is running.");
    println!("  Clinic dashboard: {public_url}/clinic/");
    println!("  Patient portal:   {public_url}/portal/");
    println!("  API docs:         {public_url}/api/docs");
    if show_demo {
        print!("{}", provision::demo_logins());
    }
    println!("Press Ctrl+C to stop.\n");
    app.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl+C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
    tracing::info!("shutting down");
}
