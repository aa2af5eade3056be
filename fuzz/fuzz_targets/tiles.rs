//! C2SP tlog-tiles paths and entry bundles.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        if let Ok(tile) = shared::tlog_tiles::TilePath::parse(path) {
            for size in [0, 1, 255, 256, 65_537, u64::MAX] {
                let _ = tile.width_in(size);
            }
        }
    }
    if let Ok(entries) = shared::tlog_tiles::decode_entry_bundle(data) {
        // A bundle that decodes encodes back to itself.
        let again = shared::tlog_tiles::encode_entry_bundle(entries.iter().copied()).unwrap();
        assert_eq!(again, data);
    }
});
