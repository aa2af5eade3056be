//! Sigil's pure spec code. Everything here is byte-exact wire format and
//! the math behind it; nothing here does I/O, talks to a database or needs an
//! async runtime. Each module names the specification it implements.

#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod ct;
pub mod entry;
pub mod jcs;
pub mod json_bounded;
pub mod keys;
pub mod merkle;
pub mod note;
pub mod oids;
pub mod rekor;
pub mod sct;
pub mod tlog_tiles;
pub mod trust;
