//! Certificate signing requests (PKCS#10), so that node keys never leave their nodes, and
//! renewal of issued certificates.
//!
//! The flow: a node makes its key and a request for its names
//! ([`ServerCert::request`](crate::ServerCert::request)); the CA host checks the request
//! against what it allows and signs it with the node profile ([`Issuer::sign_request`]). The CA
//! decides the certificate's contents: the request's signature must verify, every name it asks
//! for must be allowed, a common name must be allowed too (for clients it is the etcd user),
//! and every other extension or attribute in it is ignored: key usages, basic constraints and
//! validity come from the CA's profile, never from the request.

use std::collections::BTreeSet;
use std::net::IpAddr;

use der::{Decode, Encode};
use rand::CryptoRng;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq, RequestBuilder};

use crate::alt_names::AltNames;
use crate::cert::Certificate;
use crate::error::Error;
use crate::issuer::{Issuer, LeafRequest, SignatureCheck, verify_signature};
use crate::key::PrivateKey;
use crate::name::{CommonName, DnsName, NameAttribute, Subject};
use crate::pem;
use crate::profile::{CLIENT_AUTH, SERVER_AUTH, Usage};
use crate::validity::DEFAULT_DAYS;

const EXTENSION_REQUEST: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.14");

/// The role of a certificate: what the CA's profile makes of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// A client (`etcdctl`, applications): extendedKeyUsage clientAuth.
    Client,
    /// An etcd member: extendedKeyUsage serverAuth and clientAuth.
    Node,
}

impl Role {
    const fn usage(self) -> Usage {
        match self {
            Self::Client => Usage::Client,
            Self::Node => Usage::Node,
        }
    }
}

/// A PKCS#10 certificate signing request.
///
/// ```
/// use etcd_pki::{KeyAlgorithm, PrivateKey, RootCa, ServerCert};
/// use etcd_pki::request::{RequestPolicy, Role};
///
/// // On the node: its own key, never sent anywhere, and a request for its names.
/// let ip = "10.0.0.11".parse().unwrap();
/// let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
/// let csr = ServerCert::new(ip).request(&key)?;
/// let csr_pem = csr.to_pem()?;
///
/// // On the CA host: sign what is allowed for this node.
/// let ca = RootCa::new().self_sign()?;
/// let csr = etcd_pki::request::CertificateRequest::from_pem(&csr_pem)?;
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
            reason: format!("not a PKCS#10 certificate request ({e})"),
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
        let spki = self
            .inner
            .info
            .public_key
            .to_der()
            .map_err(|e| Error::encoding("certificate request", e))?;
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
                    reason: format!("its extensionRequest attribute does not parse ({e})"),
                })?;
                out.extend(req.0);
            }
        }
        Ok(out)
    }

    /// The requested IP addresses and DNS names.
    fn requested_names(&self) -> Result<(Vec<IpAddr>, Vec<String>), Error> {
        let mut ips = Vec::new();
        let mut dns = Vec::new();
        for ext in self.requested_extensions()? {
            if ext.extn_id != <SubjectAltName as der::oid::AssociatedOid>::OID {
                continue;
            }
            let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| {
                Error::InvalidRequest {
                    path: None,
                    reason: format!("its subjectAltName does not parse ({e})"),
                }
            })?;
            for name in san.0 {
                match name {
                    GeneralName::IpAddress(o) => {
                        let ip = match o.as_bytes().len() {
                            4 => <[u8; 4]>::try_from(o.as_bytes()).ok().map(IpAddr::from),
                            16 => <[u8; 16]>::try_from(o.as_bytes()).ok().map(IpAddr::from),
                            _ => None,
                        };
                        ips.push(ip.ok_or_else(|| Error::InvalidRequest {
                            path: None,
                            reason: "it asks for a malformed IP address".into(),
                        })?);
                    }
                    GeneralName::DnsName(d) => dns.push(d.to_string()),
                    other => {
                        return Err(Error::RequestRefused {
                            reason: format!(
                                "it asks for a kind of alternative name this CA does not issue ({other:?}); only IP addresses and DNS names"
                            ),
                        });
                    }
                }
            }
        }
        Ok((ips, dns))
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

    fn verify(&self) -> Result<(), Error> {
        let info = self
            .inner
            .info
            .to_der()
            .map_err(|e| Error::encoding("certificate request", e))?;
        let spki = self
            .inner
            .info
            .public_key
            .to_der()
            .map_err(|e| Error::encoding("certificate request", e))?;
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
            SignatureCheck::Invalid(why) => Error::RequestRefused {
                reason: format!("its signature {why}: it was not made with the key it names"),
            },
        })
    }
}

/// What a CA allows a request to ask for.
///
/// Names not listed are refused, not silently dropped: a request for an unexpected name is a
/// sign of a mistake or an attack and deserves an error.
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestPolicy {
    ips: BTreeSet<IpAddr>,
    /// The IP addresses every certificate signed under this policy carries, in this order,
    /// whether the request asks for them or not.
    required_ips: Vec<IpAddr>,
    dns: BTreeSet<String>,
    common_names: BTreeSet<String>,
    subject: Subject,
    days: u32,
}

impl RequestPolicy {
    /// Allows nothing yet; subject attributes as the script's, 3650 days.
    pub fn new() -> Self {
        Self {
            ips: BTreeSet::new(),
            required_ips: Vec::new(),
            dns: BTreeSet::new(),
            common_names: BTreeSet::new(),
            subject: Subject::etcd_default(),
            days: DEFAULT_DAYS,
        }
    }

    /// The policy for a node at `ip`: `127.0.0.1` and `ip` required, as
    /// [`ServerCert::new`](crate::ServerCert::new) puts them in. The CA adds them to the
    /// certificate when the request does not ask for them (a node certificate without its own
    /// address is rejected by its peers, one without `127.0.0.1` by local clients); it refuses
    /// any other name the policy does not allow.
    pub fn for_node(ip: IpAddr) -> Self {
        Self::new()
            .require_ip(IpAddr::from([127, 0, 0, 1]))
            .require_ip(ip)
    }

    /// Requires an IP address: every certificate signed under this policy carries it, first
    /// (in the order required), whether the request asks for it or not. Implies
    /// [`RequestPolicy::allow_ip`].
    pub fn require_ip(mut self, ip: IpAddr) -> Self {
        let mut canonical = AltNames::default();
        canonical.add_ip(ip);
        for ip in canonical.ips {
            if !self.required_ips.contains(&ip) {
                self.required_ips.push(ip);
            }
            self.ips.insert(ip);
        }
        self
    }

    /// The policy for a client acting as etcd user `cn` (or none).
    pub fn for_client(cn: Option<&CommonName>) -> Self {
        match cn {
            Some(cn) => Self::new().allow_common_name(cn),
            None => Self::new(),
        }
    }

    /// Allows an IP address.
    pub fn allow_ip(mut self, ip: IpAddr) -> Self {
        let mut canonical = AltNames::default();
        canonical.add_ip(ip);
        self.ips.extend(canonical.ips);
        self
    }

    /// Allows a DNS name.
    pub fn allow_dns_name(mut self, name: &DnsName) -> Self {
        self.dns.insert(name.as_str().to_owned());
        self
    }

    /// Allows a common name (for clients: the etcd user the certificate acts as).
    pub fn allow_common_name(mut self, cn: &CommonName) -> Self {
        self.common_names.insert(cn.as_str().to_owned());
        self
    }

    /// The subject attributes other than the CN (default: the script's).
    pub fn subject(mut self, subject: Subject) -> Self {
        self.subject = subject.without(NameAttribute::CommonName);
        self
    }

    /// The validity in days (default 3650; never beyond the CA's own expiry).
    pub fn validity_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }
}

impl Default for RequestPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl Issuer {
    /// Checks `request` against `policy` and signs it with the profile of `role`.
    ///
    /// The certificate carries the IP addresses the policy requires
    /// ([`RequestPolicy::require_ip`]; for [`RequestPolicy::for_node`]: `127.0.0.1` and the
    /// node's address) even when the request does not ask for them, then the names the
    /// request asks for.
    ///
    /// # Errors
    /// - [`Error::Unsupported`]: the request's key is not one this crate issues for (checked
    ///   first, so that a bad key is not reported as a bad signature);
    /// - [`Error::RequestRefused`]: the signature does not verify, or the request asks for an
    ///   IP address, DNS name or common name the policy does not allow, or a node certificate
    ///   would name no address;
    /// - [`Error::InvalidRequest`], [`Error::Unsupported`], [`Error::InvalidIpAddress`],
    ///   [`Error::InvalidDnsName`], [`Error::InvalidCommonName`], and those of signing.
    pub fn sign_request(
        &self,
        request: &CertificateRequest,
        role: Role,
        policy: &RequestPolicy,
    ) -> Result<Certificate, Error> {
        self.sign_request_with_rng(request, role, policy, &mut rand::rng())
    }

    /// As [`Issuer::sign_request`], with the given random number generator (serial numbers).
    ///
    /// # Errors
    /// As [`Issuer::sign_request`].
    pub fn sign_request_with_rng<R: CryptoRng + ?Sized>(
        &self,
        request: &CertificateRequest,
        role: Role,
        policy: &RequestPolicy,
        rng: &mut R,
    ) -> Result<Certificate, Error> {
        request.verify()?;
        let refuse = |reason: String| Error::RequestRefused { reason };
        let (ips, dns) = request.requested_names()?;
        // The names the policy requires first, whatever the request asks for: the CA's
        // profile decides them. Then those asked for, each of which must be allowed.
        let mut alt_names = AltNames::default();
        for ip in &policy.required_ips {
            alt_names.add_ip(*ip);
        }
        for ip in ips {
            alt_names.add_ip(ip);
        }
        for ip in &alt_names.ips {
            if !policy.ips.contains(ip) {
                return Err(refuse(format!(
                    "it asks for IP address {ip}, which is not allowed for it (allowed: {})",
                    list(&policy.ips)
                )));
            }
        }
        for name in dns {
            let name: DnsName = name.parse()?;
            if !policy.dns.contains(name.as_str()) {
                return Err(refuse(format!(
                    "it asks for DNS name {name}, which is not allowed for it (allowed: {})",
                    list(&policy.dns)
                )));
            }
            alt_names.add_dns(name);
        }
        if role == Role::Node && alt_names.is_empty() {
            return Err(refuse(
                "a node certificate needs at least one IP address or DNS name, and the request asks for none".into(),
            ));
        }
        let mut subject = policy.subject.clone();
        if let Some(cn) = request.common_name() {
            let cn: CommonName = cn.parse()?;
            if !policy.common_names.contains(cn.as_str()) {
                return Err(refuse(format!(
                    "it asks for common name {:?}, which is not allowed for it{}",
                    cn.as_str(),
                    if role == Role::Client {
                        " (for a client the CN is the etcd user it acts as)"
                    } else {
                        ""
                    }
                )));
            }
            subject = subject.with_common_name(&cn);
        }
        let leaf = LeafRequest {
            subject: subject.to_name()?,
            usage: role.usage(),
            alt_names: alt_names.to_general_names()?,
            days: policy.days,
        };
        self.sign_leaf(leaf, request.inner.info.public_key.clone(), rng)
    }

    /// Issues a fresh certificate for the same key, subject, names and role as `cert`, valid
    /// for `days` from now (never beyond the CA's expiry): renewal before expiry. etcd reads
    /// its certificate files on each new connection, so replacing a member's certificate file
    /// renews a running member.
    ///
    /// ```
    /// use etcd_pki::{RootCa, ServerCert};
    ///
    /// let ca = RootCa::new().self_sign()?;
    /// let old = ServerCert::new("10.0.0.11".parse().unwrap()).validity_days(30).issue(&ca)?;
    /// let new = ca.renew(old.certificate(), 365)?;
    /// assert_eq!(new.ip_addresses(), old.certificate().ip_addresses());
    /// assert!(new.not_after() > old.certificate().not_after());
    /// # Ok::<(), etcd_pki::Error>(())
    /// ```
    ///
    /// Nothing the old certificate says is used before its signature has been verified with
    /// this CA's key; then its key is checked as a request's would be, and its profile must be
    /// exactly this CA's client or node profile (not a CA, no other usages, extensions or kinds
    /// of names).
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] if `cert` was not signed by this CA's key (a forgery, or
    /// another CA's), is a CA certificate, or is not exactly a client or node certificate of
    /// this CA; [`Error::Unsupported`] for a key or signature algorithm this crate does not
    /// accept; [`Error::InvalidValidity`]; those of signing.
    pub fn renew(&self, cert: &Certificate, days: u32) -> Result<Certificate, Error> {
        let refuse = |reason: String| Error::InvalidCertificate {
            path: None,
            reason: format!(
                "{reason}; only this CA's own client and node certificates are renewed"
            ),
            source: None,
        };
        // First its signature: nothing the certificate says counts until this CA's key has
        // been shown to have signed it.
        self.verify_issued(cert)?;
        let tbs = cert.x509().tbs_certificate();
        if tbs.version() != x509_cert::certificate::Version::V3 {
            return Err(refuse("it is not an X.509 v3 certificate".into()));
        }
        // Then its key: one this crate would issue a certificate for today.
        PrivateKey::check_public_key(&cert.public_key_der()?)?;
        // Then its profile: exactly the extensions of a client or node certificate.
        let usage = leaf_usage(tbs, self.key_id()).map_err(refuse)?;
        let mut alt_names = AltNames::default();
        match tbs.get_extension::<SubjectAltName>() {
            Ok(Some((_, san))) => {
                for name in san.0 {
                    match name {
                        GeneralName::IpAddress(o) => {
                            let ip = ip_from_octets(o.as_bytes()).ok_or_else(|| {
                                refuse("its subjectAltName holds a malformed IP address".into())
                            })?;
                            alt_names.add_ip(ip);
                        }
                        GeneralName::DnsName(d) => alt_names.add_dns(d.as_str().parse()?),
                        other => {
                            return Err(refuse(format!(
                                "its subjectAltName holds a kind of name this CA does not issue ({other:?})"
                            )));
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => return Err(refuse(format!("its subjectAltName does not parse ({e})"))),
        }
        if usage == Usage::Node && alt_names.is_empty() {
            return Err(refuse(
                "it is a node certificate without any IP address or DNS name".into(),
            ));
        }
        let leaf = LeafRequest {
            subject: Name::from_der(
                &tbs.subject()
                    .to_der()
                    .map_err(|e| Error::encoding("subject name", e))?,
            )
            .map_err(|e| Error::encoding("subject name", e))?,
            usage,
            alt_names: alt_names.to_general_names()?,
            days,
        };
        self.sign_leaf(
            leaf,
            tbs.subject_public_key_info().clone(),
            &mut rand::rng(),
        )
    }
}

/// The usage of a certificate with exactly the extensions of this CA's client or node profile
/// (basicConstraints CA:FALSE; keyUsage digitalSignature, optionally keyEncipherment;
/// extendedKeyUsage clientAuth, or serverAuth and clientAuth; key identifiers, the authority's
/// being this CA's; subjectAltName), or why not.
fn leaf_usage(
    tbs: &x509_cert::certificate::TbsCertificate,
    ca_key_id: &[u8],
) -> Result<Usage, String> {
    use der::oid::AssociatedOid;
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
    let mut seen = BTreeSet::new();
    for ext in tbs.extensions().map(Vec::as_slice).unwrap_or_default() {
        let known = [
            BasicConstraints::OID,
            KeyUsage::OID,
            ExtendedKeyUsage::OID,
            SubjectKeyIdentifier::OID,
            AuthorityKeyIdentifier::OID,
            SubjectAltName::OID,
        ];
        if !known.contains(&ext.extn_id) {
            return Err(format!(
                "it carries an extension this CA does not issue ({})",
                ext.extn_id
            ));
        }
        if !seen.insert(ext.extn_id) {
            return Err(format!("it carries extension {} twice", ext.extn_id));
        }
    }
    let parse = |what: &str, e: der::Error| format!("its {what} extension does not parse ({e})");
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if !bc.ca => {}
        Ok(Some(_)) => return Err("it is a CA certificate (basicConstraints CA:TRUE)".into()),
        Ok(None) => return Err("it has no basicConstraints CA:FALSE".into()),
        Err(e) => return Err(parse("basicConstraints", e)),
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku)))
            if ku.digital_signature()
                && (ku.0 & !(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment))
                    .is_empty() => {}
        Ok(Some(_)) => {
            return Err("its keyUsage is not digitalSignature (and keyEncipherment)".into());
        }
        Ok(None) => return Err("it has no keyUsage".into()),
        Err(e) => return Err(parse("keyUsage", e)),
    }
    match tbs.get_extension::<AuthorityKeyIdentifier>() {
        Ok(Some((_, aki)))
            if aki
                .key_identifier
                .as_ref()
                .map(der::asn1::OctetString::as_bytes)
                == Some(ca_key_id)
                && aki.authority_cert_issuer.is_none()
                && aki.authority_cert_serial_number.is_none() => {}
        Ok(Some(_)) => return Err("its authorityKeyIdentifier is not this CA's key".into()),
        Ok(None) => return Err("it has no authorityKeyIdentifier".into()),
        Err(e) => return Err(parse("authorityKeyIdentifier", e)),
    }
    let eku = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => eku.0,
        Ok(None) => return Err("it has no extendedKeyUsage".into()),
        Err(e) => return Err(parse("extendedKeyUsage", e)),
    };
    match eku.as_slice() {
        [CLIENT_AUTH] => Ok(Usage::Client),
        [SERVER_AUTH, CLIENT_AUTH] | [CLIENT_AUTH, SERVER_AUTH] => Ok(Usage::Node),
        _ => Err(format!(
            "its extendedKeyUsage ({}) is neither a client's (clientAuth) nor a node's (serverAuth, clientAuth)",
            eku.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// An IP address from the octets of a `GeneralName::IpAddress`.
fn ip_from_octets(o: &[u8]) -> Option<IpAddr> {
    match o.len() {
        4 => <[u8; 4]>::try_from(o).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(o).ok().map(IpAddr::from),
        _ => None,
    }
}

fn list<T: std::fmt::Display>(items: &BTreeSet<T>) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
