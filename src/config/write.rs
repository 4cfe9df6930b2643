//! Changing the config file (SPEC §2's fourth bullet): [`edit`] serialises writers
//! with a lock, applies the change to the file as it is under the lock, and
//! replaces the file atomically.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use super::{CONFIG_FILE_NAME, ConfigError, edits, read};

/// What [`edit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited<T> {
    /// What the edit closure returned (a report of what changed).
    pub value: T,
    /// Whether the file was written. An edit that leaves the document as it was
    /// writes nothing.
    pub written: bool,
}

/// The lock file next to `path` (`config.toml.lock`). It is created on the first
/// write and kept: deleting a lock file that another process may be waiting on
/// would let two writers in at once.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| OsString::from(CONFIG_FILE_NAME));
    name.push(".lock");
    path.with_file_name(name)
}

/// Changes the config file at `path`, keeping everything else in it.
///
/// 1. creates the parent directory if needed;
/// 2. takes an exclusive lock on [`lock_path`] (blocks while another cnb writes);
/// 3. reads the current file under the lock and applies `change` to it with
///    [`edits::apply`] (an invalid file is an error and is left untouched; a
///    missing file is an empty document);
/// 4. when the document changed: writes a temporary file in the same directory,
///    copies the original's permissions (a new file gets 0666 minus the umask),
///    fsyncs it, and renames it over the original.
///
/// When `path` is a symbolic link, the file it points to is the one changed, so
/// config files kept in a dotfiles repository stay links.
pub fn edit<T>(
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> T,
) -> Result<Edited<T>, ConfigError> {
    let target = resolve_symlink(path);
    let path = target.as_path();
    let write_err = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(write_err)?;

    let lock_file = lock_path(path);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .map_err(|source| ConfigError::Lock {
            path: lock_file.clone(),
            source,
        })?;
    lock.lock().map_err(|source| ConfigError::Lock {
        path: lock_file.clone(),
        source,
    })?;

    let text = read::read_file(path)?.unwrap_or_default();
    let (value, after) = edits::apply(&text, path, change)?;
    let Some(after) = after else {
        return Ok(Edited {
            value,
            written: false,
        });
    };

    let original_permissions = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let temp_prefix = format!(
        ".{}.",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&temp_prefix).suffix(".tmp");
    #[cfg(unix)]
    if original_permissions.is_none() {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(write_err)?;
    tmp.write_all(after.as_bytes()).map_err(write_err)?;
    if let Some(perms) = original_permissions {
        tmp.as_file().set_permissions(perms).map_err(write_err)?;
    }
    // One rule for every file system: the data is on disk before the rename.
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    drop(lock);
    Ok(Edited {
        value,
        written: true,
    })
}

/// Follows a chain of symbolic links to the file they end at (a dangling link's
/// target is where the file will be created).
fn resolve_symlink(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..32 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&current) {
                Ok(target) => {
                    current = match current.parent() {
                        Some(parent) if target.is_relative() => parent.join(target),
                        _ => target,
                    };
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    current
}
