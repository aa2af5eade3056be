//! RFC 8785 canonical JSON of any bounded JSON document; canonicalising is
//! idempotent.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = shared::json_bounded::from_slice(data, shared::json_bounded::JsonLimits::ENTRY)
    else {
        return;
    };
    if let Ok(canonical) = shared::jcs::canonicalize(&value) {
        let again: serde_json::Value = serde_json::from_slice(&canonical).unwrap();
        assert_eq!(shared::jcs::canonicalize(&again).unwrap(), canonical);
    }
});
