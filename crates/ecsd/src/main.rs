//! `ecsd`: an Elastic Cloud Server. See README.md.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ecsd::ServeConfig;

#[derive(Parser)]
#[command(name = "ecsd", version, about = "Elastic Cloud Server: an ECS- and Nova-compatible compute service")]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// All in one: API and everything behind it, embedded SQLite by default.
    Serve(ServeArgs),
    /// The API on a shared PostgreSQL database (one of several API nodes).
    Api(ServeArgs),
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply pending migrations and exit.
    Migrate(DatabaseArgs),
}

#[derive(Args, Clone)]
struct DatabaseArgs {
    /// Where the embedded SQLite database lives.
    #[arg(long, env = "ECSD_DATA_DIR", default_value = "./ecsd-data")]
    data_dir: PathBuf,
    /// A database URL (`postgres://user:pass@host/db`, or `sqlite://file?mode=rwc`)
    /// instead of the SQLite file under --data-dir.
    #[arg(long, env = "ECSD_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on. Anything but loopback requires non-default passwords.
    #[arg(long, env = "ECSD_LISTEN", default_value = "127.0.0.1:8774")]
    listen: SocketAddr,
    /// Region named in the service catalog.
    #[arg(long, env = "ECSD_REGION", default_value = "RegionOne")]
    region: String,
    /// Base URL for links and the catalog, when clients reach ecsd through a proxy.
    #[arg(long, env = "ECSD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Password of the seeded `admin` user (set at first start, replaced at later ones).
    #[arg(long, env = "ECSD_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Password of the seeded `demo` user.
    #[arg(long, env = "ECSD_DEMO_PASSWORD", hide_env_values = true)]
    demo_password: Option<String>,
}

impl ServeArgs {
    fn into_config(self) -> ServeConfig {
        ServeConfig {
            listen: self.listen,
            data_dir: self.database.data_dir,
            database_url: self.database.database_url,
            region: self.region,
            public_url: self.public_url,
            admin_password: self.admin_password,
            demo_password: self.demo_password,
            core: ecs_core::CoreConfig::default(),
        }
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let running = ecsd::start(config.clone()).await?;
    // A closed stdout (a supervisor that stopped reading) must not stop the service.
    let _ = writeln!(std::io::stdout().lock(), "{}", ecsd::banner(&running, &config));
    tracing::info!(addr = %running.addr, "listening");
    tokio::select! {
        result = async { tokio::signal::ctrl_c().await } => {
            result?;
            tracing::info!("shutting down");
            running.stop().await
        }
        result = terminate() => {
            result?;
            tracing::info!("shutting down");
            running.stop().await
        }
    }
}

async fn terminate() -> std::io::Result<()> {
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    sigterm.recv().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(args.into_config()).await,
        Command::Api(args) => {
            if args.database.database_url.as_deref().is_none_or(|u| !u.starts_with("postgres")) {
                anyhow::bail!("`ecsd api` runs on a shared PostgreSQL database: pass --database-url postgres://…");
            }
            serve(args.into_config()).await
        }
        Command::Db { command: DbCommand::Migrate(args) } => {
            let config = ServeArgs {
                database: args,
                listen: "127.0.0.1:0".parse()?,
                region: String::new(),
                public_url: None,
                admin_password: None,
                demo_password: None,
            }
            .into_config();
            let store = ecsd::open_store(&config).await?;
            store.close().await;
            println!("migrations applied");
            Ok(())
        }
    }
}
