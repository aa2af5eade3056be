//! Each of the three binaries stops the way operators stop services: on
//! SIGTERM (container runtimes, systemd) and on SIGINT (Ctrl-C) it stops
//! accepting connections, lets a request already in flight finish, and exits
//! with status 0. For the log, what that request was acknowledged is in the
//! store after a restart.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::process::{self, workspace_bin, Signal};
use test_support::tlog::{check_present, parse_log_entry, EntryMaker, TlogServer};
use test_support::{check, free_port, sigil_bin, workspace_root, SigilDev};

/// Sends `path`'s request head and half of `body`, runs `meanwhile` (which
/// signals the server), waits until the server refuses new connections
/// (so it is stopping while the request is in flight), sends the rest, and
/// answers the response's status and body. A server that dropped the
/// request in flight answers nothing.
fn post_across(port: u16, path: &str, body: &str, meanwhile: impl FnOnce()) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    // Let the server read the head, so the request is in flight: nothing
    // outside the server shows when it has, and it takes microseconds.
    std::thread::sleep(Duration::from_millis(300));
    meanwhile();
    wait_until_refused(port);
    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Waits until nothing listens on `port` any more: the server has begun
/// its shutdown and closed its listening socket.
fn wait_until_refused(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "port {port} still takes connections"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn tlog_server_finishes_the_entry_in_flight_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("log.db").display());
    let mut server = TlogServer::start(dir.path(), &db, &[]).unwrap();
    let port: u16 = server.url().rsplit(':').next().unwrap().parse().unwrap();
    let mut maker = EntryMaker::new("graceful shutdown");

    for stop in [Signal::Term, Signal::Int] {
        let pid = server.pid().unwrap();
        let (status, body) = post_across(port, "/api/v1/log/entries", &maker.next_entry(), || {
            process::send(pid, stop).unwrap();
        });
        assert_eq!(status, 201, "{stop:?}: {body}\n{}", server.log());
        let (acked, _) = parse_log_entry(&serde_json::from_str::<Value>(&body).unwrap()).unwrap();
        // Already stopping: this waits for the exit and checks its status.
        server.stop(stop).unwrap();

        server.restart().unwrap();
        check_present(&server.client().unwrap(), &server.url(), &acked)
            .unwrap_or_else(|e| panic!("{stop:?}: {e}"));
    }
}

/// A stop signal during start-up, here while `tlog-server` waits for a
/// database that never answers, ends the process at once with status 0
/// (without the handler installed first, SIGTERM's default action kills it).
#[test]
fn tlog_server_stopped_during_start_up_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // Its keys and CT root, from one ordinary start.
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("log.db").display());
    let mut server = TlogServer::start(dir.path(), &db, &[]).unwrap();
    server.stop(Signal::Term).unwrap();

    // A "Postgres" that takes the connection and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("postgres://postgres@{}/never", silent.local_addr().unwrap());
    for stop in [Signal::Term, Signal::Int] {
        let key = |name: &str| dir.path().join(name);
        let mut child = Killed(
            Command::new(workspace_bin("tlog-server"))
                .args(["--listen", &format!("127.0.0.1:{}", free_port())])
                .args(["--database-url", &silent_url])
                .arg("--rekor-key")
                .arg(key("rekor.key.pem"))
                .arg("--ct-key")
                .arg(key("ct.key.pem"))
                .arg("--ct-root")
                .arg(key("ct-root.pem"))
                .args(["--hostname", "localhost"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        // Once it has connected, it is inside start-up, waiting for an answer
        // (for up to 3 s: the store's acquire timeout; the signal follows at once).
        let (connection, _) = accept_within(&silent, Duration::from_secs(30));
        assert!(child.0.try_wait().unwrap().is_none(), "{stop:?}: it exited");
        let exit = process::stop(&mut child.0, stop).unwrap();
        assert!(exit.success(), "{stop:?}: tlog-server exited with {exit}");
        drop(connection);
    }
}

/// The next connection to `listener`; fails the test after `limit`.
fn accept_within(
    listener: &std::net::TcpListener,
    limit: Duration,
) -> (TcpStream, std::net::SocketAddr) {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok(accepted) => return accepted,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "nothing connected in {limit:?}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A child process, killed when dropped so a failed test leaves none
/// behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // Already gone after a clean stop: both calls then fail harmlessly.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `ca-server` on a free port with `sigil keygen`'s keys and the example
/// issuer config; its CT log is a closed port, which start-up does not touch.
fn start_ca_server(dir: &std::path::Path, port: u16) -> Killed {
    let keys = dir.join("keys");
    if !keys.exists() {
        let out = Command::new(sigil_bin())
            .args(["keygen", "--out"])
            .arg(&keys)
            .output()
            .unwrap();
        check(&out, "sigil keygen").unwrap();
    }
    let key = |name: &str| keys.join(name);
    let mut child = Killed(
        Command::new(workspace_bin("ca-server"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--ca", "file"])
            .arg("--ca-key")
            .arg(key("ca.key.pem"))
            .arg("--ca-chain")
            .arg(key("ca.crt.pem"))
            .args(["--ct-log-url", "http://127.0.0.1:9"])
            .arg("--config")
            .arg(workspace_root().join("deploy/ca-config.yaml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("http://127.0.0.1:{port}/healthz");
    while !reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()) {
        assert!(child.0.try_wait().unwrap().is_none(), "ca-server exited");
        assert!(Instant::now() < deadline, "ca-server never became healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

#[test]
fn ca_server_answers_the_request_in_flight_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for stop in [Signal::Term, Signal::Int] {
        let port = free_port();
        let mut child = start_ca_server(dir.path(), port);
        let pid = child.0.id();
        // Not a valid token: the answer is a refusal, but a whole one.
        let request = r#"{"credentials":{"oidcIdentityToken":"not-a-token"},"publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"x"},"proofOfPossession":"eA=="}}"#;
        let (status, body) = post_across(port, "/api/v2/signingCert", request, || {
            process::send(pid, stop).unwrap();
        });
        assert!((400..500).contains(&status), "{stop:?}: {status} {body}");
        assert!(body.contains("message"), "{stop:?}: {body}");
        let exit = process::stop(&mut child.0, stop).unwrap();
        assert!(exit.success(), "{stop:?}: ca-server exited with {exit}");
    }
}

fn tree_size(dev: &SigilDev) -> u64 {
    let info: Value = reqwest::blocking::get(format!("{}/api/v1/log", dev.tlog_url()))
        .unwrap()
        .json()
        .unwrap();
    info["treeSize"].as_u64().unwrap()
}

#[test]
fn sigil_dev_exits_cleanly_on_sigint_and_keeps_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = SigilDev::start(dir.path()).unwrap();
    let mut maker = EntryMaker::new("sigil dev shutdown");
    dev.log_entry(maker.next_entry()).unwrap();
    let logged = tree_size(&dev);
    assert!(logged >= 1);
    dev.stop_with(Signal::Int).unwrap();

    dev.restart().unwrap();
    assert_eq!(tree_size(&dev), logged, "{}", dev.log());
    dev.stop_with(Signal::Term).unwrap();
}
