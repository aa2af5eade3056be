#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::*;

async fn start(limits: ConnectionLimits) -> (SocketAddr, oneshot::Sender<()>) {
    let router = Router::new()
        .route(
            "/peer",
            get(|ConnectInfo(peer): PeerAddr| async move { peer.ip().to_string() }),
        )
        .route("/echo", post(|body: axum::body::Bytes| async move { body }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        serve(listener, router, &limits, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop)
}

/// Reads until EOF or `limit`; whether the server closed the connection.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, read).await.is_ok()
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_disconnected() {
    let (addr, _stop) = start(ConnectionLimits {
        header_read_timeout_secs: 1,
        ..ConnectionLimits::default()
    })
    .await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut slow, Duration::from_secs(10)).await);
    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn a_stalled_body_fails_its_request() {
    let (addr, _stop) = start(ConnectionLimits {
        request_body_timeout_secs: 1,
        ..ConnectionLimits::default()
    })
    .await;
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    // The body errors; whatever the handler's extractor made of it, the
    // client hears 408 saying the body stalled, and the connection closes.
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("the request body stalled"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn beyond_the_limit_connections_wait_for_a_free_slot() {
    let (addr, _stop) = start(ConnectionLimits {
        max_connections: 1,
        ..ConnectionLimits::default()
    })
    .await;
    let url = format!("http://{addr}/peer");
    // One connection holds the only slot (a keep-alive client with a request done).
    let mut holder = TcpStream::connect(addr).await.unwrap();
    holder
        .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = holder.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));

    let client = reqwest::Client::new();
    let waiting = tokio::spawn(async move { client.get(&url).send().await.unwrap().text().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served beyond the connection limit");
    drop(holder);
    let peer = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(peer, "127.0.0.1", "handlers see the peer address");
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let (addr, stop) = start(ConnectionLimits::default()).await;
    let url = format!("http://{addr}/peer");
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(reqwest::get(&url).await.is_err());
}

/// While a request drains, the listening socket is closed already: a new
/// connection is refused at once, and the request in flight is answered.
#[tokio::test]
async fn while_draining_new_connections_are_refused_and_the_request_in_flight_answered() {
    let (addr, stop) = start(ConnectionLimits::default()).await;
    let mut in_flight = TcpStream::connect(addr).await.unwrap();
    in_flight
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhal")
        .await
        .unwrap();
    // Let the server read the head: then the request is in flight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    let refused = async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .is_ok(),
        "new connections still accepted while draining"
    );
    in_flight.write_all(b"f!!").await.unwrap();
    let mut answer = Vec::new();
    in_flight.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nhalf!!"), "{answer}");
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let (addr, _stop) = start(ConnectionLimits {
        rate_limit_per_ip: 1,
        rate_limit_burst: 3,
        ..ConnectionLimits::default()
    })
    .await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/peer");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = client.get(&url).send().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&retry), "{retry}");
            let body = r.text().await.unwrap();
            assert!(body.contains("too many requests from 127.0.0.1"), "{body}");
        }
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "a burst of 3, then 429"
    );

    // Another client (here: named by a proxy header) has its own bucket.
    let (addr, _stop) = start(ConnectionLimits {
        rate_limit_per_ip: 1,
        rate_limit_burst: 1,
        client_ip_header: Some("x-forwarded-for".into()),
        ..ConnectionLimits::default()
    })
    .await;
    let url = format!("http://{addr}/peer");
    let get = |ip: &'static str| client.get(&url).header("x-forwarded-for", ip).send();
    assert_eq!(get("10.0.0.1").await.unwrap().status(), 200);
    assert_eq!(get("10.0.0.1, 10.9.9.9").await.unwrap().status(), 429);
    assert_eq!(get("10.0.0.2").await.unwrap().status(), 200);
}

/// A fresh identity for `localhost` in `dir` under `name`: the files the
/// server takes and the certificate's PEM, which a client may trust.
fn tls_identity(dir: &std::path::Path, name: &str) -> (tls::TlsFiles, String) {
    let identity = test_support::tls::localhost_identity(dir, name).unwrap();
    let files = tls::TlsFiles {
        cert: identity.cert,
        key: identity.key,
    };
    (files, identity.cert_pem)
}

fn trusting(ca_pem: &str) -> reqwest::Client {
    test_support::tls::trusting(ca_pem).unwrap()
}

#[tokio::test]
async fn tls_serves_https_with_the_given_certificate_only() {
    let dir = tempfile::tempdir().unwrap();
    let (files, cert_pem) = tls_identity(dir.path(), "server");
    let (_, stranger_pem) = tls_identity(dir.path(), "stranger");
    let (addr, _stop) = start(ConnectionLimits {
        tls_cert: Some(files.cert),
        tls_key: Some(files.key),
        ..ConnectionLimits::default()
    })
    .await;
    let url = format!("https://localhost:{}/peer", addr.port());
    let answer = trusting(&cert_pem).get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "127.0.0.1");
    assert!(
        trusting(&stranger_pem).get(&url).send().await.is_err(),
        "a client that trusts another certificate refuses the server"
    );
    let plain = reqwest::get(format!("http://127.0.0.1:{}/peer", addr.port())).await;
    assert!(
        plain.is_err(),
        "plain HTTP gets no answer from a TLS listener"
    );
}

#[test]
fn a_tls_reload_takes_new_files_and_keeps_the_old_ones_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let (files, _) = tls_identity(dir.path(), "server");
    let reloader = tls::TlsReloader::load(files.clone()).unwrap();
    let first = reloader.acceptor();

    // A half-written certificate file: refused, the old acceptor stays.
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nAAAA").unwrap();
    let e = reloader.reload().unwrap_err();
    assert!(e.contains("server.crt.pem"), "{e}");
    assert!(Arc::ptr_eq(first.config(), reloader.acceptor().config()));

    // A renewed identity: taken.
    let (renewed, _) = tls_identity(dir.path(), "renewed");
    std::fs::copy(&renewed.cert, &files.cert).unwrap();
    std::fs::copy(&renewed.key, &files.key).unwrap();
    reloader.reload().unwrap();
    assert!(!Arc::ptr_eq(first.config(), reloader.acceptor().config()));

    // A key that is not the certificate's: refused at load.
    let (other, _) = tls_identity(dir.path(), "other");
    let mismatched = tls::TlsFiles {
        cert: files.cert,
        key: other.key,
    };
    let e = tls::TlsReloader::load(mismatched).err().unwrap();
    assert!(e.contains("do not make a TLS identity"), "{e}");
}
