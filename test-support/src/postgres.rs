//! Postgres for tests: a fresh database on the machine's shared server
//! (127.0.0.1:5432, user `postgres`, trust auth, as scripts/test.sh expects), and a private
//! throw-away cluster a test may stop and start at will without touching the
//! shared one. Both are driven with the stock client tools (`psql`, `initdb`,
//! `pg_ctl`), so this crate needs no database driver.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::{check, free_port};

/// The shared server's address.
const SHARED_HOST: &str = "127.0.0.1";
const SHARED_PORT: u16 = 5432;

/// Whether the shared Postgres answers (tests that need it fail loudly if not;
/// this is for messages).
pub fn shared_postgres_available() -> bool {
    psql(SHARED_HOST, SHARED_PORT, "postgres", "SELECT 1").is_ok()
}

/// A fresh, uniquely named database, dropped (with its connections) on drop.
pub struct PgDatabase {
    host: String,
    port: u16,
    name: String,
}

impl PgDatabase {
    /// A new database on the shared server.
    pub fn create() -> anyhow::Result<Self> {
        Self::create_on(SHARED_HOST, SHARED_PORT)
    }

    /// A new database on the server at `host:port`.
    pub fn create_on(host: &str, port: u16) -> anyhow::Result<Self> {
        let name = format!("sigil_test_{:016x}", random_u64());
        psql(host, port, "postgres", &format!("CREATE DATABASE {name}"))
            .with_context(|| format!("creating database {name} on {host}:{port}"))?;
        Ok(Self {
            host: host.to_owned(),
            port,
            name,
        })
    }

    /// `postgres://postgres@host:port/name`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@{}:{}/{}",
            self.host, self.port, self.name
        )
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL in this database; the rows, one per line, columns `|`-separated.
    pub fn query(&self, sql: &str) -> anyhow::Result<String> {
        psql(&self.host, self.port, &self.name, sql)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.host,
            self.port,
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// A private Postgres 15 cluster in a temporary directory, on a free port,
/// run as the `postgres` OS user (initdb refuses root). Stopped on drop.
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl PrivatePostgres {
    /// `initdb` + start.
    pub fn start() -> anyhow::Result<Self> {
        let bin = pg_bin_dir()?;
        let dir = tempfile::Builder::new().prefix("sigil-pg-").tempdir()?;
        // The `postgres` user must reach the data directory inside.
        chmod_755(dir.path())?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data)?;
        let out = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&data)
            .arg(dir.path())
            .output()?;
        check(&out, "chown postgres")?;
        let out = as_postgres(&bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .output()?;
        check(&out, "initdb")?;
        let pg = Self {
            dir,
            port: free_port(),
            bin,
        };
        pg.start_server()?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_server(&self) -> anyhow::Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        let out = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-o", &opts, "-l"])
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "30", "start"])
            .output()?;
        check(&out, "pg_ctl start")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while psql(SHARED_HOST, self.port, "postgres", "SELECT 1").is_err() {
            if Instant::now() > deadline {
                bail!("private Postgres did not come up:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops the server the way a crash would (`pg_ctl stop -m immediate`).
    pub fn stop_immediate(&self) -> anyhow::Result<()> {
        let out = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .output()?;
        check(&out, "pg_ctl stop")
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A fresh database on this server.
    pub fn database(&self) -> anyhow::Result<PgDatabase> {
        PgDatabase::create_on(SHARED_HOST, self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
    }
}

/// Runs a SQL statement with `psql`, failing with its output.
fn psql(host: &str, port: u16, db: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([
            "-h",
            host,
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
        ])
        .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .context("running psql")?;
    check(&out, "psql")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `cmd` run as the `postgres` OS user (from root via `runuser`).
fn as_postgres(cmd: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(cmd);
    c.stdin(Stdio::null());
    c
}

/// The newest `/usr/lib/postgresql/<v>/bin`, or `$SIGIL_PG_BIN`.
fn pg_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SIGIL_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql: install postgresql or set SIGIL_PG_BIN")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let v = versions
        .last()
        .context("no Postgres version under /usr/lib/postgresql")?;
    Ok(PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
}

fn chmod_755(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn random_u64() -> u64 {
    use rand_core::RngCore as _;
    rand_core::OsRng.next_u64()
}
