//! Cross-checks of etcd-pki against independent implementations, kept out of the published
//! crate because they need C code or outside tools: the openssl CLI and library, rustls with
//! ring, rustls-webpki, aws-lc-rs, real etcd clusters (Debian's etcd 3.4 and the official 3.5
//! binaries) and the reference Python script. Everything is in `tests/` and `benches/`; this
//! library is empty.
#![forbid(unsafe_code)]
