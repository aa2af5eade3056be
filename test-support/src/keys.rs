//! Fixed private keys for tests: the one RSA-2048 key every RSA test uses
//! (generating one in a debug build takes seconds), as the PKCS#8 PEM a CA
//! key file holds and parsed, and P-256 keys named by a one-byte seed, so a
//! test can hold two different keys or the same one twice.

/// A test-only RSA-2048 private key, unencrypted PKCS#8 PEM
/// (`test-support/fixtures/rsa2048.pem`).
pub const RSA2048_PEM: &str = include_str!("../fixtures/rsa2048.pem");

/// [`RSA2048_PEM`], parsed.
pub fn rsa2048() -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey as _;
    // A fixed file, checked by this module's test.
    rsa::RsaPrivateKey::from_pkcs8_pem(RSA2048_PEM).expect("the fixture is an RSA PKCS#8 key")
}

/// The P-256 key whose scalar is 32 bytes of `seed`, which must be 1 to
/// 254: zero is not a scalar and `0xff…ff` exceeds the group order.
pub fn p256(seed: u8) -> p256::ecdsa::SigningKey {
    assert!(
        (1..=254).contains(&seed),
        "P-256 seed {seed} is not 1 to 254"
    );
    // Every 32-byte repetition of 1 to 254 is below the group order
    // (0xffffffff00000000…), and checked by this module's test.
    p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("a scalar below the group order")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts as _;

    #[test]
    fn the_rsa_fixture_is_2048_bits_and_every_seed_is_a_distinct_key() {
        assert_eq!(rsa2048().size(), 256);
        let points: std::collections::HashSet<_> = (1..=254)
            .map(|seed| p256(seed).verifying_key().to_encoded_point(true))
            .collect();
        assert_eq!(points.len(), 254);
        assert_eq!(p256(7), p256(7));
    }

    #[test]
    #[should_panic(expected = "not 1 to 254")]
    fn seed_zero_is_refused() {
        p256(0);
    }
}
