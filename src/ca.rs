//! Private CAs per registry (SPEC §9): `registry-ca` in the config and `--registry-ca
//! REGISTRY=PEM` on the command line.
//!
//! A CA is a PEM file of one or more certificates. It is read when it is entered (so a
//! file that holds no certificate is refused then) and again by every command that uses
//! it, so a rotated CA file takes effect without re-adding it. cnb's own registry client
//! verifies that registry against the system roots plus these certificates; the
//! lifecycle gets the same files (see [`crate::lifecycle::extras`]).
//!
//! A key `host` covers every port of that host, `host:port` that port only, as for
//! insecure entries.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use thiserror::Error;

use crate::reference::Registry;

/// One registry's extra CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryCa {
    /// `host` (every port) or `host:port`.
    pub registry: Registry,
    /// The PEM file, absolute.
    pub path: PathBuf,
    /// Its certificates, DER.
    pub certificates: Vec<Vec<u8>>,
}

/// Why a CA file cannot be used. Each message names the file and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CaError {
    #[error(
        "cannot read the CA file {path} for {registry}: {reason}; give the path of a PEM file \
         (`cnb config registry-ca add {registry} <PEM-FILE>`), or drop the entry with \
         `cnb config registry-ca remove {registry}`"
    )]
    Read {
        registry: String,
        path: String,
        reason: String,
    },
    #[error(
        "the CA file {path} for {registry} holds no PEM certificate (-----BEGIN CERTIFICATE-----); \
         give the CA's certificate in PEM form"
    )]
    NoCertificate { registry: String, path: String },
}

impl RegistryCa {
    /// Reads `path` (made absolute against the current directory) for `registry`.
    pub fn load(registry: Registry, path: &Path) -> Result<RegistryCa, CaError> {
        let path = absolute(path);
        let certificates = read_certificates(&path).map_err(|reason| CaError::Read {
            registry: registry.to_string(),
            path: path.display().to_string(),
            reason,
        })?;
        if certificates.is_empty() {
            return Err(CaError::NoCertificate {
                registry: registry.to_string(),
                path: path.display().to_string(),
            });
        }
        Ok(RegistryCa {
            registry,
            path,
            certificates,
        })
    }

    /// Whether this CA applies to `registry`: the same host and, when the key has a
    /// port, the same port.
    pub fn covers(&self, registry: &Registry) -> bool {
        match self.registry.port() {
            Some(_) => &self.registry == registry,
            None => self.registry.host() == registry.host(),
        }
    }

    /// The certificates as one PEM text (what the lifecycle's containers get).
    pub fn pem(&self) -> String {
        use base64::Engine as _;
        let mut out = String::new();
        for der in &self.certificates {
            let body = base64::engine::general_purpose::STANDARD.encode(der);
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            for chunk in body.as_bytes().chunks(64) {
                out.push_str(&String::from_utf8_lossy(chunk));
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out
    }
}

impl fmt::Display for RegistryCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.registry, self.path.display())
    }
}

/// `path` made absolute against the current directory (as given when that fails).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The certificates of a PEM file; other PEM sections (keys) are skipped.
fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() {
        return Err("it is a directory".to_string());
    }
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(&text) {
        match item {
            Ok(der) => out.push(der.as_ref().to_vec()),
            Err(e) => return Err(format!("it is not valid PEM ({e})")),
        }
    }
    Ok(out)
}

/// The CAs that apply to `registry`, in the order given (flags first).
pub fn for_registry<'a>(
    cas: &'a [RegistryCa],
    registry: &'a Registry,
) -> impl Iterator<Item = &'a RegistryCa> + 'a {
    cas.iter().filter(move |ca| ca.covers(registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n";

    fn reg(s: &str) -> Registry {
        Registry::parse(s).unwrap()
    }

    #[test]
    fn a_host_key_covers_every_port_and_a_port_key_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, PEM).unwrap();
        let host = RegistryCa::load(reg("Reg.Example"), &file).unwrap();
        assert!(host.covers(&reg("reg.example:5000")));
        assert!(host.covers(&reg("reg.example")));
        assert!(!host.covers(&reg("other.example")));
        let port = RegistryCa::load(reg("reg.example:5000"), &file).unwrap();
        assert!(port.covers(&reg("reg.example:5000")));
        assert!(!port.covers(&reg("reg.example:5001")));
        assert_eq!(port.certificates, vec![vec![1, 2, 3]]);
        assert_eq!(port.pem(), PEM);
    }

    #[test]
    fn files_without_certificates_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = RegistryCa::load(reg("reg.example"), &empty).unwrap_err();
        assert!(matches!(err, CaError::NoCertificate { .. }), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = RegistryCa::load(reg("reg.example"), &missing)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.pem"), "{err}");
        assert!(
            err.contains("cnb config registry-ca add reg.example"),
            "{err}"
        );
        let err = RegistryCa::load(reg("reg.example"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("directory"), "{err}");
    }
}
