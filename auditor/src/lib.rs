//! Tools for a log's auditors, who trust nothing the log says that they
//! cannot verify with the log's public key: `sigil monitor` (watch a log
//! over time) and `sigil audit` (check one bundle, or a whole tree).

pub mod audit;
mod http;
pub mod monitor;
pub mod rekor_v1;
pub mod rekor_v2;
mod watch;
