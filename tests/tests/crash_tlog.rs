//! Crash safety of the log (docs/design.md, "Nothing acknowledged is lost"): a
//! standalone `tlog-server` is SIGKILLed while clients write, and, on Postgres,
//! its database is stopped (`pg_ctl stop -m immediate`) and started again under
//! load. Afterwards every entry that got a 201 must be in the log at the index
//! it was given, and the log's checkpoint must be consistent with every
//! checkpoint served before. While the database is down, writes must fail fast
//! with 503.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use test_support::postgres::{PgDatabase, PrivatePostgres};
use test_support::tlog::{
    check_consistent, check_present, checkpoint, parse_log_entry, Acked, Checkpoint, EntryMaker,
    TlogServer,
};

/// Small batches and a short flush, so a kill lands between many commits.
const SEQUENCER_FLAGS: &[&str] = &["--batch-size", "32", "--flush-interval-ms", "5"];
const WRITERS: usize = 6;
/// Hard bounds on every loop: no test runs away.
const MAX_REQUESTS_PER_WRITER: usize = 20_000;
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn sigkill_under_load_loses_nothing_acknowledged_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/tlog.db?mode=rwc", tmp.path().display());
    sigkill_under_load(tmp.path(), &url);
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged_postgres() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgDatabase::create().unwrap();
    sigkill_under_load(tmp.path(), &db.url());
}

#[test]
fn postgres_restart_under_load_fails_fast_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let pg = PrivatePostgres::start().unwrap();
    let db = pg.database().unwrap();
    let mut server =
        TlogServer::start(&tmp.path().join("log"), &db.url(), SEQUENCER_FLAGS).unwrap();
    let mut load = Load::start(&server.url());
    load.wait_acked(100, Duration::from_secs(20), &server);

    let down_at = Instant::now();
    pg.stop_immediate().unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let up_at = Instant::now();
    pg.start_server().unwrap();
    let recovered = load.wait_acked_after(up_at, 50, Duration::from_secs(20));
    let first_ack = load.first_ack_after(up_at).map(|t| t - up_at);
    let outcomes = load.finish();
    eprintln!("first 201 {first_ack:?} after Postgres accepted connections again");
    assert!(
        recovered,
        "writes did not succeed again within 20 s of Postgres coming back:\n{}\n{}",
        summary(&outcomes),
        server.log()
    );

    // Requests that started while Postgres was down, after a grace period
    // for those already in flight, must all be refused quickly with 503.
    let grace = Duration::from_millis(500);
    let down: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.started > down_at + grace && o.started + o.elapsed < up_at)
        .collect();
    assert!(
        down.len() >= 10,
        "too few requests while Postgres was down: {}",
        down.len()
    );
    let wrong: Vec<String> = down
        .iter()
        .filter(|o| o.status != Status::Code(503) || o.elapsed > Duration::from_secs(2))
        .take(5)
        .map(|o| format!("{:?} after {:?}", o.status, o.elapsed))
        .collect();
    assert!(
        wrong.is_empty(),
        "while Postgres was down every write must fail fast with 503; got e.g. {wrong:?}\n{}",
        summary(&down.iter().map(|o| (*o).clone()).collect::<Vec<_>>())
    );

    eprintln!(
        "while Postgres was down: {} requests, slowest {:?}; {}",
        down.len(),
        down.iter().map(|o| o.elapsed).max().unwrap_or_default(),
        summary(&down.iter().map(|o| (*o).clone()).collect::<Vec<_>>())
    );
    verify_nothing_lost(&server, &outcomes, &load.checkpoints());
    // The process survived the outage; it also restarts cleanly on the store.
    server.kill().unwrap();
    server.restart().unwrap();
    verify_nothing_lost(&server, &outcomes, &load.checkpoints());
}

/// SIGKILL the server while writers run, restart it on the same store, check.
fn sigkill_under_load(dir: &std::path::Path, database_url: &str) {
    let mut server = TlogServer::start(&dir.join("log"), database_url, SEQUENCER_FLAGS).unwrap();
    let mut load = Load::start(&server.url());
    load.wait_acked(300, Duration::from_secs(20), &server);
    let killed_at = Instant::now();
    server.kill().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.restart().unwrap();
    let restarted_at = Instant::now();
    let recovered = load.wait_acked_after(restarted_at, 50, Duration::from_secs(20));
    let outcomes = load.finish();
    assert!(
        recovered,
        "no write succeeded after the restart:\n{}\n{}",
        summary(&outcomes),
        server.log()
    );
    let in_flight = outcomes
        .iter()
        .filter(|o| o.started < killed_at && o.started + o.elapsed >= killed_at)
        .count();
    assert!(
        in_flight > 0,
        "the kill must land while requests are in flight"
    );
    verify_nothing_lost(&server, &outcomes, &load.checkpoints());
}

/// Every acknowledged entry is at its index with the same ID and body, no
/// index was given twice, and every checkpoint ever served (by `/api/v1/log`
/// or in a 201's proof) is consistent with the current one.
fn verify_nothing_lost(server: &TlogServer, outcomes: &[Outcome], served: &[Checkpoint]) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = server.url();
    let now = checkpoint(&client, &url).unwrap();
    let mut acked: Vec<&Acked> = outcomes.iter().filter_map(|o| o.acked.as_ref()).collect();
    acked.sort_by_key(|a| a.index);
    assert!(!acked.is_empty());
    for pair in acked.windows(2) {
        assert_ne!(pair[0].index, pair[1].index, "index given twice: {pair:?}");
    }
    for a in &acked {
        assert!(
            a.index < now.size,
            "{a:?} beyond the tree size {}",
            now.size
        );
        check_present(&client, &url, a).unwrap_or_else(|e| panic!("{e:#}\n{}", server.log()));
    }
    let mut all: Vec<Checkpoint> = served.to_vec();
    all.extend(outcomes.iter().filter_map(|o| o.checkpoint));
    all.sort_by_key(|c| c.size);
    all.dedup();
    let checked = all.len();
    for old in all {
        check_consistent(&client, &url, old, now)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", server.log()));
    }
    eprintln!(
        "{} acknowledged entries present at their indices; {checked} served checkpoints \
         consistent with size {}; {}",
        acked.len(),
        now.size,
        summary(outcomes)
    );
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    Code(u16),
    Timeout,
    /// Connection refused or reset (the server is down).
    Transport,
}

#[derive(Clone, Debug)]
struct Outcome {
    started: Instant,
    elapsed: Duration,
    status: Status,
    /// For a 201: the entry and the checkpoint its proof is against.
    acked: Option<Acked>,
    checkpoint: Option<Checkpoint>,
}

/// Writer threads plus a checkpoint poller, all stopped by one flag.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Instant>>>,
    writers: Vec<JoinHandle<Vec<Outcome>>>,
    poller: Option<JoinHandle<()>>,
    served: Arc<Mutex<Vec<Checkpoint>>>,
    polls: Arc<AtomicU64>,
}

impl Load {
    fn start(url: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let writers = (0..WRITERS)
            .map(|w| {
                let (url, stop, acked) = (url.to_owned(), stop.clone(), acked.clone());
                std::thread::spawn(move || write_loop(&url, w, &stop, &acked))
            })
            .collect();
        let served = Arc::new(Mutex::new(Vec::new()));
        let polls = Arc::new(AtomicU64::new(0));
        let poller = {
            let (url, stop, served, polls) =
                (url.to_owned(), stop.clone(), served.clone(), polls.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(2))
                    .build()
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(90);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    if let Ok(c) = checkpoint(&client, &url) {
                        served.lock().unwrap().push(c);
                        polls.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Self {
            stop,
            acked,
            writers,
            poller: Some(poller),
            served,
            polls,
        }
    }

    /// Waits until `n` entries are acknowledged (fails the test after `timeout`).
    fn wait_acked(&self, n: usize, timeout: Duration, server: &TlogServer) {
        let deadline = Instant::now() + timeout;
        while self.acked.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} entries acknowledged in {timeout:?}:\n{}",
                self.acked.lock().unwrap().len(),
                server.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether `n` acknowledgements of requests completed after `t` came within `timeout`.
    fn wait_acked_after(&self, t: Instant, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self
                .acked
                .lock()
                .unwrap()
                .iter()
                .filter(|a| **a > t)
                .count()
                >= n
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn first_ack_after(&self, t: Instant) -> Option<Instant> {
        self.acked
            .lock()
            .unwrap()
            .iter()
            .filter(|a| **a > t)
            .min()
            .copied()
    }

    fn checkpoints(&self) -> Vec<Checkpoint> {
        assert!(
            self.polls.load(Ordering::Relaxed) > 0,
            "no checkpoint polled"
        );
        self.served.lock().unwrap().clone()
    }

    /// Stops every thread; all writers' outcomes.
    fn finish(&mut self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(p) = self.poller.take() {
            p.join().unwrap();
        }
        self.writers
            .drain(..)
            .flat_map(|w| w.join().unwrap())
            .collect()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One writer: unique signed entries until stopped (bounded in count and time).
fn write_loop(url: &str, w: usize, stop: &AtomicBool, acked: &Mutex<Vec<Instant>>) -> Vec<Outcome> {
    let client = reqwest::blocking::Client::builder()
        .timeout(WRITE_TIMEOUT)
        .build()
        .unwrap();
    let mut maker = EntryMaker::new(&format!("crash test writer {w} {:?}", Instant::now()));
    let mut outcomes = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    for _ in 0..MAX_REQUESTS_PER_WRITER {
        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
            break;
        }
        let body = maker.next_entry();
        let started = Instant::now();
        let response = client
            .post(format!("{url}/api/v1/log/entries"))
            .header("content-type", "application/json")
            .body(body)
            .send();
        let mut outcome = Outcome {
            started,
            elapsed: Duration::ZERO,
            status: Status::Transport,
            acked: None,
            checkpoint: None,
        };
        match response {
            Ok(r) => {
                let code = r.status().as_u16();
                outcome.status = Status::Code(code);
                if code == 201 {
                    // A 201 must carry a verifying proof; its entry is then "acknowledged".
                    let (a, c) = parse_log_entry(&r.json().unwrap()).unwrap();
                    outcome.acked = Some(a);
                    outcome.checkpoint = Some(c);
                } else {
                    let _ = r.bytes();
                }
            }
            Err(e) if e.is_timeout() => outcome.status = Status::Timeout,
            Err(_) => {}
        }
        outcome.elapsed = started.elapsed();
        if outcome.acked.is_some() {
            acked.lock().unwrap().push(Instant::now());
        } else {
            // The server is down or refusing: do not spin.
            std::thread::sleep(Duration::from_millis(20));
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// Counts of outcomes by status, for failure messages.
fn summary(outcomes: &[Outcome]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for o in outcomes {
        *counts.entry(format!("{:?}", o.status)).or_insert(0) += 1;
    }
    format!("outcomes by status: {counts:?}")
}
