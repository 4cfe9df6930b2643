//! Throwaway certificates made with `openssl` (EC P-256, valid for 3 days): a test CA and
//! the server and client certificates it signs, for TLS registries and the test cluster's
//! API server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::must_run;

const OPENSSL_LIMIT: Duration = Duration::from_secs(60);

/// Key options for `openssl req`: a new unencrypted P-256 key.
const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// What a certificate is for.
#[derive(Debug, Clone)]
pub enum CertUsage {
    /// A TLS server certificate with these subject alternative names
    /// (`IP:127.0.0.1,DNS:localhost`).
    Server { sans: String },
    /// A TLS client certificate (Kubernetes reads the user from CN and groups from O).
    Client,
}

/// A test CA: `ca.crt` and `ca.key` in a directory the caller owns.
#[derive(Debug, Clone)]
pub struct TestCa {
    dir: PathBuf,
}

/// A certificate and its key, PEM files.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// Makes `dir/ca.crt` and `dir/ca.key` (subject `/CN=<name>`).
    pub fn create(dir: &Path, name: &str) -> TestCa {
        let p = |file: &str| dir.join(file).display().to_string();
        let subject = format!("/CN={name}");
        let mut args: Vec<&str> = vec!["req", "-x509"];
        args.extend(EC_KEY);
        let (key, cert) = (p("ca.key"), p("ca.crt"));
        args.extend([
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "3",
            "-subj",
            &subject,
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        must_run("openssl", &args, OPENSSL_LIMIT);
        TestCa {
            dir: dir.to_path_buf(),
        }
    }

    /// The CA certificate (what clients trust).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// Signs `<dir>/<name>.crt` for a new key `<dir>/<name>.key`, with `subject`
    /// (`/CN=localhost`, `/O=system:masters/CN=admin`).
    pub fn issue(&self, name: &str, subject: &str, usage: &CertUsage) -> IssuedCert {
        let p = |ext: &str| self.dir.join(format!("{name}.{ext}"));
        let shown = |path: PathBuf| path.display().to_string();
        let (key, csr, cert, ext) = (p("key"), p("csr"), p("crt"), p("ext"));
        let mut args: Vec<String> = vec!["req".into()];
        args.extend(EC_KEY.iter().map(|s| s.to_string()));
        args.extend([
            "-keyout".into(),
            shown(key.clone()),
            "-out".into(),
            shown(csr.clone()),
            "-subj".into(),
            subject.to_string(),
        ]);
        must_run("openssl", &args, OPENSSL_LIMIT);
        let extensions = match usage {
            CertUsage::Server { sans } => format!(
                "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=serverAuth\n\
                 subjectAltName={sans}\n"
            ),
            CertUsage::Client => "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=clientAuth\n"
                .to_string(),
        };
        std::fs::write(&ext, extensions).expect("test support: write certificate extensions");
        must_run(
            "openssl",
            [
                "x509".to_string(),
                "-req".into(),
                "-in".into(),
                shown(csr),
                "-CA".into(),
                shown(self.cert_path()),
                "-CAkey".into(),
                shown(self.dir.join("ca.key")),
                "-CAcreateserial".into(),
                "-out".into(),
                shown(cert.clone()),
                "-days".into(),
                "3".into(),
                "-extfile".into(),
                shown(ext),
            ],
            OPENSSL_LIMIT,
        );
        IssuedCert { cert, key }
    }
}
