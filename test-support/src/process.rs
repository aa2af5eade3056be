//! Child processes of the workspace's own binaries: where they are, and how
//! a test stops one the way an operator or a container runtime would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// How long a binary may take to drain and exit after SIGTERM or SIGINT:
/// above the servers' default 10-second drain of requests in flight.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A stop signal, as `kill -<NAME>` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// What container runtimes and init systems send.
    Term,
    /// What Ctrl-C sends.
    Int,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Self::Term => "TERM",
            Self::Int => "INT",
        }
    }
}

/// The workspace binary `name` of the same build as this test
/// (`target/<profile>/<name>`).
pub fn workspace_bin(name: &str) -> PathBuf {
    // The test executable is target/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_dir.join(name)
}

/// Sends `signal` to process `pid`.
pub fn send(pid: u32, signal: Signal) -> anyhow::Result<()> {
    let sent = Command::new("kill")
        .arg(format!("-{}", signal.name()))
        .arg(pid.to_string())
        .status()
        .context("running kill")?;
    if !sent.success() {
        bail!("kill -{} {pid} failed", signal.name());
    }
    Ok(())
}

/// Sends `signal` to `child` and waits for it to exit; fails when it is
/// still running after the drain allowance (it is then killed). Answers the
/// exit status, which a clean shutdown makes a success. Signalling a child
/// that is already stopping is harmless: the binaries keep their handlers.
pub fn stop(child: &mut Child, signal: Signal) -> anyhow::Result<ExitStatus> {
    send(child.id(), signal)?;
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            bail!("still running {STOP_TIMEOUT:?} after SIG{}", signal.name());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
