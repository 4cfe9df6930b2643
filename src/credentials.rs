//! Registry credentials from the Docker client's config (`DOCKER_CONFIG` or
//! `~/.docker/config.json`: `auths`, `credsStore`, `credHelpers`).
//!
//! Each registry host gets only its own credentials. `Debug` never shows secrets.

use std::fmt;

use crate::reference::Registry;

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
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credential::Token(_) => write!(f, "Token(<redacted>)"),
        }
    }
}

impl Credential {
    /// The value for `CNB_REGISTRY_AUTH`: `Basic <base64(user:pass)>` or `Bearer <token>`.
    pub fn authorization(&self) -> String {
        todo!()
    }
}

/// Looks up credentials for one registry; `Ok(None)` means anonymous.
pub fn lookup(registry: &Registry) -> anyhow::Result<Option<Credential>> {
    let _ = registry;
    todo!()
}
