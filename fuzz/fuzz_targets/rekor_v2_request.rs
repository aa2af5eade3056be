//! A Rekor v2 CreateEntryRequest (POST /api/v2/log/entries).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::entry::v2::canonicalize_v2_request(data);
});
