//! Distinguished names and the validated strings that go into certificates.
//!
//! Names are built attribute by attribute (never by formatting and parsing an RFC 4514 string,
//! whose order is the reverse of the DER order and where `,` and `+` in a value change the
//! structure). The country is a `PrintableString`, every other attribute a `UTF8String`, as
//! openssl and Python `cryptography` write them.

use std::fmt;
use std::str::FromStr;

use der::asn1::{Any, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode, oid::ObjectIdentifier};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::error::Error;

/// RFC 5280 `ub-common-name`.
const UB_COMMON_NAME: usize = 64;

/// An attribute of a subject name, in the order they are written (the script's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NameAttribute {
    /// `C`, country: two letters (ISO 3166), a `PrintableString`.
    Country,
    /// `ST`, state or province.
    StateOrProvince,
    /// `L`, locality (city).
    Locality,
    /// `O`, organisation.
    Organization,
    /// `OU`, organisational unit.
    OrganizationalUnit,
    /// `CN`, common name. For a client certificate etcd maps it to a user name.
    CommonName,
}

impl NameAttribute {
    const ALL: [Self; 6] = [
        Self::Country,
        Self::StateOrProvince,
        Self::Locality,
        Self::Organization,
        Self::OrganizationalUnit,
        Self::CommonName,
    ];

    /// The attribute's short name (`C`, `ST`, `L`, `O`, `OU`, `CN`).
    #[must_use]
    pub const fn short_name(self) -> &'static str {
        match self {
            Self::Country => "C",
            Self::StateOrProvince => "ST",
            Self::Locality => "L",
            Self::Organization => "O",
            Self::OrganizationalUnit => "OU",
            Self::CommonName => "CN",
        }
    }

    const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Country => ObjectIdentifier::new_unwrap("2.5.4.6"),
            Self::StateOrProvince => ObjectIdentifier::new_unwrap("2.5.4.8"),
            Self::Locality => ObjectIdentifier::new_unwrap("2.5.4.7"),
            Self::Organization => ObjectIdentifier::new_unwrap("2.5.4.10"),
            Self::OrganizationalUnit => ObjectIdentifier::new_unwrap("2.5.4.11"),
            Self::CommonName => ObjectIdentifier::new_unwrap("2.5.4.3"),
        }
    }

    /// RFC 5280 upper bounds (`ub-*`), in characters.
    const fn max_len(self) -> usize {
        match self {
            Self::Country => 2,
            Self::StateOrProvince | Self::Locality => 128,
            Self::Organization | Self::OrganizationalUnit | Self::CommonName => 64,
        }
    }

    fn check(self, value: &str) -> Result<(), Error> {
        let fail = |reason| Error::InvalidSubject {
            attribute: self.short_name(),
            value: value.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(fail("must not be empty (leave the attribute out instead)"));
        }
        if value.chars().count() > self.max_len() {
            return Err(fail("longer than RFC 5280 allows for this attribute"));
        }
        if value.chars().any(char::is_control) {
            return Err(fail("must not contain control characters"));
        }
        if self == Self::Country
            && !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(fail(
                "must be a two-letter upper-case ISO 3166 country code",
            ));
        }
        Ok(())
    }
}

/// A certificate subject: a list of attributes, each at most once.
///
/// [`Subject::etcd_default`] is the subject `gen_etcd_certs.py` writes:
/// `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC` (plus `CN=CA` for the root).
///
/// ```
/// use etcd_pki::{NameAttribute, Subject};
///
/// let subject = Subject::empty()
///     .with(NameAttribute::Organization, "Example, Inc.")?
///     .with(NameAttribute::CommonName, "etcd CA")?;
/// assert_eq!(subject.get(NameAttribute::Organization), Some("Example, Inc."));
/// assert_eq!(subject.to_string(), "O=Example, Inc., CN=etcd CA");
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// Values indexed like [`NameAttribute::ALL`].
    values: [Option<String>; 6],
}

impl Default for Subject {
    fn default() -> Self {
        Self::etcd_default()
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({self})")
    }
}

impl fmt::Display for Subject {
    /// Attributes in DER order, `, `-separated (for people; not an RFC 4514 string).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (attr, value) in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={value}", attr.short_name())?;
        }
        Ok(())
    }
}

impl Subject {
    /// A subject without any attribute.
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            values: [None, None, None, None, None, None],
        }
    }

    /// The subject attributes of `gen_etcd_certs.py`: `C=CN, ST=CQ, L=YB, O=BC, OU=ZWC`.
    #[must_use]
    pub fn etcd_default() -> Self {
        let s = |v: &str| Some(v.to_owned());
        Self {
            values: [s("CN"), s("CQ"), s("YB"), s("BC"), s("ZWC"), None],
        }
    }

    /// Sets `attribute` to `value`, replacing any previous value.
    ///
    /// # Errors
    /// [`Error::InvalidSubject`] if the value is empty, longer than RFC 5280's upper bound,
    /// contains control characters, or (for the country) is not two upper-case letters.
    pub fn with(mut self, attribute: NameAttribute, value: &str) -> Result<Self, Error> {
        attribute.check(value)?;
        self.values[attribute as usize] = Some(value.to_owned());
        Ok(self)
    }

    /// Sets the common name.
    #[must_use]
    pub fn with_common_name(mut self, cn: CommonName) -> Self {
        self.values[NameAttribute::CommonName as usize] = Some(cn.0);
        self
    }

    /// Removes `attribute`.
    #[must_use]
    pub fn without(mut self, attribute: NameAttribute) -> Self {
        self.values[attribute as usize] = None;
        self
    }

    /// The value of `attribute`, if set.
    #[must_use]
    pub fn get(&self, attribute: NameAttribute) -> Option<&str> {
        self.values[attribute as usize].as_deref()
    }

    /// Whether no attribute is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The attributes that are set, in DER order.
    pub fn iter(&self) -> impl Iterator<Item = (NameAttribute, &str)> {
        NameAttribute::ALL
            .into_iter()
            .zip(&self.values)
            .filter_map(|(a, v)| v.as_deref().map(|v| (a, v)))
    }

    /// The X.509 name: one attribute per RDN, in DER order.
    pub(crate) fn to_name(&self) -> Result<Name, Error> {
        let mut rdns = RdnSequence::default();
        for (attr, value) in self.iter() {
            let encoded = if attr == NameAttribute::Country {
                PrintableStringRef::new(value).and_then(|s| Any::encode_from(&s))
            } else {
                Utf8StringRef::new(value).and_then(|s| Any::encode_from(&s))
            }
            .map_err(|e| Error::encoding("subject name", e))?;
            let atv = AttributeTypeAndValue {
                oid: attr.oid(),
                value: encoded,
            };
            let rdn = RelativeDistinguishedName::try_from(vec![atv])
                .map_err(|e| Error::encoding("subject name", e))?;
            rdns.push(rdn);
        }
        let der = rdns
            .to_der()
            .map_err(|e| Error::encoding("subject name", e))?;
        Name::from_der(&der).map_err(|e| Error::encoding("subject name", e))
    }
}

/// A validated common name: 1 to 64 characters, no control characters.
///
/// etcd maps the CN of a client certificate to a user name when authentication is enabled.
///
/// ```
/// use etcd_pki::CommonName;
///
/// let cn: CommonName = "alice".parse()?;
/// assert_eq!(cn.as_str(), "alice");
/// assert!("".parse::<CommonName>().is_err());
/// assert!("a\nb".parse::<CommonName>().is_err());
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommonName(String);

impl CommonName {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CommonName {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        let fail = |reason| Error::InvalidCommonName {
            value: value.to_owned(),
            reason,
        };
        if value.is_empty() {
            return Err(fail("must not be empty; leave the common name out instead"));
        }
        if value.chars().count() > UB_COMMON_NAME {
            return Err(fail("longer than 64 characters (RFC 5280 ub-common-name)"));
        }
        if value.chars().any(char::is_control) {
            return Err(fail("must not contain control characters"));
        }
        Ok(Self(value.to_owned()))
    }
}

impl TryFrom<&str> for CommonName {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self, Error> {
        value.parse()
    }
}

impl fmt::Display for CommonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated DNS host name for a subject alternative name (ASCII letters, digits and `-` in
/// dot-separated labels; a leading `*.` wildcard label is allowed). Stored in lower case.
///
/// ```
/// use etcd_pki::DnsName;
///
/// let name: DnsName = "ETCD-1.example.com".parse()?;
/// assert_eq!(name.as_str(), "etcd-1.example.com");
/// assert!("exa mple.com".parse::<DnsName>().is_err());
/// # Ok::<(), etcd_pki::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsName(String);

impl DnsName {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DnsName {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        let fail = |reason| Error::InvalidDnsName {
            value: value.to_owned(),
            reason,
        };
        let name = value.strip_suffix('.').unwrap_or(value);
        if name.is_empty() {
            return Err(fail("must not be empty"));
        }
        if name.len() > 253 {
            return Err(fail("longer than 253 characters"));
        }
        if name.parse::<std::net::IpAddr>().is_ok() {
            return Err(fail(
                "this is an IP address; add it as an IP address instead",
            ));
        }
        for (i, label) in name.split('.').enumerate() {
            if i == 0 && label == "*" {
                continue;
            }
            if label.is_empty() || label.len() > 63 {
                return Err(fail(
                    "each dot-separated label must have 1 to 63 characters",
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(fail(
                    "only ASCII letters, digits and '-' are allowed (use punycode for IDNs)",
                ));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(fail("a label must not start or end with '-'"));
            }
        }
        Ok(Self(name.to_ascii_lowercase()))
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_subject_matches_the_script_in_der_order() {
        let name = Subject::etcd_default().to_name().unwrap();
        assert_eq!(name.to_string(), "OU=ZWC,O=BC,L=YB,ST=CQ,C=CN");
        let der = name.to_der().unwrap();
        // C is a PrintableString (tag 0x13), the others UTF8String (0x0c).
        let c = der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x06])
            .unwrap();
        assert_eq!(der[c + 5], 0x13);
        let o = der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x04, 0x0a])
            .unwrap();
        assert_eq!(der[o + 5], 0x0c);
    }

    #[test]
    fn separators_in_values_stay_values() {
        let s = Subject::empty()
            .with(NameAttribute::CommonName, "a,b+c=d")
            .unwrap();
        let name = s.to_name().unwrap();
        assert_eq!(name.iter_rdn().count(), 1);
        assert_eq!(name.common_name().unwrap().unwrap().value(), "a,b+c=d");
    }

    #[test]
    fn attributes_are_checked() {
        assert!(
            Subject::empty()
                .with(NameAttribute::Country, "China")
                .is_err()
        );
        assert!(Subject::empty().with(NameAttribute::Country, "cn").is_err());
        assert!(
            Subject::empty()
                .with(NameAttribute::Organization, "")
                .is_err()
        );
        assert!(
            Subject::empty()
                .with(NameAttribute::Organization, &"x".repeat(65))
                .is_err()
        );
        assert!(
            Subject::empty()
                .with(NameAttribute::Locality, &"é".repeat(128))
                .is_ok()
        );
    }

    #[test]
    fn common_name_bounds() {
        assert!("x".repeat(64).parse::<CommonName>().is_ok());
        let e = "x".repeat(65).parse::<CommonName>().unwrap_err();
        assert!(matches!(e, Error::InvalidCommonName { .. }));
        assert!("tab\there".parse::<CommonName>().is_err());
        assert!("用户".parse::<CommonName>().is_ok());
    }

    #[test]
    fn dns_names() {
        assert!("*.etcd.local".parse::<DnsName>().is_ok());
        assert!("etcd.local.".parse::<DnsName>().is_ok());
        assert!("-bad.local".parse::<DnsName>().is_err());
        assert!("a..b".parse::<DnsName>().is_err());
        assert!("10.0.0.1".parse::<DnsName>().is_err());
        assert!("bücher.de".parse::<DnsName>().is_err());
    }
}
