//! ca_server::fuzzing::issuer_config (see its documentation).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ca_server::fuzzing::issuer_config(data);
});
