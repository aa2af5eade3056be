//! A proposed Rekor v1 entry (POST /api/v1/log/entries): every kind's
//! parser, verification and canonicalisation.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::entry::canonicalize_proposed(data);
});
