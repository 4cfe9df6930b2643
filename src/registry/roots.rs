//! The system's TLS root certificates, read once per process.
//!
//! reqwest's default (rustls-platform-verifier) reads every root again for each client
//! it builds, and on Linux that means the CA bundle *and* every file of
//! `/etc/ssl/certs` — hundreds of files, tens of milliseconds, before the first request.
//! On Linux and the BSDs cnb reads the distribution's CA bundle once instead (the file
//! the directory's hash links point into) and hands those roots to every client.
//! `SSL_CERT_FILE` names another bundle; with `SSL_CERT_DIR` set, or no bundle found,
//! or on macOS and Windows, the platform verifier is used as before.
//!
//! cnb reads these variables and never sets them: the process environment is shared
//! with every thread and inherited by credential helpers and other child processes.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use oci_client::client::{Certificate, CertificateEncoding};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Where distributions keep the bundle (the list Go's crypto/x509 uses).
#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];
#[cfg(not(all(unix, not(target_vendor = "apple"), not(target_os = "android"))))]
const BUNDLES: &[&str] = &[];

use crate::env_vars::{SSL_CERT_DIR, SSL_CERT_FILE};

/// The roots to give every client; empty means "let reqwest use the platform verifier".
pub fn system_roots() -> &'static [Certificate] {
    static ROOTS: OnceLock<Vec<Certificate>> = OnceLock::new();
    ROOTS.get_or_init(load)
}

fn load() -> Vec<Certificate> {
    bundle_path()
        .map(|path| read_bundle(&path))
        .unwrap_or_default()
}

/// The CA bundle to read: `SSL_CERT_FILE`, else the distribution's; `None` when
/// `SSL_CERT_DIR` is set (the user asked for a directory) or there is none.
fn bundle_path() -> Option<PathBuf> {
    if std::env::var_os(SSL_CERT_DIR).is_some_and(|v| !v.is_empty()) {
        return None;
    }
    match std::env::var_os(SSL_CERT_FILE).filter(|v| !v.is_empty()) {
        Some(file) => Some(PathBuf::from(file)),
        None => BUNDLES.iter().map(PathBuf::from).find(|p| p.is_file()),
    }
}

/// The certificates of a PEM bundle; empty when it cannot be read or holds none.
fn read_bundle(path: &Path) -> Vec<Certificate> {
    let Ok(iter) = CertificateDer::pem_file_iter(path) else {
        return Vec::new();
    };
    iter.filter_map(Result::ok)
        .map(|der| Certificate {
            encoding: CertificateEncoding::Der,
            data: der.as_ref().to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_certificate_of_a_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        // The PEM layer does not look inside: any bytes make an entry.
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode(b"not really a certificate");
        let pem = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        std::fs::write(&path, format!("{pem}{pem}")).unwrap();
        assert_eq!(read_bundle(&path).len(), 2);
        assert!(read_bundle(&dir.path().join("missing.pem")).is_empty());
    }
}
