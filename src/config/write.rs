//! Changing the config file (SPEC §2's fourth bullet): [`edit`] decides whether a
//! change changes anything, serialises writers, refuses files it must not replace,
//! and replaces the file atomically. docs/configuration.md ("How cnb writes") states
//! the promises; this is how they are kept:
//!
//! - **No-op**: a change that leaves the text as it was writes nothing. When there
//!   is no file yet, the change is first tried on an empty document, so a change
//!   that changes nothing creates nothing (no directory, no file, no copy for pack). A
//!   file cnb cannot write (read-only, or not openable for writing) is only read: a
//!   change that changes nothing succeeds, any other is refused.
//! - **Lock**: writers take an exclusive `flock` on the config file itself (creating
//!   it empty when it does not exist yet). A rename replaces the file, so a writer
//!   that waited on the old one sees that the name now points at another file and
//!   locks that one instead. Nothing is left beside the config: no lock file, and
//!   cnb's copy of it for pack is in cnb's state directory ([`pack::copy_path`]).
//! - **Atomic and durable**: the new text goes to a temporary file in the same
//!   directory (`.config.toml.XXXXXX.tmp`), which gets the file's permissions, is
//!   fsynced, and is renamed over the file: a crash leaves the old file or the new
//!   one. Temporary files an interrupted write left are removed by the next write.
//! - **Refusals**: anything but a regular file (or a link to one) and a read-only
//!   file are never replaced.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use super::{ConfigError, ConfigWarning, edits, pack, read};

/// Temporary files are named `.<file name>.<TEMP_RANDOM_CHARS letters and digits>.tmp`.
const TEMP_RANDOM_CHARS: usize = 6;
const TEMP_SUFFIX: &str = ".tmp";

/// What [`edit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited<T> {
    /// What the edit closure returned (a report of what changed).
    pub value: T,
    /// Whether the file was written. An edit that leaves the document as it was
    /// writes nothing.
    pub written: bool,
    /// What the file as it was before the change deserves a word about (see
    /// [`ConfigFile::warnings`](super::ConfigFile::warnings)).
    pub warnings: Vec<ConfigWarning>,
}

/// Changes the config file at `path` with `change`, keeping everything else in it
/// (see the module documentation for how). `change` runs on the file as it is
/// under the lock; when there is no file yet, it runs first on an empty document
/// too, to see whether anything needs to be created.
///
/// When `path` is a symbolic link, the file it points to is the one changed, so
/// config files kept in a dotfiles repository stay links.
pub fn edit<T>(
    path: &Path,
    mut change: impl FnMut(&mut DocumentMut) -> T,
) -> Result<Edited<T>, ConfigError> {
    let target = resolve_symlink(path);
    let path = target.as_path();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let locked = loop {
        let opened = match metadata_if_exists(path)? {
            None => {
                let (value, after) = edits::apply("", path, &mut change)?;
                if after.is_none() {
                    return Ok(Edited {
                        value,
                        written: false,
                        warnings: Vec::new(),
                    });
                }
                std::fs::create_dir_all(&dir).map_err(|error| write_error(path, error))?;
                match open(path, true) {
                    Ok(file) => file,
                    // Another writer created it first: lock theirs.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                    Err(error) => return Err(write_error(path, error)),
                }
            }
            Some(metadata) => {
                // Before opening: a FIFO would block, a device might act on it.
                check_regular(&metadata, path)?;
                let opened = if metadata.permissions().readonly() {
                    Err(ConfigError::ReadOnly {
                        path: path.to_path_buf(),
                    })
                } else {
                    match open(path, false) {
                        Ok(file) => Ok(file),
                        Err(e) if e.kind() == ErrorKind::NotFound => continue,
                        Err(error) => Err(write_error(path, error)),
                    }
                };
                match opened {
                    Ok(file) => file,
                    // cnb cannot change this file; a change that changes nothing still works.
                    Err(refusal) => return look_only(path, &mut change, refusal),
                }
            }
        };
        if let Some(file) = lock(opened, path)? {
            break file;
        }
    };
    let text = read::read_text(&locked, path)?;
    let applied = edits::apply_checked(&text, path, &mut change)?;
    let lost = applied
        .pack_kept_all
        .then(|| pack::lost_since_copy(path, &text, &applied.before))
        .flatten();
    let mut warnings = applied.before.warnings;
    let was_lost = lost.is_some();
    warnings.extend(lost.map(|l| ConfigWarning::Lost(Box::new(l))));
    let Some(after) = applied.after else {
        return Ok(Edited {
            value: applied.value,
            written: false,
            warnings,
        });
    };
    write_atomic(path, &dir, after.as_bytes(), &locked)?;
    pack::after_write(path, &after, applied.pack_keeps_all, was_lost);
    drop(locked);
    Ok(Edited {
        value: applied.value,
        written: true,
        warnings,
    })
}

/// Applies `change` to the file without locking or writing it: succeeds when the
/// change changes nothing, else fails with `refusal` (why cnb cannot write it).
fn look_only<T>(
    path: &Path,
    change: impl FnOnce(&mut DocumentMut) -> T,
    refusal: ConfigError,
) -> Result<Edited<T>, ConfigError> {
    let text = read::read_file(path)?.unwrap_or_default();
    match edits::apply(&text, path, change)? {
        (value, None) => Ok(Edited {
            value,
            written: false,
            warnings: Vec::new(),
        }),
        (_, Some(_)) => Err(refusal),
    }
}

/// Takes an exclusive lock on `file`, just opened at `path`. `None` when, once
/// locked, `path` names another file: a writer that held the lock renamed a new
/// file over it meanwhile, and the caller starts again.
fn lock(file: File, path: &Path) -> Result<Option<File>, ConfigError> {
    let metadata = file.metadata().map_err(|error| read_error(path, error))?;
    check_replaceable(&metadata, path)?;
    file.lock().map_err(|error| ConfigError::Lock {
        path: path.to_path_buf(),
        error,
    })?;
    let current = metadata_if_exists(path)?;
    Ok(current
        .is_some_and(|current| same_file(&metadata, &current))
        .then_some(file))
}

/// Opens `path` for reading and writing (as locking needs on some network file
/// systems), or creates it empty (`create`; the permissions are 0666 minus the
/// umask). A FIFO or terminal put in its place does not block or become the
/// controlling terminal; [`check_replaceable`] refuses it afterwards.
fn open(path: &Path, create: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(create);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// Refuses to replace anything but a regular file, and a read-only file.
fn check_replaceable(metadata: &Metadata, path: &Path) -> Result<(), ConfigError> {
    check_regular(metadata, path)?;
    if metadata.permissions().readonly() {
        return Err(ConfigError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Refuses anything but a regular file.
fn check_regular(metadata: &Metadata, path: &Path) -> Result<(), ConfigError> {
    let path = path.to_path_buf();
    if metadata.is_dir() {
        return Err(ConfigError::IsDirectory { path });
    }
    if !metadata.is_file() {
        return Err(ConfigError::NotRegular {
            path,
            kind: file_kind(metadata),
        });
    }
    Ok(())
}

/// What a file that is neither a regular file nor a directory is, for messages.
fn file_kind(metadata: &Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = metadata.file_type();
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    let _ = metadata;
    "a special file"
}

/// Whether two metadata describe the same file.
#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Without inode numbers every locked file counts as current: a rename racing with
/// a waiting writer may then lose that writer's change.
#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    true
}

fn metadata_if_exists(path: &Path) -> Result<Option<Metadata>, ConfigError> {
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(read_error(path, error)),
    }
}

/// Replaces `path` with `text`: a temporary file in `dir` with the permissions of
/// the `locked` file, fsynced, then renamed over `path`. Stale temporary files of
/// earlier, interrupted writes go first (only the lock holder writes one).
fn write_atomic(path: &Path, dir: &Path, text: &[u8], locked: &File) -> Result<(), ConfigError> {
    let err = |error| write_error(path, error);
    let permissions = locked.metadata().map_err(err)?.permissions();
    replace_by_rename(path, dir, text, permissions, true).map_err(err)
}

/// Replaces `target` with `text` by a rename, like [`write_atomic`] but without the
/// fsync: for cnb's copy of `config` (see [`pack`]), which is only advisory. It gets
/// `config`'s permissions. The caller holds `config`'s lock, and the copy's name is
/// `config`'s alone, so temporary files named after `target` are an interrupted
/// write's: they go first, as [`write_atomic`]'s do.
pub(super) fn replace_unsynced(config: &Path, target: &Path, text: &[u8]) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let permissions = std::fs::metadata(config)?.permissions();
    replace_by_rename(target, dir, text, permissions, false)
}

/// Writes `text` to a new file in `dir` named `.<target's name>.<random>.tmp` (after
/// removing what an interrupted write left under such names), gives it `permissions`,
/// fsyncs it when `sync`, and renames it over `target`.
fn replace_by_rename(
    target: &Path,
    dir: &Path,
    text: &[u8],
    permissions: std::fs::Permissions,
    sync: bool,
) -> std::io::Result<()> {
    let prefix = format!(
        ".{}.",
        target
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    remove_stale_temporaries(dir, &prefix);
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(TEMP_RANDOM_CHARS)
        .tempfile_in(dir)?;
    temp.write_all(text)?;
    temp.as_file().set_permissions(permissions)?;
    if sync {
        temp.as_file().sync_all()?;
    }
    temp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

/// Removes `<prefix><random>.tmp` files from `dir`, as far as it can.
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|name| is_temporary(name, prefix))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether `name` is a temporary file [`write_atomic`] makes for names with `prefix`.
fn is_temporary(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX))
        .is_some_and(|random| {
            random.len() == TEMP_RANDOM_CHARS && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

fn read_error(path: &Path, error: std::io::Error) -> ConfigError {
    ConfigError::Read {
        path: path.to_path_buf(),
        error,
    }
}

fn write_error(path: &Path, error: std::io::Error) -> ConfigError {
    ConfigError::Write {
        path: path.to_path_buf(),
        error,
    }
}

/// Follows a chain of symbolic links to the file they end at (a dangling link's
/// target is where the file will be created).
pub(super) fn resolve_symlink(path: &Path) -> PathBuf {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_belong_to_one_file_only() {
        assert!(is_temporary(".config.toml.aB3xY9.tmp", ".config.toml."));
        // Another file's, or not one of cnb's.
        assert!(!is_temporary(".config.toml.x.aB3xY9.tmp", ".config.toml."));
        assert!(!is_temporary(".config.toml.aB3xY.tmp", ".config.toml."));
        assert!(!is_temporary(".config.toml.aB3-Y9.tmp", ".config.toml."));
        assert!(!is_temporary(".config.toml.aB3xY9", ".config.toml."));
        assert!(!is_temporary("config.toml.aB3xY9.tmp", ".config.toml."));
    }
}
