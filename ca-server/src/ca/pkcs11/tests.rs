//! PKCS#11 against a real SoftHSM2 token: key generation, signing (raw r‖s
//! converted to DER, verified with the token's public key), refusals.

use shared::keys::PublicKey;
use test_support::softhsm;

use super::*;
use crate::ca::signer::self_test;

/// The login state is per process: the test that logs out runs alone.
static LOGIN: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared_login() -> std::sync::RwLockReadGuard<'static, ()> {
    LOGIN.read().unwrap_or_else(|e| e.into_inner())
}

fn config(key_label: &str) -> Pkcs11Config {
    let hsm = softhsm::softhsm();
    Pkcs11Config {
        module: hsm.module.clone(),
        token_label: hsm.token_label.clone(),
        key_label: key_label.to_owned(),
        pin: Secret::new(hsm.pin.clone()),
    }
}

#[test]
fn p256_and_p384_sign_and_verify() {
    let _login = shared_login();
    for (kind, alg) in [
        (CaKeyKind::P256, rfc5912::ECDSA_WITH_SHA_256),
        (CaKeyKind::P384, rfc5912::ECDSA_WITH_SHA_384),
    ] {
        let label = softhsm::unique_label("sign");
        let generated = Pkcs11Signer::generate(config(&label), kind).unwrap();
        // A second, independent open finds the same key by label.
        let signer = Pkcs11Signer::open(config(&label)).unwrap();
        assert_eq!(signer.public_spki_der(), generated.public_spki_der());
        assert_eq!(signer.signature_algorithm().oid, alg);
        let public = PublicKey::from_spki_der(&signer.public_spki_der()).unwrap();
        match (kind, &public) {
            (CaKeyKind::P256, PublicKey::EcdsaP256(_))
            | (CaKeyKind::P384, PublicKey::EcdsaP384(_)) => {}
            other => panic!("unexpected key {other:?}"),
        }
        for msg in [&b"tbs certificate"[..], b""] {
            let sig = signer.sign(msg).unwrap();
            assert_eq!(sig[0], 0x30, "DER ECDSA-Sig-Value");
            public.verify(msg, &sig).unwrap();
            assert!(public.verify(b"other", &sig).is_err());
        }
        self_test(&signer).unwrap();
    }
}

#[test]
fn concurrent_signing_is_serialised_safely() {
    let _login = shared_login();
    let label = softhsm::unique_label("threads");
    let signer =
        std::sync::Arc::new(Pkcs11Signer::generate(config(&label), CaKeyKind::P256).unwrap());
    let public = PublicKey::from_spki_der(&signer.public_spki_der()).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let signer = signer.clone();
            std::thread::spawn(move || {
                let msg = format!("message {i}");
                (msg.clone(), signer.sign(msg.as_bytes()).unwrap())
            })
        })
        .collect();
    for handle in handles {
        let (msg, sig) = handle.join().unwrap();
        public.verify(msg.as_bytes(), &sig).unwrap();
    }
}

#[test]
fn signing_survives_a_lost_login() {
    let _alone = LOGIN.write().unwrap_or_else(|e| e.into_inner());
    let label = softhsm::unique_label("relogin");
    let signer = Pkcs11Signer::generate(config(&label), CaKeyKind::P384).unwrap();
    let public = PublicKey::from_spki_der(&signer.public_spki_der()).unwrap();
    // Log the whole application out, as a token restart would.
    match signer.session.lock().unwrap().0.logout() {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => {}
        Err(e) => panic!("logout: {e}"),
    }
    {
        // The old session can no longer sign: the retry path is what follows.
        let guard = signer.session.lock().unwrap();
        let digest = Sha384::digest(b"after logout");
        let err = guard
            .0
            .sign(&Mechanism::Ecdsa, guard.1, &digest)
            .unwrap_err();
        assert!(session_lost(&err), "{err}");
    }
    let sig = signer.sign(b"after logout").unwrap();
    public.verify(b"after logout", &sig).unwrap();
}

#[test]
fn clear_errors() {
    let _login = shared_login();
    let label = softhsm::unique_label("errors");
    Pkcs11Signer::generate(config(&label), CaKeyKind::P256).unwrap();

    let err = Pkcs11Signer::open(config("no-such-key")).unwrap_err();
    assert!(
        matches!(
            err,
            Pkcs11Error::NoKey {
                kind: "private",
                ..
            }
        ),
        "{err}"
    );

    let err = Pkcs11Signer::open(Pkcs11Config {
        token_label: "no-such-token".into(),
        ..config(&label)
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("sigil-test"),
        "lists the tokens: {err}"
    );

    let err = Pkcs11Signer::open(Pkcs11Config {
        module: "/nonexistent/libpkcs11.so".into(),
        ..config(&label)
    })
    .unwrap_err();
    assert!(matches!(err, Pkcs11Error::Module { .. }), "{err}");
}

#[test]
fn raw_signature_conversion() {
    let mut raw = [0u8; 64];
    raw[31] = 1;
    raw[63] = 2;
    let der = raw_to_der(CaKeyKind::P256, &raw).unwrap();
    assert_eq!(der, [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);
    // A P-256 length from a P-384 key is malformed, not a panic.
    assert!(raw_to_der(CaKeyKind::P384, &raw).is_err());
}
