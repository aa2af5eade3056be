//! `hashedrekord` 0.0.1: a signature over an artifact digest with a public
//! key or certificate (rekor pkg/types/hashedrekord/v0.0.1).
//!
//! Checks: the key/certificate PEM parses (a chain must chain), the digest
//! has the algorithm's length, the key and digest are one of Rekor's default
//! `client-signing-algorithms`, and the signature verifies over the digest.
//! Stored: `{data:{hash:{algorithm,value}}, signature:{content, publicKey:{content}}}`
//! with the signature re-encoded as standard base64 and the key or
//! certificate(s) as canonical PEM; the hash value is kept as sent, like Rekor.

use serde_json::{json, Value};

use super::material::Material;
use super::{as_object, base64_field, invalid, object, sha256_hex, string, to_base64};
use super::{EntryError, IndexKeys};
use crate::keys::{HashAlgorithm, PublicKey};

/// Verifies a hashedrekord `spec` and returns its canonical form and index keys.
pub(crate) fn canonical_spec(spec: &Value) -> Result<(Value, IndexKeys), EntryError> {
    let spec = as_object(spec, "spec")?;

    let sig = object(spec, "signature", "spec.signature")?;
    let sig_bytes = base64_field(
        string(sig, "content", "spec.signature.content")?,
        "spec.signature.content",
    )?;
    let key = object(sig, "publicKey", "spec.signature.publicKey")?;
    const KEY_FIELD: &str = "spec.signature.publicKey.content";
    let pem = base64_field(string(key, "content", KEY_FIELD)?, KEY_FIELD)?;
    let material = Material::parse(&pem, KEY_FIELD)?;
    material.verify_chain()?;

    let data = object(spec, "data", "spec.data")?;
    let hash = object(data, "hash", "spec.data.hash")?;
    let algorithm = string(hash, "algorithm", "spec.data.hash.algorithm")?;
    // Rekor's schema enum is case-sensitive.
    let alg = match algorithm {
        "sha256" => HashAlgorithm::Sha256,
        "sha384" => HashAlgorithm::Sha384,
        "sha512" => HashAlgorithm::Sha512,
        other => {
            return Err(invalid(
                "spec.data.hash.algorithm",
                format!("{other:?} is not one of sha256, sha384, sha512"),
            ))
        }
    };
    let value = string(hash, "value", "spec.data.hash.value")?;
    if value.len() != 2 * alg.len() {
        return Err(invalid(
            "spec.data.hash.value",
            format!(
                "a {} digest is {} hex digits, got {}",
                alg.name(),
                2 * alg.len(),
                value.len()
            ),
        ));
    }
    let digest = hex::decode(value)
        .map_err(|_| invalid("spec.data.hash.value", "not a hexadecimal string"))?;

    check_algorithm(&material.key, alg)?;
    material
        .key
        .verify_digest(alg, &digest, &sig_bytes)
        .map_err(|e| EntryError::BadSignature(e.to_string()))?;

    let canonical = json!({
        "data": { "hash": { "algorithm": algorithm, "value": value } },
        "signature": {
            "content": to_base64(&sig_bytes),
            "publicKey": { "content": to_base64(material.canonical_pem.as_bytes()) },
        },
    });
    let index = IndexKeys {
        hashes: vec![format!("{algorithm}:{value}")],
        public_keys: vec![sha256_hex(material.canonical_pem.as_bytes())],
        identities: material.identities(),
    };
    Ok((canonical, index))
}

/// Rekor's default `client-signing-algorithms` (pkg/api/api.go): ECDSA
/// P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, RSA PKCS#1 v1.5 2048/3072/4096
/// with SHA-256, and Ed25519ph (SHA-512). Sigstore clients verify with the
/// same pairs, so anything else would be logged but never verify.
pub(super) fn check_algorithm(key: &PublicKey, alg: HashAlgorithm) -> Result<(), EntryError> {
    use rsa::traits::PublicKeyParts as _;
    let (allowed, described) = match key {
        PublicKey::EcdsaP256(_) => (alg == HashAlgorithm::Sha256, "ECDSA P-256".to_owned()),
        PublicKey::EcdsaP384(_) => (alg == HashAlgorithm::Sha384, "ECDSA P-384".to_owned()),
        PublicKey::EcdsaP521(_) => (alg == HashAlgorithm::Sha512, "ECDSA P-521".to_owned()),
        PublicKey::Rsa(k) => {
            let bits = k.size() * 8;
            (
                alg == HashAlgorithm::Sha256 && matches!(bits, 2048 | 3072 | 4096),
                format!("RSA-{bits}"),
            )
        }
        PublicKey::Ed25519(_) => (alg == HashAlgorithm::Sha512, "Ed25519".to_owned()),
    };
    if allowed {
        Ok(())
    } else {
        Err(EntryError::AlgorithmNotAllowed(format!(
            "{described} key with a {} digest",
            alg.name()
        )))
    }
}
