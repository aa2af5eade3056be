//! The `TimeStampResp` (RFC 3161 §2.4.2): status granted and a token that is
//! a CMS SignedData (RFC 5652 §5) over a DER `TSTInfo`, signed by the TSA key
//! over the signed attributes contentType, signingTime, messageDigest and
//! signingCertificateV2 (RFC 5035 §3, required by RFC 3161 §2.4.1), the set
//! sigstore/timestamp-authority's responses carry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo,
};
use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, OctetString, SetOfVec};
use der::{Any, Encode, Sequence};
use rand_core::{OsRng, RngCore};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, MessageImprint, TimeStampResp, TspVersion, TstInfo};

use super::request::positive_int;
use super::{StampError, StampRequest, TimestampAuthority};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, … }`
/// (RFC 5035 §3); the optional policies are never sent.
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// `ESSCertIDv2`: the hash algorithm is omitted, meaning its DEFAULT SHA-256.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }`.
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

pub(super) fn time_stamp_response(
    tsa: &TimestampAuthority,
    request: &StampRequest,
    policy: ObjectIdentifier,
    now: SystemTime,
) -> Result<Vec<u8>, StampError> {
    let whole_seconds = now
        .duration_since(UNIX_EPOCH)
        .map(|d| Duration::from_secs(d.as_secs()))
        .unwrap_or_default();
    let tst_info = TstInfo {
        version: TspVersion::V1,
        policy,
        message_imprint: MessageImprint {
            hash_algorithm: request.hash_algorithm_id.clone(),
            hashed_message: OctetString::new(request.hashed_message.clone())?,
        },
        serial_number: random_serial(),
        gen_time: GeneralizedTime::from_unix_duration(whole_seconds)?,
        accuracy: Some(Accuracy {
            seconds: Some(1),
            millis: None,
            micros: None,
        }),
        ordering: false,
        nonce: request.nonce.clone(),
        tsa: None,
        extensions: None,
    }
    .to_der()?;

    let tbs = &tsa.certificate.tbs_certificate;
    let digest_alg = AlgorithmIdentifierOwned {
        oid: super::hash_oid(tsa.digest),
        parameters: None,
    };
    let attribute = |oid, value: Any| -> Result<Attribute, der::Error> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value])?,
        })
    };
    let signing_certificate = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(tsa.certificate_hash())?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                serial_number: tbs.serial_number.clone(),
            },
        }],
    };
    let signed_attrs: SignedAttributes = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
        attribute(
            ID_SIGNING_TIME,
            // Fails only for a clock outside 1970–9999.
            Any::encode_from(
                &crate::x509::x509_time(now).map_err(|_| der::Tag::UtcTime.value_error())?,
            )?,
        )?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(tsa.digest.digest(&tst_info))?)?,
        )?,
        attribute(
            ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&signing_certificate)?,
        )?,
    ])?;
    // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET
    // OF, not with the [0] IMPLICIT tag they carry inside SignerInfo.
    let signature = tsa.signer.sign(&signed_attrs.to_der()?)?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: tsa.signer.signature_algorithm(),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    // RFC 3161 §2.4.1: the TSA certificate is present exactly when the
    // request set certReq.
    let certificates = if request.cert_req {
        Some(vec![CertificateChoices::Certificate(tsa.certificate.clone())].try_into()?)
    } else {
        None
    };
    let signed_data = SignedData {
        // RFC 5652 §5.1: v3, since the content type is not id-data.
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::encode_from(&OctetString::new(tst_info)?)?),
        },
        certificates,
        crls: None,
        signer_infos: vec![signer_info].try_into()?,
    };
    let response = TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        }),
    };
    Ok(response.to_der()?)
}

/// A positive serial of up to 159 random bits (RFC 3161 §2.4.2: unique per
/// token; clients must take 160 bits).
fn random_serial() -> der::asn1::Int {
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    positive_int(&bytes)
}
