//! Registry credentials from the Docker client's config (`DOCKER_CONFIG` or
//! `~/.docker/config.json`: `auths`, `credsStore`, `credHelpers`).
//!
//! Each registry host gets only its own credentials. `Debug` never shows secrets.
//!
//! The lookup itself is the `docker_credential` crate's (the same key matching as the
//! docker CLI, credential helpers, identity tokens); this module adds what cnb needs
//! around it: a missing file or a registry without an entry is anonymous, a file that
//! is not JSON is an error naming the file, and a helper that answers "credentials not
//! found" is anonymous too.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use thiserror::Error;

use crate::env_vars;
use crate::reference::Registry;
use crate::ui::REDACTED;

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
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(CredentialError::Read {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        return Err(CredentialError::Invalid {
            path: path.to_path_buf(),
            detail: e.to_string(),
        });
    }
    let mut keys = vec![auth_key(registry)];
    if registry.is_docker_hub() {
        // `docker.io` / `index.docker.io` / `registry-1.docker.io` keys, as some tools write them.
        keys.push(registry.key());
    }
    for key in &keys {
        match docker_credential::get_credential_from_reader(bytes.as_slice(), key) {
            Ok(DockerCredential::UsernamePassword(username, password)) => {
                return Ok(Some(Credential::Basic { username, password }));
            }
            Ok(DockerCredential::IdentityToken(token)) => {
                return Ok(Some(Credential::Token(token)));
            }
            Err(err) => {
                if let Some(err) = map_error(err, registry, path)? {
                    return Err(err);
                }
            }
        }
    }
    Ok(None)
}

/// `Ok(None)`: nothing for this key (try the next, else anonymous); `Ok(Some(e))`: a real error.
fn map_error(
    err: CredentialRetrievalError,
    registry: &Registry,
    path: &Path,
) -> Result<Option<CredentialError>, CredentialError> {
    let entry = |detail: &str| CredentialError::Entry {
        registry: registry.to_string(),
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    Ok(match err {
        CredentialRetrievalError::NoCredentialConfigured
        | CredentialRetrievalError::ConfigNotFound => None,
        CredentialRetrievalError::HelperFailure {
            helper,
            stdout,
            stderr,
        } => {
            // What docker-credential-helpers answer for an address they do not hold.
            let text = format!("{stdout} {stderr}").to_lowercase();
            if text.contains("credentials not found") || text.contains("not found in") {
                None
            } else {
                // Only the first line of stderr: helpers do not print secrets there,
                // and stdout (which carries them on success) is never shown.
                let first = stderr.lines().next().unwrap_or("").trim().to_string();
                Some(CredentialError::Helper {
                    registry: registry.to_string(),
                    helper,
                    detail: if first.is_empty() {
                        "it exited with an error".to_string()
                    } else {
                        first
                    },
                })
            }
        }
        CredentialRetrievalError::HelperCommunicationError => Some(CredentialError::Helper {
            registry: registry.to_string(),
            helper: "docker-credential-*".to_string(),
            detail: "it could not be run (is it installed and on PATH?)".to_string(),
        }),
        CredentialRetrievalError::MalformedHelperResponse => Some(CredentialError::Helper {
            registry: registry.to_string(),
            helper: "docker-credential-*".to_string(),
            detail: "its answer was not the expected JSON".to_string(),
        }),
        CredentialRetrievalError::CredentialDecodingError => {
            Some(entry("the 'auth' value is not base64 of user:password"))
        }
        CredentialRetrievalError::CredentialMismatchError => Some(entry(
            "the 'auth' value does not match the 'username' and 'password' fields",
        )),
        CredentialRetrievalError::ConfigReadError => {
            return Err(CredentialError::Invalid {
                path: path.to_path_buf(),
                detail: "unexpected shape".to_string(),
            });
        }
    })
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
