#![allow(clippy::unwrap_used)]
mod common;
use common::{hashedrekord, Fixture};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput() {
    let fx = Fixture::new();
    let server = std::sync::Arc::new(fx.start().await);
    let n = 3000usize;
    let bodies: Vec<Vec<u8>> = (0..n).map(|i| hashedrekord(format!("t{i}").as_bytes())).collect();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let t = std::time::Instant::now();
    let mut tasks = vec![];
    for _ in 0..64 {
        let s = server.clone(); let b = bodies.clone();
        tasks.push(tokio::spawn(async move {
            loop { let body = b.lock().unwrap().pop(); let Some(body) = body else { break };
                let r = s.post_entry(body).await; assert_eq!(r.status(), 201); r.bytes().await.unwrap(); }
        }));
    }
    for t in tasks { t.await.unwrap(); }
    let dt = t.elapsed();
    eprintln!("{n} entries in {dt:?} = {:.0}/s", n as f64 / dt.as_secs_f64());
    assert_eq!(server.log_info().await.tree_size, n as u64);
}
