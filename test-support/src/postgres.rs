//! Postgres for tests: a fresh database on the machine's shared server
//! (127.0.0.1:5432, user `postgres`, trust auth, as scripts/test.sh expects,
//! or the server `$SIGIL_TEST_POSTGRES_URL` names), and a private throw-away
//! cluster a test may stop and start at will without touching the shared
//! one. Both are driven with the stock client tools (`psql`, `initdb`,
//! `pg_ctl`), so this crate needs no database driver.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use crate::{check, free_port};

/// The shared server's maintenance database when `$SIGIL_TEST_POSTGRES_URL`
/// is unset.
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The host of the private clusters.
const LOCALHOST: &str = "127.0.0.1";

/// The shared server's maintenance database, through which test databases
/// are created and dropped: `$SIGIL_TEST_POSTGRES_URL` (e.g.
/// `postgres://user:secret@db.example.com:5432/postgres`, to use an existing
/// server), else `postgres://postgres@127.0.0.1:5432/postgres`. Test
/// databases go on the same server, with the same user, password and query
/// parameters.
fn shared_url() -> String {
    std::env::var("SIGIL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Whether the shared Postgres answers (tests that need it fail loudly if not;
/// this is for messages).
pub fn shared_postgres_available() -> bool {
    psql(&shared_url(), "SELECT 1").is_ok()
}

/// A fresh, uniquely named database, dropped (with its connections) on drop.
pub struct PgDatabase {
    /// The database that created this one, and drops it.
    maintenance: String,
    /// `scheme://user[:password]@host[:port]`, without a database.
    server: String,
    /// `?…` from the maintenance URL, or empty.
    params: String,
    name: String,
}

impl PgDatabase {
    /// A new database on the shared server (`$SIGIL_TEST_POSTGRES_URL`, else
    /// 127.0.0.1:5432).
    pub fn create() -> anyhow::Result<Self> {
        Self::create_through(&shared_url())
    }

    /// A new database on the server at `host:port` (user `postgres`).
    pub fn create_on(host: &str, port: u16) -> anyhow::Result<Self> {
        Self::create_through(&format!("postgres://postgres@{host}:{port}/postgres"))
    }

    /// A new database on the server of the connection URL `maintenance`,
    /// created through (and dropped through) that URL's database.
    fn create_through(maintenance: &str) -> anyhow::Result<Self> {
        let (server, params) = split_url(maintenance);
        let name = format!("sigil_test_{:016x}", random_u64());
        psql(maintenance, &format!("CREATE DATABASE {name}")).with_context(|| {
            format!("creating database {name} through {}", redacted(maintenance))
        })?;
        Ok(Self {
            maintenance: maintenance.to_owned(),
            server,
            params,
            name,
        })
    }

    /// The database's URL: the maintenance URL's server, user and
    /// parameters, this database's name (e.g.
    /// `postgres://postgres@127.0.0.1:5432/sigil_test_…`).
    pub fn url(&self) -> String {
        format!("{}/{}{}", self.server, self.name, self.params)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL in this database; the rows, one per line, columns `|`-separated.
    pub fn query(&self, sql: &str) -> anyhow::Result<String> {
        psql(&self.url(), sql)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            &self.maintenance,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Splits a connection URL into its server (`scheme://authority`) and its
/// parameters (`?…`, or empty), dropping the database path.
fn split_url(url: &str) -> (String, String) {
    let (base, params) = match url.split_once('?') {
        Some((base, params)) => (base, format!("?{params}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    (server.to_owned(), params)
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((user, _password)) => {
                format!("{}{user}:***@{host}{}", &url[..authority], &rest[end..])
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
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
        let url = format!("postgres://postgres@{LOCALHOST}:{}/postgres", self.port);
        while psql(&url, "SELECT 1").is_err() {
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
        PgDatabase::create_on(LOCALHOST, self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
    }
}

/// Runs a SQL statement with `psql` in the database of the connection URL
/// `url`, failing with its output.
fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args(["-d", url])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_database_is_on_the_maintenance_urls_server() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432",
                "",
            ),
            (
                "postgresql://u:s3cret@db.example.com:6543/admin?sslmode=require",
                "postgresql://u:s3cret@db.example.com:6543",
                "?sslmode=require",
            ),
            (
                "postgres://u@db.example.com",
                "postgres://u@db.example.com",
                "",
            ),
            (
                "postgres://u@db.example.com?sslmode=disable",
                "postgres://u@db.example.com",
                "?sslmode=disable",
            ),
        ];
        for (url, server, params) in cases {
            assert_eq!(
                split_url(url),
                (server.to_owned(), params.to_owned()),
                "{url}"
            );
        }
    }

    #[test]
    fn messages_leave_the_password_out() {
        assert_eq!(
            redacted("postgres://u:s3cret@db.example.com:6543/admin?sslmode=require"),
            "postgres://u:***@db.example.com:6543/admin?sslmode=require"
        );
        assert_eq!(redacted(DEFAULT_URL), DEFAULT_URL);
    }
}
