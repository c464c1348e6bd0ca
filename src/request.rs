//! Certificate signing requests (PKCS#10), so that node keys never leave their nodes.
//!
//! The flow: a node makes its key and a request for its names
//! ([`ServerCert::request`](crate::ServerCert::request)); the CA host checks the request
//! against what it allows ([`RequestPolicy`](crate::RequestPolicy)) and signs it with the node
//! profile ([`Issuer::sign_request`](crate::Issuer::sign_request)). The CA
//! decides the certificate's contents: the request's signature must verify, every name it asks
//! for must be allowed, a common name must be allowed too (for clients it is the etcd user),
//! and every other extension or attribute in it is ignored: key usages, basic constraints and
//! validity come from the CA's profile, never from the request.

use std::net::IpAddr;

use der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::request::{CertReq, ExtensionReq, RequestBuilder};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::alt_names::{AltNames, BadAltName, split_general_names};
use crate::error::Error;
use crate::key::PrivateKey;
use crate::name::Subject;
use crate::pem;
use crate::signature::{SignatureCheck, verify_signature};

const EXTENSION_REQUEST: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");

/// A PKCS#10 certificate signing request.
///
/// ```
/// use etcd_pki::{CertificateRequest, KeyAlgorithm, PrivateKey, RequestPolicy, Role};
/// use etcd_pki::{RootCa, ServerCert};
///
/// // On the node: its own key, never sent anywhere, and a request for its names.
/// let ip = "10.0.0.11".parse().unwrap();
/// let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
/// let csr = ServerCert::new(ip).request(&key)?;
/// let csr_pem = csr.to_pem()?;
///
/// // On the CA host: sign what is allowed for this node.
/// let ca = RootCa::new().self_sign()?;
/// let csr = CertificateRequest::from_pem(&csr_pem)?;
/// let cert = ca.sign_request(&csr, Role::Node, &RequestPolicy::for_node(ip))?;
/// assert_eq!(cert.ip_addresses(), ["127.0.0.1".parse::<std::net::IpAddr>().unwrap(), ip]);
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    inner: CertReq,
    /// The DER encoding: the bytes it was parsed from or signed as.
    der: Vec<u8>,
}

impl CertificateRequest {
    /// Builds and signs a request with `key` for `subject` and the alternative names.
    pub(crate) fn build(
        subject: &Subject,
        alt_names: &AltNames,
        key: &PrivateKey,
    ) -> Result<Self, Error> {
        let name = subject.to_name()?;
        let mut builder = RequestBuilder::new(name).map_err(|e| Error::Signing {
            source: Box::new(e),
        })?;
        let general = alt_names.to_general_names()?;
        if !general.is_empty() {
            builder
                .add_extension(&SubjectAltName(general))
                .map_err(|e| Error::encoding("certificate request", e))?;
        }
        let inner: CertReq = key.sign(builder)?;
        let der = inner
            .to_der()
            .map_err(|e| Error::encoding("certificate request", e))?;
        Ok(Self { inner, der })
    }

    /// Parses a PEM request (`CERTIFICATE REQUEST`, also the older `NEW CERTIFICATE REQUEST`).
    ///
    /// # Errors
    /// [`Error::InvalidPem`] or [`Error::InvalidRequest`].
    pub fn from_pem(text: &str) -> Result<Self, Error> {
        let block = pem::decode_first(text, &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])?;
        Self::from_der(&block.der)
    }

    /// Reads a request file (PEM; at most 1 MiB), e.g. the `<ip>.csr` a node wrote.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::InputTooLarge`]; [`Error::InvalidPem`] (for a DER file, with the
    /// `openssl req` command that converts it) and [`Error::InvalidRequest`], with the path.
    pub fn load(path: &std::path::Path) -> Result<Self, Error> {
        let text = crate::input::read_pem_file(path, crate::input::Kind::Request)?;
        Self::from_pem(&text).map_err(|e| e.in_file(path))
    }

    /// Parses a DER request.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] if it does not parse.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let inner = CertReq::from_der(der).map_err(|e| Error::InvalidRequest {
            path: None,
            reason: "not a PKCS#10 certificate request".into(),
            source: Some(Box::new(e)),
        })?;
        Ok(Self {
            inner,
            der: der.to_vec(),
        })
    }

    /// The PEM encoding (`CERTIFICATE REQUEST`, LF line endings).
    ///
    /// # Errors
    /// [`Error::Encoding`] if encoding fails (a bug).
    pub fn to_pem(&self) -> Result<String, Error> {
        pem::encode("CERTIFICATE REQUEST", &self.der)
            .map_err(|e| Error::encoding("certificate request", e))
    }

    /// The DER encoding (the bytes it was parsed from or signed as).
    #[must_use]
    pub fn to_der(&self) -> Vec<u8> {
        self.der.clone()
    }

    /// Writes `<dir>/<stem>.key` (mode 0600), the request's own `key`, and `<dir>/<stem>.csr`
    /// (mode 0644) as a pair, with the same guarantees as
    /// [`CertifiedKey::write`](crate::CertifiedKey::write); the key stays on the node, the
    /// request goes to the CA host.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] if `key` is not the key the request is for (nothing is
    /// written); otherwise as [`CertifiedKey::write`](crate::CertifiedKey::write).
    pub fn write(
        &self,
        dir: &std::path::Path,
        stem: &str,
        key: &PrivateKey,
        options: &crate::WriteOptions,
    ) -> Result<crate::WrittenFiles, Error> {
        let spki = self.public_key_der()?;
        if !key.matches_spki(&spki) {
            return Err(Error::KeyMismatch {
                key_path: None,
                cert_path: None,
            });
        }
        let csr_pem = self.to_pem()?;
        crate::write_options::write_pair(
            dir,
            stem,
            key,
            crate::write_options::Public::Request,
            &csr_pem,
            options,
        )
    }

    /// The requested subject's common name, if any.
    #[must_use]
    pub fn common_name(&self) -> Option<String> {
        self.inner
            .info
            .subject
            .common_name()
            .ok()
            .flatten()
            .map(|cn| cn.value().into_owned())
    }

    /// The extensions the request asks for (`extensionRequest` attribute).
    fn requested_extensions(&self) -> Result<Vec<Extension>, Error> {
        let mut out = Vec::new();
        for attr in self.inner.info.attributes.iter() {
            if attr.oid != EXTENSION_REQUEST {
                // challengePassword and other attributes mean nothing to this CA: ignored.
                continue;
            }
            for value in attr.values.iter() {
                let der = value
                    .to_der()
                    .map_err(|e| Error::encoding("certificate request", e))?;
                let req = ExtensionReq::from_der(&der).map_err(|e| Error::InvalidRequest {
                    path: None,
                    reason: "its extensionRequest attribute does not parse".into(),
                    source: Some(Box::new(e)),
                })?;
                out.extend(req.0);
            }
        }
        Ok(out)
    }

    /// The requested IP addresses and DNS names (the latter not yet validated).
    pub(crate) fn requested_names(&self) -> Result<(Vec<IpAddr>, Vec<String>), Error> {
        let mut ips = Vec::new();
        let mut dns = Vec::new();
        for ext in self.requested_extensions()? {
            if ext.extn_id != <SubjectAltName as der::oid::AssociatedOid>::OID {
                continue;
            }
            let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| {
                Error::InvalidRequest {
                    path: None,
                    reason: "its subjectAltName does not parse".into(),
                    source: Some(Box::new(e)),
                }
            })?;
            let (more_ips, more_dns) = split_general_names(san.0).map_err(|e| match e {
                BadAltName::MalformedIp => Error::InvalidRequest {
                    path: None,
                    reason: "it asks for a malformed IP address".into(),
                    source: None,
                },
                BadAltName::OtherKind(kind) => Error::Unsupported {
                    path: None,
                    what: "subject alternative name",
                    detail: format!(
                        "the request asks for {kind}; this CA issues only IP addresses and DNS names"
                    ),
                },
            })?;
            ips.extend(more_ips);
            dns.extend(more_dns);
        }
        Ok((ips, dns))
    }

    /// The DER `SubjectPublicKeyInfo` of the public key the request is for.
    fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        self.inner
            .info
            .public_key
            .to_der()
            .map_err(|e| Error::encoding("certificate request", e))
    }

    /// The public key the request is for.
    pub(crate) fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.inner.info.public_key
    }

    /// The IP addresses the request asks for.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] if its extensions do not parse.
    pub fn ip_addresses(&self) -> Result<Vec<IpAddr>, Error> {
        Ok(self.requested_names()?.0)
    }

    /// The DNS names the request asks for.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] if its extensions do not parse.
    pub fn dns_names(&self) -> Result<Vec<String>, Error> {
        Ok(self.requested_names()?.1)
    }

    /// Checks the request's key, then its signature with that key.
    pub(crate) fn verify(&self) -> Result<(), Error> {
        let info = self
            .inner
            .info
            .to_der()
            .map_err(|e| Error::encoding("certificate request", e))?;
        let spki = self.public_key_der()?;
        // The key first: a key this crate does not accept is reported as what it is, not as a
        // signature that does not verify (RSA-512, e = 1, RSA-16384, P-521, Ed25519, …).
        PrivateKey::check_public_key(&spki)?;
        verify_signature(
            &spki,
            self.inner.algorithm.oid,
            &info,
            self.inner.signature.raw_bytes(),
        )
        .map_err(|e| match e {
            SignatureCheck::Unsupported(detail) => Error::Unsupported {
                path: None,
                what: "signature algorithm",
                detail,
            },
            SignatureCheck::Invalid(reason) => Error::RequestSignatureInvalid { reason },
        })
    }
}
