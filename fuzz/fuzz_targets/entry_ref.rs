//! Rekor entry UUIDs and entry IDs (64 or 80 hex digits).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = shared::rekor::EntryRef::parse(text);
    }
});
