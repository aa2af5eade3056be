//! Replica failover under write load (docs/architecture.md, "Replicas
//! (Postgres)"): two `tlog-server` processes on one Postgres database, with the
//! same keys. The leader is SIGKILLed while clients write; the standby must
//! take the trees and sequence within 2 s, nothing acknowledged may be lost,
//! and no fork may appear: every checkpoint served by either process, before or
//! after, is consistent with the final one.

// Test code: a failed step should panic with its error.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use test_support::postgres::PgDatabase;
use test_support::tlog::{
    check_consistent, check_present, checkpoint, parse_log_entry, Acked, Checkpoint, EntryMaker,
    TlogServer,
};

const WRITERS: usize = 4;
const FLAGS: &[&str] = &["--batch-size", "32"];

#[derive(Default)]
struct Seen {
    acked: Vec<(Instant, Acked)>,
    checkpoints: Vec<Checkpoint>,
}

#[test]
fn the_standby_takes_over_within_2_s_and_nothing_acknowledged_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let db = PgDatabase::create().unwrap();
    let mut leader = TlogServer::start(&tmp.path().join("a"), &db.url(), FLAGS).unwrap();
    // The standby shares the leader's keys: the same log, another process.
    let b_dir = tmp.path().join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    for file in [
        "rekor.key.pem",
        "ct.key.pem",
        "ct-root.pem",
        "ct-root.key.pem",
    ] {
        std::fs::copy(tmp.path().join("a").join(file), b_dir.join(file)).unwrap();
    }
    let standby = TlogServer::start(&b_dir, &db.url(), FLAGS).unwrap();
    let urls = [leader.url(), standby.url()];

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (urls, seen, stop) = (urls.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || write_loop(&urls, w, &seen, &stop))
        })
        .collect();
    let poller = {
        let (urls, seen, stop) = (urls, seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let client = client();
            while !stop.load(Ordering::Relaxed) {
                for url in &urls {
                    if let Ok(c) = checkpoint(&client, url) {
                        seen.lock().unwrap().checkpoints.push(c);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    leader.wait_until(|| seen.lock().unwrap().acked.len() >= 200);
    let killed_at = Instant::now();
    leader.kill().unwrap();
    standby.wait_until(|| {
        seen.lock()
            .unwrap()
            .acked
            .iter()
            .filter(|(t, _)| *t > killed_at)
            .count()
            >= 100
    });
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    poller.join().unwrap();

    let seen = seen.lock().unwrap();
    // Requests in flight at the kill may still be answered by the dying
    // leader; the takeover is the first 201 from a commit after it.
    let first_after = seen
        .acked
        .iter()
        .filter(|(t, _)| *t > killed_at + Duration::from_millis(50))
        .map(|(t, _)| *t - killed_at)
        .min()
        .unwrap();
    eprintln!("the standby answered its first 201 {first_after:?} after the kill");
    assert!(
        first_after < Duration::from_secs(2),
        "takeover took {first_after:?}\n{}",
        standby.log()
    );

    let client = client();
    let now = checkpoint(&client, &standby.url()).unwrap();
    let mut indices: Vec<u64> = seen.acked.iter().map(|(_, a)| a.index).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), seen.acked.len(), "an index was given twice");
    for (_, acked) in &seen.acked {
        check_present(&client, &standby.url(), acked)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", standby.log()));
    }
    let mut all = seen.checkpoints.clone();
    all.sort_by_key(|c| c.size);
    all.dedup();
    for old in &all {
        check_consistent(&client, &standby.url(), *old, now)
            .unwrap_or_else(|e| panic!("fork: {e:#}\n{}", standby.log()));
    }
    eprintln!(
        "{} acknowledged entries present after failover; {} checkpoints consistent with size {}",
        seen.acked.len(),
        all.len(),
        now.size
    );
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Writes unique entries to whichever replica takes them: a follower
/// refuses at once with 503, so the writer moves to the other one.
fn write_loop(urls: &[String; 2], w: usize, seen: &Mutex<Seen>, stop: &AtomicBool) {
    let client = client();
    let mut maker = EntryMaker::new(&format!("failover writer {w} {:?}", Instant::now()));
    let mut target = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut body = maker.next_entry();
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let response = client
            .post(format!("{}/api/v1/log/entries", urls[target]))
            .header("content-type", "application/json")
            .body(body.clone())
            .send();
        match response {
            Ok(r) if r.status() == 201 => {
                let (acked, cp) = parse_log_entry(&r.json().unwrap()).unwrap();
                let mut seen = seen.lock().unwrap();
                seen.acked.push((Instant::now(), acked));
                seen.checkpoints.push(cp);
                body = maker.next_entry();
            }
            // 409: an earlier try of this body was logged after all; move on.
            Ok(r) if r.status() == 409 => body = maker.next_entry(),
            _ => {
                target = 1 - target;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
