//! Ports and in-process servers for tests: a free port for a child process
//! to bind, and an axum router served on 127.0.0.1 on a port of the kernel's
//! choosing.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// A free TCP port on 127.0.0.1, for a server in another process (bound and
/// released; good enough for tests).
///
/// Ports below Linux's ephemeral range (32768-60999): a port the kernel
/// hands out for port 0 can be taken by any outgoing connection (a client, a
/// Postgres pool) before the server binds it, which failed tests with
/// "Address already in use". Here each call takes the next port of a
/// per-process sequence from a random start, so parallel tests in one
/// binary never get the same one, and checks that it is free.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static START: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(|| rand_core::RngCore::next_u32(&mut rand_core::OsRng) % SPAN);
    for _ in 0..SPAN {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        // FIRST + SPAN < 65536, so the conversion cannot fail.
        let port = u16::try_from(FIRST + offset).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    // Port 0 would let the child bind any port, which the test would not
    // know: a test that cannot get a port cannot go on.
    panic!("no free port in 127.0.0.1:{FIRST}..{}", FIRST + SPAN)
}

/// A listener on 127.0.0.1 on a port of the kernel's choosing, and its
/// address: for a server whose router must know its own URL. Panics when no
/// port can be bound: a test cannot go on without its server.
pub async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    (listener, addr)
}

/// Serves `router` on `listener` until the test's runtime ends.
pub fn serve_on(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, router).await });
}

/// Serves `router` on 127.0.0.1 on a fresh port until the test's runtime
/// ends; answers the address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let (listener, addr) = listener().await;
    serve_on(listener, router);
    addr
}
