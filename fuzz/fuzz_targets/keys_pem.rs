//! PEM blocks, public keys (PEM, DER SPKI) and a signature check with them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shared::keys::pem_blocks(data);
    if let Ok(key) = shared::keys::PublicKey::from_pem_or_der(data) {
        let _ = key.verify(b"message", data);
        // A key that parses encodes back to an SPKI that parses to it.
        let again = shared::keys::PublicKey::from_spki_der(&key.to_spki_der()).unwrap();
        assert_eq!(again, key);
    }
});
