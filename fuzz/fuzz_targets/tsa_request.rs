//! ca_server::fuzzing::tsa_request (see its documentation).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ca_server::fuzzing::tsa_request(data);
});
