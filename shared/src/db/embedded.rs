//! The embedded default: a private PostgreSQL cluster under `./.qivr/pg`, made with the
//! machine's own `initdb` and run with `pg_ctl`, listening on a Unix socket only.
//!
//! PostgreSQL refuses to run as root, so when Qivr itself runs as root the cluster is owned by
//! and run as the `postgres` system user (which Debian's packages create).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor};

const DATABASE: &str = "qivr";
const SUPERUSER: &str = "postgres";
const INSTALL_HINT: &str = "PostgreSQL's server binaries (initdb, pg_ctl) were not found. \
     Install them with `sudo apt-get install postgresql` (Debian/Ubuntu), set QIVR_PG_BINDIR \
     to their folder, or set DATABASE_URL to use an existing server.";

/// A running private cluster; stopped when dropped.
pub struct EmbeddedPostgres {
    root: PathBuf,
    bindir: PathBuf,
    run_as: Option<String>,
}

impl EmbeddedPostgres {
    /// Creates the cluster on first use, starts it, and makes sure the `qivr` database exists.
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let root = root.canonicalize()?;
        let bindir = find_bindir().context(INSTALL_HINT)?;
        let run_as = running_as_root().then(|| SUPERUSER.to_string());
        let cluster = Self { root, bindir, run_as };

        if let Some(user) = &cluster.run_as {
            let mut chown = Command::new("chown");
            chown.args(["-R", user]).arg(&cluster.root);
            run(chown)?;
        }
        if !cluster.data_dir().join("PG_VERSION").exists() {
            tracing::info!(path = %cluster.data_dir().display(), "creating the embedded PostgreSQL cluster");
            let mut initdb = cluster.command("initdb");
            initdb.arg("-D").arg(cluster.data_dir());
            initdb.args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale"]);
            run(initdb)?;
        }
        let options = format!("-c listen_addresses='' -k {}", cluster.root.display());
        let mut start = cluster.command("pg_ctl");
        start.arg("-D").arg(cluster.data_dir()).arg("-l").arg(cluster.root.join("postgres.log"));
        start.args(["-w", "-o", &options, "start"]);
        run(start)?;
        tracing::info!(socket = %cluster.root.display(), "embedded PostgreSQL started");

        let mut admin = cluster.connect_options().database("postgres").connect().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut admin)
                .await?;
        if !exists {
            admin.execute(format!("CREATE DATABASE {DATABASE}").as_str()).await?;
        }
        Ok(cluster)
    }

    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.root)
            .username(SUPERUSER)
            .database(DATABASE)
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// A command running one of the cluster's binaries, as the `postgres` user when we are root.
    fn command(&self, binary: &str) -> Command {
        let program = self.bindir.join(binary);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(self.data_dir()).args(["-m", "fast", "-w", "stop"]);
        match run(stop) {
            Ok(()) => tracing::info!("embedded PostgreSQL stopped"),
            Err(error) => tracing::warn!(%error, "stopping embedded PostgreSQL failed"),
        }
    }
}

fn run(mut command: Command) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// `QIVR_PG_BINDIR`, else `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`.
fn find_bindir() -> Option<PathBuf> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("QIVR_PG_BINDIR").map(PathBuf::from) {
        return has_initdb(&dir).then_some(dir);
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if output.status.success() && has_initdb(&dir) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_initdb(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
