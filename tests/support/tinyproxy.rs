//! A real HTTP proxy on loopback: Debian's `tinyproxy` (installed by scripts/setup), one
//! per test, on a free `127.0.0.1` port, logging every request it forwards (`GET
//! http://host:port/path` for plain HTTP, `CONNECT host:port` for TLS) to a file the test
//! reads. Optionally with basic auth (`TinyProxy::start_with_auth`). Killed on drop.
//!
//! Go's net/http (the lifecycle's) never sends loopback destinations through a proxy, so
//! what a test sends through it must be off loopback: a [`super::NetnsHost`] registry.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{START_TIMEOUT, skip_or_fail, spawn_tied, wait_for};

pub struct TinyProxy {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    auth: Option<(String, String)>,
}

impl TinyProxy {
    /// `None` (after `skipping: ...`, or a panic in CI) when tinyproxy is not installed.
    pub fn start() -> Option<TinyProxy> {
        TinyProxy::launch(None)
    }

    /// A proxy that wants `user:password` (basic auth).
    pub fn start_with_auth(user: &str, password: &str) -> Option<TinyProxy> {
        TinyProxy::launch(Some((user.to_string(), password.to_string())))
    }

    fn launch(auth: Option<(String, String)>) -> Option<TinyProxy> {
        if !std::path::Path::new("/usr/bin/tinyproxy").exists() {
            skip_or_fail("tinyproxy is not installed (scripts/setup installs it)");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("cnbtest-tinyproxy-")
            .tempdir()
            .expect("test support: tinyproxy dir");
        let port = super::free_port();
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 120\nLogFile \"{}\"\nLogLevel Connect\n\
             MaxClients 100\nDisableViaHeader Yes\n",
            dir.path().join("log").display()
        );
        if let Some((user, password)) = &auth {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let conf_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).expect("write tinyproxy.conf");
        let mut cmd = Command::new("/usr/bin/tinyproxy");
        cmd.arg("-d")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = spawn_tied(cmd).expect("test support: cannot run tinyproxy");
        let mut proxy = TinyProxy {
            child: Some(child),
            dir,
            port,
            auth,
        };
        let ready = wait_for(START_TIMEOUT, || {
            if let Some(Ok(Some(_))) = proxy.child.as_mut().map(|c| c.try_wait()) {
                return Some(false);
            }
            std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                Duration::from_millis(200),
            )
            .ok()
            .map(|_| true)
        });
        if ready != Some(true) {
            let log = proxy.log();
            proxy.stop();
            panic!("test support: tinyproxy did not start on 127.0.0.1:{port}:\n{log}");
        }
        Some(proxy)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://[user:password@]127.0.0.1:PORT`, for `HTTP_PROXY`/`HTTPS_PROXY`.
    pub fn url(&self) -> String {
        match &self.auth {
            Some((user, password)) => format!("http://{user}:{password}@{}", self.host()),
            None => format!("http://{}", self.host()),
        }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The `Request` and `CONNECT` lines logged so far: what went through it.
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("]: Request (file descriptor ").map(|(_, r)| r))
            .filter_map(|r| r.split_once("): ").map(|(_, r)| r.to_string()))
            .collect()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TinyProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
