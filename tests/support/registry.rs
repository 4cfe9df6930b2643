//! Real registries (`/usr/bin/docker-registry`, distribution 2.8) on loopback, and a pusher
//! of tiny valid images that needs no Docker.
//!
//! Modes ([`RegistryOptions`]): plain HTTP; TLS with a test CA (`cert_path()` is the CA
//! certificate to trust; the server certificate has SAN `IP:127.0.0.1`, `DNS:localhost` and the
//! bind address); htpasswd basic auth (bcrypt; distribution 2.8 accepts it over plain HTTP, so
//! `auth()` works with or without `tls()`); pull-through proxy of another `TestRegistry`
//! (`proxy_of`; a proxy registry refuses pushes, push to its remote instead).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::pki::{CertUsage, TestCa};
use super::{
    Credentials, HttpClient, HttpResponse, NetnsHost, START_TIMEOUT, must_run, next_id,
    sha256_digest, wait_for,
};

/// What kind of registry to start. Build with [`RegistryOptions::plain`] and the chained
/// setters: `RegistryOptions::plain().tls().auth()`.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub tls: bool,
    /// Listen on `[::1]` instead of `127.0.0.1`.
    pub ipv6: bool,
    pub auth: bool,
    /// Pull-through cache of this registry: `(url, credentials for it)`.
    pub proxy: Option<(String, Option<Credentials>)>,
}

impl RegistryOptions {
    /// Plain HTTP, no auth.
    pub fn plain() -> RegistryOptions {
        RegistryOptions::default()
    }

    /// Serve HTTPS with a certificate signed by a fresh test CA.
    pub fn tls(mut self) -> RegistryOptions {
        self.tls = true;
        self
    }

    /// Listen on `[::1]:PORT` (`host()` is then `[::1]:PORT`).
    pub fn ipv6(mut self) -> RegistryOptions {
        self.ipv6 = true;
        self
    }

    /// Require basic auth (htpasswd, one user; see [`TestRegistry::credentials`]).
    pub fn auth(mut self) -> RegistryOptions {
        self.auth = true;
        self
    }

    /// Be a pull-through cache of `remote`. The remote must be plain HTTP without auth:
    /// the registry process would have to trust the test CA for TLS, and distribution 2.8's
    /// proxy only authenticates upstream with token auth (its basic-auth credentials are
    /// looked up by the challenge's realm, which never matches a request URL).
    pub fn proxy_of(mut self, remote: &TestRegistry) -> RegistryOptions {
        assert!(
            !remote.is_tls() && remote.credentials().is_none(),
            "test support: a proxy registry's remote must be plain HTTP without auth"
        );
        self.proxy = Some((remote.url(), None));
        self
    }
}

/// A running `docker-registry` with its storage in a temporary directory. Killed and
/// removed on drop.
pub struct TestRegistry {
    child: Option<Child>,
    dir: tempfile::TempDir,
    ip: IpAddr,
    port: u16,
    tls: bool,
    ca_path: Option<PathBuf>,
    credentials: Option<Credentials>,
}

impl TestRegistry {
    /// Starts a registry on a free `127.0.0.1` (or `[::1]`) port and waits (≤ 30 s) until
    /// `/v2/` answers.
    pub fn start(opts: RegistryOptions) -> TestRegistry {
        let mut last_log = String::new();
        let ip = if opts.ipv6 {
            IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind((ip, 0))
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or_else(|e| panic!("test support: cannot bind {ip}: {e}"));
            match TestRegistry::launch(opts.clone(), ip, port, None) {
                Ok(r) => return r,
                Err(log) if log.contains("address already in use") => last_log = log,
                Err(log) => panic!("test support: docker-registry did not start:\n{log}"),
            }
        }
        panic!("test support: no free port for docker-registry after 5 tries:\n{last_log}")
    }

    /// Starts a registry inside `netns` on its namespace address, port 5000.
    pub fn start_in_netns(netns: &NetnsHost, opts: RegistryOptions) -> TestRegistry {
        TestRegistry::launch(opts, IpAddr::V4(netns.ip()), 5000, Some(netns.name()))
            .unwrap_or_else(|log| panic!("test support: docker-registry in netns failed:\n{log}"))
    }

    fn launch(
        opts: RegistryOptions,
        ip: IpAddr,
        port: u16,
        netns: Option<&str>,
    ) -> Result<TestRegistry, String> {
        let dir = tempfile::Builder::new()
            .prefix("cnbtest-registry-")
            .tempdir()
            .expect("test support: registry temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("data")).expect("mkdir data");
        // Every answer carries this header, so readiness is checked against this very
        // process and not whoever else grabbed the port in between.
        let identity = format!("{}-{}-{port}", std::process::id(), next_id());
        let mut yml = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: \"{addr}\"\n  secret: cnb-test-secret-{identity}\n\
             \x20 headers:\n    X-Cnb-Test-Registry: [\"{identity}\"]\n",
            data = root.join("data").display(),
            addr = std::net::SocketAddr::new(ip, port),
        );
        if opts.tls {
            make_certificates(root, ip);
            yml.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                root.join("server.crt").display(),
                root.join("server.key").display()
            ));
        }
        let credentials = if opts.auth {
            let creds = Credentials {
                username: "cnbtest".to_string(),
                password: format!("s3cret-{}-{}", std::process::id(), next_id()),
            };
            let line = must_run(
                "htpasswd",
                ["-Bbn", &creds.username, &creds.password],
                Duration::from_secs(30),
            );
            std::fs::write(root.join("htpasswd"), line.trim_end().to_string() + "\n")
                .expect("write htpasswd");
            yml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: cnb-test\n    path: {}\n",
                root.join("htpasswd").display()
            ));
            Some(creds)
        } else {
            None
        };
        if let Some((url, creds)) = &opts.proxy {
            yml.push_str(&format!("proxy:\n  remoteurl: {url}\n"));
            if let Some(c) = creds {
                yml.push_str(&format!(
                    "  username: {}\n  password: {}\n",
                    c.username, c.password
                ));
            }
        }
        let config = root.join("config.yml");
        std::fs::write(&config, yml).expect("write registry config");
        let log_path = root.join("registry.log");
        let log = std::fs::File::create(&log_path).expect("registry log");
        let mut cmd = match netns {
            None => Command::new("/usr/bin/docker-registry"),
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "/usr/bin/docker-registry"]);
                c
            }
        };
        cmd.arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        let child = super::spawn_tied(cmd)
            .map_err(|e| format!("cannot run /usr/bin/docker-registry: {e}"))?;
        let root = root.to_path_buf();
        let mut reg = TestRegistry {
            child: Some(child),
            dir,
            ip,
            port,
            tls: opts.tls,
            ca_path: opts.tls.then(|| root.join("ca.crt")),
            credentials,
        };
        let addr = std::net::SocketAddr::new(ip, port);
        let ready = wait_for(START_TIMEOUT, || {
            if let Some(Ok(Some(status))) = reg.child.as_mut().map(|c| c.try_wait()) {
                return Some(Err(format!("exited with {status}")));
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                .ok()
                .map(|_| Ok(()))
        });
        let failure = match ready {
            Some(Ok(())) => None,
            Some(Err(e)) => Some(e),
            None => Some(format!("not listening on {addr} after {START_TIMEOUT:?}")),
        };
        if let Some(why) = failure {
            reg.stop();
            return Err(format!("{why}\n{}", reg.log()));
        }
        // Listening; now make sure /v2/ answers over the right protocol.
        let client = HttpClient::for_registry(&reg);
        let v2 = format!("{}/v2/", reg.url());
        let answered = wait_for(Duration::from_secs(10), || {
            client.get(&v2).ok().filter(|r| {
                (r.status == 200 || r.status == 401)
                    && r.header("x-cnb-test-registry") == Some(identity.as_str())
            })
        });
        if answered.is_none() {
            let last = client.get(&v2);
            // Give a process that lost the port race time to exit and say so in its log.
            std::thread::sleep(Duration::from_millis(200));
            reg.stop();
            return Err(format!("{v2} does not answer: {last:?}\n{}", reg.log()));
        }
        Ok(reg)
    }

    /// `127.0.0.1:PORT` (the registry as it appears in image references).
    pub fn host(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }

    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// `http[s]://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme(), self.host())
    }

    /// `127.0.0.1:PORT/<repo>:<tag>`.
    pub fn image(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.host())
    }

    /// The PEM CA certificate that signed the server certificate (TLS registries only):
    /// trust this file to verify the registry.
    pub fn cert_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// The CA certificate's PEM text (TLS registries only).
    pub fn cert_pem(&self) -> Option<String> {
        self.cert_path()
            .map(|p| std::fs::read_to_string(p).expect("read CA certificate"))
    }

    /// The user and password (auth registries only).
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// `Basic ...` for this registry's credentials (auth registries only).
    pub fn basic_auth(&self) -> Option<String> {
        self.credentials.as_ref().map(Credentials::basic_header)
    }

    /// The registry's temporary directory (config, certificates, storage under `data/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The registry's own log (warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Makes the Docker daemon trust this TLS registry's CA, by writing
    /// `/etc/docker/certs.d/<host:port>/ca.crt` (the daemon reads it on each connection, no
    /// restart). Removed when the guard drops. Needs root; panics otherwise. Without it the
    /// daemon refuses the registry's certificate, which is what fallback tests want.
    pub fn trust_in_docker(&self) -> DockerTrust {
        let ca = self
            .cert_path()
            .expect("test support: trust_in_docker needs a TLS registry");
        let dir = PathBuf::from("/etc/docker/certs.d").join(self.host());
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("test support: cannot create {}: {e}", dir.display()));
        std::fs::copy(ca, dir.join("ca.crt"))
            .unwrap_or_else(|e| panic!("test support: cannot write {}/ca.crt: {e}", dir.display()));
        DockerTrust { dir }
    }

    /// Kills the registry now (e.g. to make a mirror go away mid-test). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The daemon's trust of one test registry ([`TestRegistry::trust_in_docker`]); removed on drop.
pub struct DockerTrust {
    dir: PathBuf,
}

impl Drop for DockerTrust {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test CA (`ca.crt`, `ca.key`) and a server certificate it signed (`server.crt`,
/// `server.key`) for `localhost`, `127.0.0.1` and `ip`, in `dir`.
fn make_certificates(dir: &Path, ip: IpAddr) {
    let ca = TestCa::create(dir, "cnb test CA");
    ca.issue(
        "server",
        "/CN=localhost",
        &CertUsage::Server {
            sans: format!("IP:127.0.0.1,DNS:localhost,IP:{ip}"),
        },
    );
}

// ---------------------------------------------------------------------------------------
// Pushing images without Docker

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG_MEDIA: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The accept header that asks for any manifest kind.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A tiny single-layer image: one gzip tar layer holding `/cnb-test-marker` (the marker text)
/// and a config for `os/arch`. Same options ⇒ same bytes ⇒ same digest, on any registry.
#[derive(Debug, Clone)]
pub struct TestImage {
    pub marker: String,
    pub os: String,
    pub architecture: String,
    /// OCI media types instead of Docker schema 2.
    pub oci: bool,
    /// Image config labels.
    pub labels: Vec<(String, String)>,
    /// Image config env (`K=V`).
    pub env: Vec<String>,
}

impl Default for TestImage {
    fn default() -> Self {
        TestImage {
            marker: "cnb test image\n".to_string(),
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
            oci: false,
            labels: Vec::new(),
            env: Vec::new(),
        }
    }
}

/// What [`TestImage::push`] stored.
#[derive(Debug, Clone)]
pub struct PushedImage {
    /// Manifest digest (`sha256:...`).
    pub digest: String,
    pub media_type: String,
    pub size: usize,
    pub config_digest: String,
    pub layer_digest: String,
}

impl TestImage {
    pub fn new() -> TestImage {
        TestImage::default()
    }

    /// Distinguishable content (e.g. which registry an image was pushed to).
    pub fn marker(mut self, text: &str) -> TestImage {
        self.marker = text.to_string();
        self
    }

    pub fn platform(mut self, os: &str, architecture: &str) -> TestImage {
        self.os = os.to_string();
        self.architecture = architecture.to_string();
        self
    }

    pub fn oci(mut self) -> TestImage {
        self.oci = true;
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> TestImage {
        self.labels.push((key.to_string(), value.to_string()));
        self
    }

    pub fn env(mut self, kv: &str) -> TestImage {
        self.env.push(kv.to_string());
        self
    }

    fn layer(&self) -> (Vec<u8>, Vec<u8>) {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(self.marker.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_cksum();
        tar.append_data(&mut header, "cnb-test-marker", self.marker.as_bytes())
            .expect("tar");
        let raw = tar.into_inner().expect("tar");
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).expect("gzip");
        (raw, gz.finish().expect("gzip"))
    }

    /// Uploads the blobs and the manifest to `registry` as `repo:tag` (with the registry's
    /// credentials and certificate). Panics with the registry's answer on failure.
    pub fn push(&self, registry: &TestRegistry, repo: &str, tag: &str) -> PushedImage {
        let client = HttpClient::for_registry(registry);
        let base = registry.url();
        self.push_with(&client, &base, repo, tag)
    }

    /// Like [`push`](Self::push) against any `base` URL (e.g. a recording proxy). An empty
    /// `tag` pushes the manifest by digest only (untagged).
    pub fn push_with(&self, client: &HttpClient, base: &str, repo: &str, tag: &str) -> PushedImage {
        let (raw, gz) = self.layer();
        let labels: serde_json::Map<String, serde_json::Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let config = serde_json::json!({
            "architecture": self.architecture,
            "os": self.os,
            "created": "1980-01-01T00:00:01Z",
            "config": { "Env": self.env, "Labels": labels },
            "rootfs": { "type": "layers", "diff_ids": [sha256_digest(&raw)] },
            "history": [{ "created": "1980-01-01T00:00:01Z", "created_by": "cnb test support" }]
        });
        let config = serde_json::to_vec(&config).expect("json");
        let (manifest_type, config_type, layer_type) = if self.oci {
            (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER)
        } else {
            (DOCKER_MANIFEST, DOCKER_CONFIG_MEDIA, DOCKER_LAYER)
        };
        let config_digest = upload_blob(client, base, repo, &config);
        let layer_digest = upload_blob(client, base, repo, &gz);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": { "mediaType": config_type, "size": config.len(), "digest": config_digest },
            "layers": [{ "mediaType": layer_type, "size": gz.len(), "digest": layer_digest }]
        });
        let manifest = serde_json::to_vec(&manifest).expect("json");
        let reference = if tag.is_empty() {
            sha256_digest(&manifest)
        } else {
            tag.to_string()
        };
        let digest = put_manifest(client, base, repo, &reference, manifest_type, &manifest);
        PushedImage {
            digest,
            media_type: manifest_type.to_string(),
            size: manifest.len(),
            config_digest,
            layer_digest,
        }
    }
}

/// Pushes the default [`TestImage`] (linux/amd64, Docker schema 2) as `repo:tag`; returns the
/// manifest digest. Pushing it to two registries gives the same digest.
pub fn push_test_image(registry: &TestRegistry, repo: &str, tag: &str) -> String {
    TestImage::new().push(registry, repo, tag).digest
}

/// Pushes a test image whose layer holds `marker`, so where it came from can be told apart.
pub fn push_test_image_marked(
    registry: &TestRegistry,
    repo: &str,
    tag: &str,
    marker: &str,
) -> String {
    TestImage::new()
        .marker(marker)
        .push(registry, repo, tag)
        .digest
}

/// What [`push_test_index`] stored.
#[derive(Debug, Clone)]
pub struct PushedIndex {
    /// The index digest (what `repo:tag` points at).
    pub digest: String,
    /// `("linux/amd64", manifest digest)`, `("linux/arm64", manifest digest)`.
    pub manifests: Vec<(String, String)>,
}

impl PushedIndex {
    /// The manifest digest for `os/arch` (e.g. `"linux/arm64"`).
    pub fn digest_for(&self, platform: &str) -> Option<&str> {
        self.manifests
            .iter()
            .find(|(p, _)| p == platform)
            .map(|(_, d)| d.as_str())
    }
}

/// Pushes an OCI image index for linux/amd64 and linux/arm64 as `repo:tag` (each platform's
/// manifest is an OCI image whose marker is `"<repo>:<tag> <os>/<arch>"`).
pub fn push_test_index(registry: &TestRegistry, repo: &str, tag: &str) -> PushedIndex {
    let client = HttpClient::for_registry(registry);
    let base = registry.url();
    let mut entries = Vec::new();
    let mut manifests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let img = TestImage::new()
            .platform("linux", arch)
            .marker(&format!("{repo}:{tag} linux/{arch}\n"))
            .oci();
        // Children are pushed by digest only (untagged), as buildx does.
        let pushed = img.push_with(&client, &base, repo, "");
        entries.push(serde_json::json!({
            "mediaType": OCI_MANIFEST,
            "size": pushed.size,
            "digest": pushed.digest,
            "platform": { "os": "linux", "architecture": arch }
        }));
        manifests.push((format!("linux/{arch}"), pushed.digest));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries
    });
    let index = serde_json::to_vec(&index).expect("json");
    let digest = put_manifest(&client, &base, repo, tag, OCI_INDEX, &index);
    PushedIndex { digest, manifests }
}

/// `GET /v2/<repo>/manifests/<reference>` (any manifest kind accepted), with the registry's
/// credentials and certificate.
pub fn fetch_manifest(
    registry: &TestRegistry,
    repo: &str,
    reference: &str,
) -> Result<HttpResponse, String> {
    HttpClient::for_registry(registry).request(
        "GET",
        &format!("{}/v2/{repo}/manifests/{reference}", registry.url()),
        &[("accept", MANIFEST_ACCEPT)],
        None,
    )
}

fn upload_blob(client: &HttpClient, base: &str, repo: &str, data: &[u8]) -> String {
    let digest = sha256_digest(data);
    let start = client
        .request(
            "POST",
            &format!("{base}/v2/{repo}/blobs/uploads/"),
            &[],
            None,
        )
        .unwrap_or_else(|e| panic!("test support: blob upload to {base}: {e}"));
    assert_eq!(
        start.status,
        202,
        "test support: starting a blob upload to {base}/{repo}: {}",
        start.text()
    );
    let location = start
        .header("location")
        .expect("upload answer without Location")
        .to_string();
    let mut url = if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        location
    };
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str("digest=");
    url.push_str(&digest);
    let done = client
        .request(
            "PUT",
            &url,
            &[("content-type", "application/octet-stream")],
            Some(data.to_vec()),
        )
        .unwrap_or_else(|e| panic!("test support: blob upload to {base}: {e}"));
    assert_eq!(
        done.status,
        201,
        "test support: finishing a blob upload to {base}/{repo}: {}",
        done.text()
    );
    digest
}

fn put_manifest(
    client: &HttpClient,
    base: &str,
    repo: &str,
    tag: &str,
    media_type: &str,
    body: &[u8],
) -> String {
    let resp = client
        .request(
            "PUT",
            &format!("{base}/v2/{repo}/manifests/{tag}"),
            &[("content-type", media_type)],
            Some(body.to_vec()),
        )
        .unwrap_or_else(|e| panic!("test support: manifest upload to {base}: {e}"));
    assert_eq!(
        resp.status,
        201,
        "test support: pushing manifest {repo}:{tag} to {base}: {}",
        resp.text()
    );
    let digest = sha256_digest(body);
    if let Some(d) = resp.header("docker-content-digest") {
        assert_eq!(d, digest, "registry computed another manifest digest");
    }
    digest
}
