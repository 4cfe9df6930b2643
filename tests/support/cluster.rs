//! A real Kubernetes API server on loopback: `kube-apiserver` built from
//! tests/world/kube-apiserver ([`super::world::kube_apiserver`]) over Debian's etcd, with
//! throwaway certificates. It authenticates client certificates (signed by its test CA)
//! and bearer tokens (a static token file), refuses anonymous requests, and lets every
//! authenticated user do anything (`--authorization-mode=AlwaysAllow`: cnb's lookup is
//! about finding and authenticating, not about RBAC). It starts in a few seconds, so each
//! test has its own; everything is killed and removed on drop.
//!
//! [`Kubeconfig`] writes kubeconfig files for one or more clusters with the three kinds
//! of credentials local clusters use: client certificates, bearer tokens and exec
//! plugins ([`write_exec_plugin`]).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::pki::{CertUsage, IssuedCert, TestCa};
use super::{HttpClient, next_id, wait_for, world};

/// How long the API server may take to answer `/readyz` and to create `kube-public`.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The ConfigMap KEP-1755 defines.
pub const HOSTING_NAMESPACE: &str = "kube-public";
pub const HOSTING_NAME: &str = "local-registry-hosting";

/// One etcd and one kube-apiserver on free `127.0.0.1` ports.
pub struct TestCluster {
    dir: tempfile::TempDir,
    etcd: Option<Child>,
    apiserver: Option<Child>,
    port: u16,
    ca: TestCa,
    client: IssuedCert,
    admin_token: String,
    user_token: String,
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("test support: cannot bind 127.0.0.1: {e}"))
}

fn log_file(path: &Path) -> (Stdio, Stdio) {
    let file = std::fs::File::create(path).expect("test support: create a log file");
    let dup = file.try_clone().expect("test support: dup a log file");
    (Stdio::from(file), Stdio::from(dup))
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The last `n` lines of a log, for panics.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl TestCluster {
    /// Starts etcd and kube-apiserver and waits until the API server is ready and
    /// `kube-public` exists. `None` (after `skipping: ...`) when Go or etcd is missing
    /// outside CI; a panic with the logs when a server does not come up.
    pub fn start() -> Option<TestCluster> {
        let apiserver = world::kube_apiserver()?;
        let etcd = world::etcd()?;
        let dir = tempfile::Builder::new()
            .prefix("cnbtest-kube-")
            .tempdir()
            .expect("test support: cluster temp dir");
        let root = dir.path();
        let ca = TestCa::create(root, "cnb test cluster CA");
        ca.issue(
            "apiserver",
            "/CN=kube-apiserver",
            &CertUsage::Server {
                sans: "IP:127.0.0.1,DNS:localhost".to_string(),
            },
        );
        let client = ca.issue(
            "client",
            "/O=system:masters/CN=cnb-test",
            &CertUsage::Client,
        );
        let sa = root.join("service-account.key");
        super::must_run(
            "openssl",
            [
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-out",
                &sa.display().to_string(),
            ],
            Duration::from_secs(60),
        );
        super::must_run(
            "openssl",
            [
                "pkey",
                "-in",
                &sa.display().to_string(),
                "-pubout",
                "-out",
                &root.join("service-account.pub").display().to_string(),
            ],
            Duration::from_secs(60),
        );
        let id = format!("{}-{}", std::process::id(), next_id());
        let admin_token = format!("admin-{id}");
        let user_token = format!("developer-{id}");
        std::fs::write(
            root.join("tokens.csv"),
            format!(
                "{admin_token},cnb-test-admin,uid-admin,\"system:masters\"\n\
                 {user_token},cnb-test-developer,uid-developer\n"
            ),
        )
        .expect("test support: write tokens.csv");

        let mut cluster = TestCluster {
            etcd: None,
            apiserver: None,
            port: 0,
            ca,
            client,
            admin_token,
            user_token,
            dir,
        };
        let etcd_url = cluster.start_etcd(&etcd);
        cluster.start_apiserver(&apiserver, &etcd_url);
        Some(cluster)
    }

    /// etcd on two free ports (client, peer); retried when another process takes a
    /// port in between. Returns its client URL.
    fn start_etcd(&mut self, etcd: &Path) -> String {
        let root = self.dir.path().to_path_buf();
        let log = root.join("etcd.log");
        for _ in 0..5 {
            let (client, peer) = (free_port(), free_port());
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let (out, err) = log_file(&log);
            let mut cmd = Command::new(etcd);
            cmd.args(["--name", "cnbtest"])
                .arg("--data-dir")
                .arg(root.join("etcd-data"))
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &format!("cnbtest={peer_url}")])
                .args(["--log-level", "warn"])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            let child = super::spawn_tied(cmd)
                .unwrap_or_else(|e| panic!("test support: cannot run {}: {e}", etcd.display()));
            self.etcd = Some(child);
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, client));
            let ready = wait_for(super::START_TIMEOUT, || {
                if let Some(Ok(Some(status))) = self.etcd.as_mut().map(|c| c.try_wait()) {
                    return Some(Err(status));
                }
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                    .ok()
                    .map(|_| Ok(()))
            });
            match ready {
                Some(Ok(())) => return client_url,
                _ if read_log(&log).contains("address already in use") => {
                    kill(&mut self.etcd);
                    let _ = std::fs::remove_dir_all(root.join("etcd-data"));
                }
                other => panic!(
                    "test support: etcd did not start ({other:?}):\n{}",
                    tail(&read_log(&log), 30)
                ),
            }
        }
        panic!("test support: no free ports for etcd after 5 tries")
    }

    fn start_apiserver(&mut self, apiserver: &Path, etcd_url: &str) {
        let root = self.dir.path().to_path_buf();
        let log = root.join("kube-apiserver.log");
        let p = |name: &str| root.join(name).display().to_string();
        for _ in 0..5 {
            let port = free_port();
            let (out, err) = log_file(&log);
            let mut cmd = Command::new(apiserver);
            cmd.arg(format!("--etcd-servers={etcd_url}"))
                .args(["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"])
                .arg(format!("--secure-port={port}"))
                .arg(format!("--tls-cert-file={}", p("apiserver.crt")))
                .arg(format!("--tls-private-key-file={}", p("apiserver.key")))
                .arg(format!(
                    "--client-ca-file={}",
                    self.ca.cert_path().display()
                ))
                .arg(format!("--token-auth-file={}", p("tokens.csv")))
                .args(["--anonymous-auth=false", "--authorization-mode=AlwaysAllow"])
                .arg("--service-account-issuer=https://kubernetes.default.svc")
                .arg(format!(
                    "--service-account-key-file={}",
                    p("service-account.pub")
                ))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    p("service-account.key")
                ))
                // Never routed: the API server only allocates the `kubernetes` Service's
                // address from it. No endpoints reconciler: nothing publishes 127.0.0.1.
                .args([
                    "--service-cluster-ip-range=10.0.0.0/24",
                    "--endpoint-reconciler-type=none",
                ])
                .arg(format!("--cert-dir={}", p("apiserver-certs")))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            let child = super::spawn_tied(cmd).unwrap_or_else(|e| {
                panic!("test support: cannot run {}: {e}", apiserver.display())
            });
            self.apiserver = Some(child);
            self.port = port;
            let admin = self.admin_client();
            let readyz = format!("{}/readyz", self.server());
            let ready = wait_for(READY_TIMEOUT, || {
                if let Some(Ok(Some(status))) = self.apiserver.as_mut().map(|c| c.try_wait()) {
                    return Some(Err(status));
                }
                admin
                    .get(&readyz)
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| Ok(()))
            });
            match ready {
                Some(Ok(())) => {
                    // The namespace is made by a controller just after start.
                    let namespace =
                        format!("{}/api/v1/namespaces/{HOSTING_NAMESPACE}", self.server());
                    let made = wait_for(READY_TIMEOUT, || {
                        admin.get(&namespace).ok().filter(|r| r.status == 200)
                    });
                    assert!(
                        made.is_some(),
                        "test support: kube-apiserver made no {HOSTING_NAMESPACE} namespace:\n{}",
                        tail(&read_log(&log), 30)
                    );
                    return;
                }
                _ if read_log(&log).contains("address already in use") => kill(&mut self.apiserver),
                other => panic!(
                    "test support: kube-apiserver did not become ready ({other:?}):\n{}",
                    tail(&read_log(&log), 40)
                ),
            }
        }
        panic!("test support: no free port for kube-apiserver after 5 tries")
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The CA that signed the API server's certificate (and the client certificate).
    pub fn ca_path(&self) -> PathBuf {
        self.ca.cert_path()
    }

    /// A client certificate for user `cnb-test` in group `system:masters`.
    pub fn client_cert(&self) -> &IssuedCert {
        &self.client
    }

    /// A bearer token the API server accepts (user `cnb-test-developer`).
    pub fn token(&self) -> &str {
        &self.user_token
    }

    /// The fixture's own client (admin token, trusting the test CA).
    fn admin_client(&self) -> HttpClient {
        HttpClient::trusting(&self.ca.cert_path())
            .with_authorization(Some(format!("Bearer {}", self.admin_token)))
    }

    fn hosting_url(&self) -> String {
        format!(
            "{}/api/v1/namespaces/{HOSTING_NAMESPACE}/configmaps",
            self.server()
        )
    }

    /// Creates (or replaces) ConfigMap `kube-public/local-registry-hosting` with `data`,
    /// through the API.
    #[track_caller]
    pub fn set_local_registry_hosting(&self, data: &[(&str, &str)]) {
        let data: serde_json::Map<String, serde_json::Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": HOSTING_NAME, "namespace": HOSTING_NAMESPACE},
            "data": data,
        });
        let body = serde_json::to_vec(&body).expect("ConfigMap JSON");
        let json = [("content-type", "application/json")];
        let client = self.admin_client();
        let created = client
            .request("POST", &self.hosting_url(), &json, Some(body.clone()))
            .unwrap_or_else(|e| panic!("test support: create ConfigMap: {e}"));
        let done = match created.status {
            201 => created,
            409 => client
                .request(
                    "PUT",
                    &format!("{}/{HOSTING_NAME}", self.hosting_url()),
                    &json,
                    Some(body),
                )
                .unwrap_or_else(|e| panic!("test support: replace ConfigMap: {e}")),
            _ => created,
        };
        assert!(
            done.status == 200 || done.status == 201,
            "test support: writing the ConfigMap answered {}: {}",
            done.status,
            done.text()
        );
    }

    /// Stops the API server (etcd stays): the address then refuses connections.
    pub fn stop_apiserver(&mut self) {
        kill(&mut self.apiserver);
    }

    /// The API server's log.
    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("kube-apiserver.log"))
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        kill(&mut self.apiserver);
        kill(&mut self.etcd);
    }
}

/// How a kubeconfig user authenticates.
#[derive(Debug, Clone)]
pub enum KubeUser {
    /// `client-certificate` and `client-key` files.
    ClientCert(IssuedCert),
    /// `token`.
    Token(String),
    /// `exec` with this command (see [`write_exec_plugin`]).
    Exec(PathBuf),
}

/// A kubeconfig file, built up context by context.
#[derive(Debug, Clone, Default)]
pub struct Kubeconfig {
    /// `(context name, server, CA file, user)`; cluster and user are named after the context.
    contexts: Vec<(String, String, PathBuf, KubeUser)>,
    current: Option<String>,
}

impl Kubeconfig {
    pub fn new() -> Kubeconfig {
        Kubeconfig::default()
    }

    /// A context `name` for `cluster`, authenticating as `user`.
    pub fn context(self, name: &str, cluster: &TestCluster, user: KubeUser) -> Kubeconfig {
        self.context_at(name, &cluster.server(), &cluster.ca_path(), user)
    }

    /// A context for any server URL (one where nothing listens, say).
    pub fn context_at(mut self, name: &str, server: &str, ca: &Path, user: KubeUser) -> Kubeconfig {
        self.contexts
            .push((name.to_string(), server.to_string(), ca.to_path_buf(), user));
        self
    }

    /// Sets `current-context`.
    pub fn current(mut self, name: &str) -> Kubeconfig {
        self.current = Some(name.to_string());
        self
    }

    /// The YAML text (paths to the certificate files, as kind and minikube write them).
    pub fn yaml(&self) -> String {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let path = |p: &Path| q(&p.display().to_string());
        let mut out = String::from("apiVersion: v1\nkind: Config\n");
        if let Some(current) = &self.current {
            out.push_str(&format!("current-context: {}\n", q(current)));
        }
        out.push_str("clusters:\n");
        for (name, server, ca, _) in &self.contexts {
            out.push_str(&format!(
                "- name: {}\n  cluster:\n    server: {}\n    certificate-authority: {}\n",
                q(name),
                q(server),
                path(ca)
            ));
        }
        out.push_str("contexts:\n");
        for (name, _, _, _) in &self.contexts {
            out.push_str(&format!(
                "- name: {0}\n  context:\n    cluster: {0}\n    user: {0}\n",
                q(name)
            ));
        }
        out.push_str("users:\n");
        for (name, _, _, user) in &self.contexts {
            out.push_str(&format!("- name: {}\n  user:\n", q(name)));
            match user {
                KubeUser::ClientCert(cert) => out.push_str(&format!(
                    "    client-certificate: {}\n    client-key: {}\n",
                    path(&cert.cert),
                    path(&cert.key)
                )),
                KubeUser::Token(token) => out.push_str(&format!("    token: {}\n", q(token))),
                KubeUser::Exec(command) => out.push_str(&format!(
                    "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      \
                     command: {}\n      interactiveMode: Never\n",
                    path(command)
                )),
            }
        }
        out
    }

    /// Writes the file (parent directories created) and returns its path.
    pub fn write(&self, path: &Path) -> PathBuf {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("test support: mkdir for a kubeconfig");
        }
        std::fs::write(path, self.yaml()).expect("test support: write a kubeconfig");
        path.to_path_buf()
    }
}

/// Writes an exec credential plugin at `path`: a shell script that appends a line to
/// `<path>.calls` (so a test sees it ran) and prints an `ExecCredential` with `token`.
/// Returns the calls file.
pub fn write_exec_plugin(path: &Path, token: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let calls = path.with_extension("calls");
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token},
    });
    let script = format!(
        "#!/bin/sh\necho called >> '{}'\ncat <<'EOF'\n{credential}\nEOF\n",
        calls.display()
    );
    std::fs::write(path, script).expect("test support: write the exec plugin");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("test support: chmod the exec plugin");
    calls
}
