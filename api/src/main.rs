//! The `qivr` binary: parses the command line, loads the configuration, sets up logging, and
//! hands over to [`qivr_api::cli`].

use clap::Parser;
use qivr_api::cli::Cli;
use qivr_shared::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load()?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    cli.run(config).await
}
