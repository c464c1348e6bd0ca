//! A public key from outside (in a certificate request, a loaded root, a certificate to renew)
//! is checked before anything is done with it, and a key problem is reported as one: what is
//! wrong with the key and what is accepted, never as a signature that does not match.
#![cfg(feature = "ecdsa")]

use der::asn1::{BitString, UintRef};
use der::{Decode, Encode};
use etcd_pki::{CertificateRequest, RequestPolicy, Role};
use etcd_pki::{Error, Issuer, KeyAlgorithm, KeyFormat, PrivateKey, RootCa, ServerCert};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// An `rsaEncryption` key with a modulus of `bits` bits (top and bottom bits set) and exponent `e`.
fn rsa_spki(bits: usize, e: &[u8]) -> SubjectPublicKeyInfoOwned {
    let mut n = vec![0x5au8; bits / 8];
    n[0] = 0xc5;
    *n.last_mut().unwrap() |= 1;
    let key = rsa::pkcs1::RsaPublicKey {
        modulus: UintRef::new(&n).unwrap(),
        public_exponent: UintRef::new(e).unwrap(),
    };
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA,
            parameters: Some(der::asn1::Null.into()),
        },
        subject_public_key: BitString::from_bytes(&key.to_der().unwrap()).unwrap(),
    }
}

fn ec_spki(curve: &str, point_len: usize) -> SubjectPublicKeyInfoOwned {
    let mut point = vec![0x11u8; point_len];
    point[0] = 0x04;
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: EC,
            parameters: Some(ObjectIdentifier::new_unwrap(curve).into()),
        },
        subject_public_key: BitString::from_bytes(&point).unwrap(),
    }
}

fn ed25519_spki() -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(&[0x22; 32]).unwrap(),
    }
}

/// Each odd key, and the words its error must contain.
fn odd_keys() -> Vec<(
    &'static str,
    SubjectPublicKeyInfoOwned,
    &'static [&'static str],
)> {
    vec![
        ("RSA-512", rsa_spki(512, &[1, 0, 1]), &["RSA-512", "2048"]),
        (
            "RSA-1024",
            rsa_spki(1024, &[1, 0, 1]),
            &["RSA-1024", "2048"],
        ),
        (
            "RSA-16384",
            rsa_spki(16384, &[1, 0, 1]),
            &["RSA-16384", "8192"],
        ),
        ("e = 1", rsa_spki(2048, &[1]), &["exponent 1", "65537"]),
        ("e = 4", rsa_spki(2048, &[4]), &["exponent 4", "odd"]),
        (
            "e = 2^40+1",
            rsa_spki(2048, &[1, 0, 0, 0, 0, 1]),
            &["exponent", "too large"],
        ),
        ("P-521", ec_spki("1.3.132.0.35", 133), &["P-521", "P-256"]),
        (
            "secp256k1",
            ec_spki("1.3.132.0.10", 65),
            &["secp256k1", "P-256"],
        ),
        ("Ed25519", ed25519_spki(), &["Ed25519", "P-256"]),
    ]
}

fn check_message(what: &str, e: &Error, words: &[&str], failures: &mut Vec<String>) {
    let text = e.to_string();
    let ok = matches!(e, Error::Unsupported { .. })
        && !text.contains("signature")
        && words.iter().all(|w| text.contains(w));
    if !ok {
        failures.push(format!("{what}: {e:?} / {text}"));
    }
}

#[test]
fn request_keys_are_checked_before_the_signature() {
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let ip = "10.3.0.1".parse().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let der = ServerCert::new(ip).request(&key).unwrap().to_der();
    let mut failures = Vec::new();
    for (what, spki, words) in odd_keys() {
        let mut req = x509_cert::request::CertReq::from_der(&der).unwrap();
        req.info.public_key = spki;
        let csr = CertificateRequest::from_der(&req.to_der().unwrap()).unwrap();
        match ca.sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip)) {
            Ok(_) => failures.push(format!("{what}: signed")),
            Err(e) => check_message(what, &e, words, &mut failures),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn root_keys_are_checked_before_the_self_signature() {
    let ca = RootCa::new()
        .key_algorithm(KeyAlgorithm::EcdsaP256)
        .self_sign()
        .unwrap();
    let key_pem = ca
        .certified_key()
        .private_key()
        .to_pem(KeyFormat::Pkcs8)
        .unwrap();
    let mut failures = Vec::new();
    for (what, spki, words) in odd_keys() {
        let mut x = x509_cert::Certificate::from_der(&ca.certificate().to_der()).unwrap();
        // Swap the key of the (self-signed) root for the odd one.
        let mut tbs = x.tbs_certificate().clone();
        tbs = x509_cert::certificate::TbsCertificate::from_der(&{
            let mut d = tbs.to_der().unwrap();
            let old = tbs.subject_public_key_info().to_der().unwrap();
            let at = d.windows(old.len()).position(|w| w == old).unwrap();
            let new = spki.to_der().unwrap();
            // Re-encode with the new key in place of the old (lengths differ: rebuild).
            let mut body = d.split_off(at);
            body.drain(..old.len());
            d.extend_from_slice(&new);
            d.extend_from_slice(&body);
            rewrap(&d)
        })
        .unwrap();
        x = x509_cert::Certificate::from_der(&{
            let mut out = tbs.to_der().unwrap();
            out.extend(x.signature_algorithm().to_der().unwrap());
            out.extend(x.signature().to_der().unwrap());
            seq(&out)
        })
        .unwrap();
        let pem = der::EncodePem::to_pem(&x, der::pem::LineEnding::LF).unwrap();
        match Issuer::from_pem(&pem, &key_pem) {
            Ok(_) => failures.push(format!("{what}: loaded")),
            Err(e) => check_message(what, &e, words, &mut failures),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `d` is a SEQUENCE whose content changed length: re-encode its header.
fn rewrap(d: &[u8]) -> Vec<u8> {
    let mut reader = der::SliceReader::new(d).unwrap();
    let header = der::Header::decode(&mut reader).unwrap();
    let start = usize::try_from(u32::from(der::Reader::position(&reader))).unwrap();
    let _ = header;
    seq(&d[start..])
}

/// A DER SEQUENCE around `content`.
fn seq(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap());
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[test]
fn loaded_private_keys_get_the_same_checks() {
    // An RSA key with a huge modulus is refused for its size, before anything else.
    let e = PrivateKey::from_pem(&rsa_pkcs1_pem(16384)).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(
        e.to_string().contains("RSA-16384") && e.to_string().contains("8192"),
        "{e}"
    );
}

/// A PKCS#1 `RSAPrivateKey` of `bits` bits whose numbers are made up (it is refused before
/// they matter).
fn rsa_pkcs1_pem(bits: usize) -> String {
    let mut n = vec![0x5au8; bits / 8];
    n[0] = 0xc5;
    let half = vec![0x77u8; bits / 16];
    let key = rsa::pkcs1::RsaPrivateKey {
        modulus: UintRef::new(&n).unwrap(),
        public_exponent: UintRef::new(&[1, 0, 1]).unwrap(),
        private_exponent: UintRef::new(&n[1..]).unwrap(),
        prime1: UintRef::new(&half).unwrap(),
        prime2: UintRef::new(&half).unwrap(),
        exponent1: UintRef::new(&half).unwrap(),
        exponent2: UintRef::new(&half).unwrap(),
        coefficient: UintRef::new(&half).unwrap(),
        other_prime_infos: None,
    };
    let der = key.to_der().unwrap();
    pem_rfc7468::encode_string("RSA PRIVATE KEY", pem_rfc7468::LineEnding::LF, &der).unwrap()
}

#[test]
fn sec1_keys_of_other_curves_are_named() {
    // An `openssl ecparam -name secp521r1 -genkey` key (SEC1, made up scalar): its curve is
    // named, not "not a P-256 or P-384 EC key".
    let mut body = vec![0x02, 0x01, 0x01, 0x04, 0x42];
    body.extend([0x01; 0x42]);
    body.extend([0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]);
    let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
    der.extend(body);
    let pem =
        pem_rfc7468::encode_string("EC PRIVATE KEY", pem_rfc7468::LineEnding::LF, &der).unwrap();
    let e = PrivateKey::from_pem(&pem).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(e.to_string().contains("P-521"), "{e}");
}
