//! Registry credentials from the Docker client's config (`DOCKER_CONFIG` or
//! `~/.docker/config.json`: `auths`, `credsStore`, `credHelpers`).
//!
//! Each registry host gets only its own credentials. `Debug` never shows secrets.
//!
//! The lookup follows the docker CLI: `credHelpers[host]`, else the `auths` entry (an
//! identity token, else `auth`, checked against `username`/`password` when both are
//! there, else `username`/`password`), else `credsStore`. `auths` keys match exactly, or
//! after dropping an `http(s)://` scheme and path (`https://index.docker.io/v1/`), with
//! Docker Hub's names as one. A missing file or a registry without an entry is
//! anonymous, a file that is not JSON is an error naming the file, and a helper that
//! answers "credentials not found" is anonymous too. A helper that does not answer
//! within [`HELPER_TIMEOUT`] is killed and named in the error.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use thiserror::Error;

use crate::env_vars;
use crate::reference::Registry;
use crate::secret::REDACTED;

/// The key Docker uses for Docker Hub in `config.json`.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An identity (refresh) token or registry token, sent as Bearer.
    Token(String),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, {REDACTED})"),
            Credential::Token(_) => write!(f, "Token({REDACTED})"),
        }
    }
}

impl Credential {
    /// The value for `CNB_REGISTRY_AUTH`: `Basic <base64(user:pass)>` or `Bearer <token>`.
    pub fn authorization(&self) -> String {
        match self {
            Credential::Basic { username, password } => {
                format!(
                    "Basic {}",
                    STANDARD.encode(format!("{username}:{password}"))
                )
            }
            Credential::Token(token) => format!("Bearer {token}"),
        }
    }

    /// What oci-client sends: basic credentials, or the token as a bearer token.
    pub fn registry_auth(&self) -> oci_client::secrets::RegistryAuth {
        use oci_client::secrets::RegistryAuth;
        match self {
            Credential::Basic { username, password } => {
                RegistryAuth::Basic(username.clone(), password.clone())
            }
            Credential::Token(token) => RegistryAuth::Bearer(token.clone()),
        }
    }

    /// A description safe to print (`-vv`): the kind and the user name, never the secret.
    pub fn describe(&self) -> String {
        match self {
            Credential::Basic { username, .. } => {
                format!("user '{username}', password {REDACTED}")
            }
            Credential::Token(_) => format!("an identity token {REDACTED}"),
        }
    }
}

/// Why credentials could not be read. Messages never include secrets.
#[derive(Debug, Error)]
pub enum CredentialError {
    /// The OS reason is part of the message only (not a source), so it is printed once.
    #[error("could not read the Docker config {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the Docker config {path} is not valid JSON: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("credentials for {registry} in {path}: {detail}")]
    Entry {
        registry: String,
        path: PathBuf,
        detail: String,
    },
    #[error("credential helper {helper} failed for {registry}: {detail}")]
    Helper {
        registry: String,
        helper: String,
        detail: String,
    },
}

/// Where the Docker client's config file is: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`. `None` when there is no home directory.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(env_vars::DOCKER_CONFIG).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    dirs::home_dir().map(|home| home.join(".docker").join("config.json"))
}

/// The key a registry's credentials are stored under: Docker Hub's historical URL,
/// else `host[:port]`.
pub fn auth_key(registry: &Registry) -> String {
    if registry.is_docker_hub() {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        registry.key()
    }
}

/// Looks up credentials for one registry; `Ok(None)` means anonymous.
pub fn lookup(registry: &Registry) -> anyhow::Result<Option<Credential>> {
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    Ok(lookup_in(&path, registry)?)
}

/// Looks up credentials for `registry` in the Docker config at `path`.
pub fn lookup_in(path: &Path, registry: &Registry) -> Result<Option<Credential>, CredentialError> {
    let bytes = match read_bounded(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(CredentialError::Read {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    let config: DockerConfig =
        serde_json::from_slice(&bytes).map_err(|e| CredentialError::Invalid {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    let mut keys = vec![auth_key(registry)];
    if registry.is_docker_hub() {
        // `docker.io` / `index.docker.io` / `registry-1.docker.io` keys, as some tools write them.
        keys.push(registry.key());
    }
    for key in &keys {
        if let Some(found) = config.credential(key, registry, path)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The most of a Docker config cnb reads (the same cap as its own config file).
const MAX_DOCKER_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The Docker config's bytes, refusing a file over [`MAX_DOCKER_CONFIG_BYTES`] (a device
/// or a runaway file would otherwise be read until memory runs out).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_DOCKER_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_DOCKER_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB",
                MAX_DOCKER_CONFIG_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

/// The credential helper program (`docker-credential-<name>`) the Docker config names
/// for `registry` (`credHelpers`, else `credsStore` when no `auths` entry has it), without
/// running it; `None` when there is none or the config cannot be read.
pub fn helper_for(registry: &Registry) -> Option<String> {
    let bytes = read_bounded(&docker_config_path()?).ok()?;
    let config: DockerConfig = serde_json::from_slice(&bytes).ok()?;
    let key = auth_key(registry);
    if let Some(helper) = config.cred_helpers.get(&key).filter(|h| !h.is_empty()) {
        return Some(format!("docker-credential-{helper}"));
    }
    if config.entry(&key).is_some() {
        return None;
    }
    config
        .creds_store
        .filter(|s| !s.is_empty())
        .map(|store| format!("docker-credential-{store}"))
}

/// How long a credential helper may take to answer (a helper waiting for a prompt or a
/// keyring would otherwise hold the command forever).
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

/// `https://index.docker.io/v1/` -> `index.docker.io`; Docker Hub's names as one.
fn normalize_key(key: &str) -> &str {
    let stripped = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .map(|rest| rest.split_once('/').map_or(rest, |(host, _)| host))
        .unwrap_or(key);
    match stripped {
        "registry-1.docker.io" | "docker.io" => "index.docker.io",
        other => other,
    }
}

impl DockerConfig {
    /// The `auths` entry for `key`: exactly, else after normalisation.
    fn entry(&self, key: &str) -> Option<&AuthEntry> {
        self.auths.get(key).or_else(|| {
            let wanted = normalize_key(key);
            self.auths
                .iter()
                .find(|(k, _)| normalize_key(k) == wanted)
                .map(|(_, entry)| entry)
        })
    }

    fn credential(
        &self,
        key: &str,
        registry: &Registry,
        path: &Path,
    ) -> Result<Option<Credential>, CredentialError> {
        if let Some(helper) = self.cred_helpers.get(key).filter(|h| !h.is_empty()) {
            return from_helper(helper, key, registry);
        }
        if let Some(entry) = self.entry(key) {
            let bad = |detail: &str| CredentialError::Entry {
                registry: registry.to_string(),
                path: path.to_path_buf(),
                detail: detail.to_string(),
            };
            if let Some(token) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
                return Ok(Some(Credential::Token(token.clone())));
            }
            if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
                let decoded = STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| bad("the 'auth' value is not base64 of user:password"))?;
                let (username, password) = decoded
                    .split_once(':')
                    .ok_or_else(|| bad("the 'auth' value is not base64 of user:password"))?;
                if let (Some(u), Some(p)) = (&entry.username, &entry.password)
                    && (u != username || p != password)
                {
                    return Err(bad(
                        "the 'auth' value does not match the 'username' and 'password' fields",
                    ));
                }
                return Ok(Some(Credential::Basic {
                    username: username.to_string(),
                    password: password.to_string(),
                }));
            }
            if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
                return Ok(Some(Credential::Basic {
                    username: username.clone(),
                    password: password.clone(),
                }));
            }
        }
        match self.creds_store.as_deref().filter(|s| !s.is_empty()) {
            Some(store) => from_helper(store, key, registry),
            None => Ok(None),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperAnswer {
    username: String,
    secret: String,
}

/// Asks `docker-credential-<helper> get` for `address`, for at most [`HELPER_TIMEOUT`].
fn from_helper(
    helper: &str,
    address: &str,
    registry: &Registry,
) -> Result<Option<Credential>, CredentialError> {
    let program = format!("docker-credential-{helper}");
    let failed = |detail: String| CredentialError::Helper {
        registry: registry.to_string(),
        helper: program.clone(),
        detail,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            failed(format!(
                "it could not be run ({e}; is it installed and on PATH?)"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that does not read its input is judged by its answer, below.
        let _ = stdin.write_all(address.as_bytes());
    }
    // Read both pipes on threads, so a helper that writes a lot cannot block on them.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(pipe) = pipe {
                let _ = pipe.take(1024 * 1024).read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "it did not answer within {} s (is it waiting for a prompt or a locked keyring?)",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(failed(format!("cannot wait for it: {e}"))),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let text = format!("{} {stderr}", String::from_utf8_lossy(&stdout)).to_lowercase();
        // What docker-credential-helpers answer for an address they do not hold.
        if text.contains("credentials not found") || text.contains("not found in") {
            return Ok(None);
        }
        // Only the first line of stderr: helpers do not print secrets there, and stdout
        // (which carries them on success) is never shown.
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(failed(if first.is_empty() {
            "it exited with an error".to_string()
        } else {
            first.to_string()
        }));
    }
    let answer: HelperAnswer = serde_json::from_slice(&stdout)
        .map_err(|_| failed("its answer was not the expected JSON".to_string()))?;
    Ok(Some(if answer.username == "<token>" {
        Credential::Token(answer.secret)
    } else {
        Credential::Basic {
            username: answer.username,
            password: answer.secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn missing_file_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::parse("reg.example:5000").unwrap();
        assert_eq!(
            lookup_in(&dir.path().join("nope.json"), &reg).unwrap(),
            None
        );
    }

    #[test]
    fn auths_are_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            &format!(
                r#"{{"auths": {{"reg.example:5000": {{"auth": "{}"}}, "https://index.docker.io/v1/": {{"auth": "{}"}}}}}}"#,
                b64("alice:s3cret"),
                b64("hubuser:hubpass")
            ),
        );
        let reg = Registry::parse("reg.example:5000").unwrap();
        assert_eq!(
            lookup_in(&path, &reg).unwrap(),
            Some(Credential::Basic {
                username: "alice".into(),
                password: "s3cret".into()
            })
        );
        let hub = Registry::docker_hub();
        assert_eq!(
            lookup_in(&path, &hub).unwrap(),
            Some(Credential::Basic {
                username: "hubuser".into(),
                password: "hubpass".into()
            })
        );
        // Another port of the same host is another registry.
        let other = Registry::parse("reg.example:5001").unwrap();
        assert_eq!(lookup_in(&path, &other).unwrap(), None);
        let mirror = Registry::parse("mirror.example").unwrap();
        assert_eq!(lookup_in(&path, &mirror).unwrap(), None);
    }

    #[test]
    fn identity_tokens_become_bearer() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            r#"{"auths": {"reg.example": {"identitytoken": "tok-123"}}}"#,
        );
        let reg = Registry::parse("reg.example").unwrap();
        let cred = lookup_in(&path, &reg).unwrap().unwrap();
        assert_eq!(cred, Credential::Token("tok-123".into()));
        assert_eq!(cred.authorization(), "Bearer tok-123");
        assert!(!format!("{cred:?}").contains("tok-123"));
    }

    #[test]
    fn invalid_json_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "{not json");
        let reg = Registry::parse("reg.example").unwrap();
        let err = lookup_in(&path, &reg).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
    }

    #[test]
    fn missing_helper_is_an_error_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            r#"{"credHelpers": {"reg.example": "cnb-test-no-such-helper"}}"#,
        );
        let reg = Registry::parse("reg.example").unwrap();
        assert!(lookup_in(&path, &reg).is_err());
        // Other hosts are not affected by that helper.
        let other = Registry::parse("other.example").unwrap();
        assert_eq!(lookup_in(&path, &other).unwrap(), None);
    }

    #[test]
    fn authorization_and_debug() {
        let cred = Credential::Basic {
            username: "alice".into(),
            password: "s3cret".into(),
        };
        assert_eq!(
            cred.authorization(),
            format!("Basic {}", b64("alice:s3cret"))
        );
        assert!(!format!("{cred:?}").contains("s3cret"));
        assert!(!cred.describe().contains("s3cret"));
    }
}
