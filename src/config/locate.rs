//! Which config file a command uses (SPEC §2's first bullet).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::env_vars;

/// The file name inside `CNB_HOME` and the platform config directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// Where the config file is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    pub path: PathBuf,
    /// What chose it: `--config`, `CNB_CONFIG`, `CNB_HOME` or `default`.
    pub source: &'static str,
}

/// Finds the config file: `--config`, `$CNB_CONFIG`, `$CNB_HOME/config.toml`,
/// then `<config dir>/cnb/config.toml`. Empty variables count as unset.
pub fn locate(flag: Option<&Path>) -> Result<ConfigLocation, ConfigError> {
    locate_from(
        flag,
        std::env::var_os(env_vars::CNB_CONFIG),
        std::env::var_os(env_vars::CNB_HOME),
        dirs::config_dir(),
    )
}

/// [`locate`] with its inputs passed in (testable without touching the environment).
pub(super) fn locate_from(
    flag: Option<&Path>,
    cnb_config: Option<OsString>,
    cnb_home: Option<OsString>,
    config_dir: Option<PathBuf>,
) -> Result<ConfigLocation, ConfigError> {
    if let Some(path) = flag {
        return Ok(ConfigLocation {
            path: path.to_path_buf(),
            source: "--config",
        });
    }
    if let Some(path) = cnb_config.filter(|v| !v.is_empty()) {
        return Ok(ConfigLocation {
            path: PathBuf::from(path),
            source: env_vars::CNB_CONFIG,
        });
    }
    if let Some(home) = cnb_home.filter(|v| !v.is_empty()) {
        return Ok(ConfigLocation {
            path: PathBuf::from(home).join(CONFIG_FILE_NAME),
            source: env_vars::CNB_HOME,
        });
    }
    let dir = config_dir.ok_or(ConfigError::NoConfigDir)?;
    Ok(ConfigLocation {
        path: dir.join("cnb").join(CONFIG_FILE_NAME),
        source: "default",
    })
}
