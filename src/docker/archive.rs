//! Tar streams sent to the daemon: the app directory (as `/workspace`) with the
//! `/platform/env` files, and `docker save`-format archives for loading images.
//!
//! Archives are written on a blocking thread into a bounded channel that the HTTP
//! request body reads from, so nothing is held in memory or on disk twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::Stream;
use tar::{EntryType, Header};
use tokio::sync::mpsc;

use crate::project::AppFilter;

/// Size of the chunks handed to the request body.
const CHUNK: usize = 256 * 1024;
/// Chunks buffered between the tar writer and the request.
const CHANNEL_DEPTH: usize = 8;
/// The mode of `/workspace` in the app archive (pack's).
const WORKSPACE_MODE: u32 = 0o777;

/// A `Write` that sends its bytes, in chunks, to an async receiver.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the daemon stopped reading"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Runs `produce` on a blocking thread, writing into a stream of byte chunks.
/// An error from `produce` ends the stream with that error.
pub(crate) fn stream_from_writer<F>(produce: F) -> impl Stream<Item = io::Result<Bytes>> + Send
where
    F: FnOnce(&mut ChannelWriter) -> io::Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let err_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        let result = produce(&mut writer).and_then(|()| writer.flush());
        if let Err(e) = result {
            // The receiver may be gone already; then nobody needs the error.
            let _ = err_tx.blocking_send(Err(e));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        Some((item, rx))
    })
}

/// The archive uploaded to `/` of a lifecycle container: `workspace/` holding the app
/// directory (when there is one), `platform/env/<NAME>` files and cnb's own files (by
/// absolute path, parent directories included), every entry owned by `owner`.
///
/// `filter` (`project.toml`'s include/exclude) chooses which of the app's files go.
pub fn app_archive(
    app_dir: Option<PathBuf>,
    filter: Option<AppFilter>,
    platform_env: BTreeMap<String, String>,
    files: BTreeMap<String, String>,
    owner: (u32, u32),
) -> impl Stream<Item = io::Result<Bytes>> + Send {
    stream_from_writer(move |w| {
        write_filtered_app_archive(
            w,
            app_dir.as_deref(),
            filter.as_ref(),
            &platform_env,
            &files,
            owner,
        )
    })
}

/// Writes the app archive (see [`app_archive`]) to `out`.
///
/// Directories, regular files (modes kept) and symbolic links (stored as links, never
/// followed) are included; sockets, FIFOs and devices are skipped. Entries are sorted so
/// the archive is the same for the same tree.
pub fn write_app_archive<W: Write>(
    out: W,
    app_dir: Option<&Path>,
    platform_env: &BTreeMap<String, String>,
    files: &BTreeMap<String, String>,
    owner: (u32, u32),
) -> io::Result<()> {
    write_filtered_app_archive(out, app_dir, None, platform_env, files, owner)
}

/// [`write_app_archive`] with only the app's files that `filter` accepts. Every path is
/// tested on its own, as pack does (an excluded directory's entries are tested too, so a
/// negated pattern can bring one back); a directory that was not accepted itself but
/// holds an accepted entry is still written, so the entry keeps its owner and parents.
pub fn write_filtered_app_archive<W: Write>(
    out: W,
    app_dir: Option<&Path>,
    filter: Option<&AppFilter>,
    platform_env: &BTreeMap<String, String>,
    files: &BTreeMap<String, String>,
    owner: (u32, u32),
) -> io::Result<()> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    if let Some(app_dir) = app_dir {
        let meta = fs::metadata(app_dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot read app directory {}: {e}", app_dir.display()),
            )
        })?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("app path {} is not a directory", app_dir.display()),
            ));
        }
        // `/workspace` itself is 0777 whatever the app directory's mode, as pack writes
        // it: the lifecycle exports the directory with its mode, so this keeps the app
        // layer the same.
        append_synthetic_dir(&mut tar, "workspace", WORKSPACE_MODE, owner)?;
        match filter {
            None => append_tree(&mut tar, app_dir, Path::new("workspace"), owner)?,
            Some(filter) => {
                let mut walk = FilteredWalk {
                    root: app_dir,
                    filter,
                    owner,
                    written: BTreeSet::new(),
                };
                walk.tree(&mut tar, app_dir, "")?;
            }
        }
    }
    let dir_mode = 0o755;
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut parents = |tar: &mut tar::Builder<W>, path: &str| -> io::Result<()> {
        let mut at = 0;
        while let Some(slash) = path[at..].find('/') {
            let dir = &path[..at + slash];
            if dirs.insert(dir.to_string()) {
                append_synthetic_dir(tar, dir, dir_mode, owner)?;
            }
            at += slash + 1;
        }
        Ok(())
    };
    for (name, value) in platform_env {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("environment variable name '{name}' cannot be a file name"),
            ));
        }
        let path = format!("platform/env/{name}");
        parents(&mut tar, &path)?;
        append_synthetic_file(&mut tar, &path, value, owner)?;
    }
    for (path, content) in files {
        let relative = path.trim_start_matches('/');
        if relative.is_empty() || relative.split('/').any(|p| p.is_empty() || p == "..") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{path}' is not a file path cnb can write"),
            ));
        }
        parents(&mut tar, relative)?;
        append_synthetic_file(&mut tar, relative, content, owner)?;
    }
    tar.into_inner()?.flush()
}

fn append_synthetic_file<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    content: &str,
    owner: (u32, u32),
) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(content.len() as u64);
    set_owner(&mut header, owner);
    header.set_mtime(0);
    tar.append_data(&mut header, path, content.as_bytes())
}

fn set_owner(header: &mut Header, (uid, gid): (u32, u32)) {
    header.set_uid(u64::from(uid));
    header.set_gid(u64::from(gid));
    // Names would win over ids on extraction when they exist in the container.
    let _ = header.set_username("");
    let _ = header.set_groupname("");
}

fn append_synthetic_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    owner: (u32, u32),
) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Directory);
    header.set_mode(mode);
    header.set_size(0);
    header.set_mtime(0);
    set_owner(&mut header, owner);
    tar.append_data(&mut header, path, io::empty())
}

fn append_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    path: impl AsRef<Path>,
    meta: &fs::Metadata,
    owner: (u32, u32),
) -> io::Result<()> {
    let mut header = Header::new_gnu();
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    header.set_entry_type(EntryType::Directory);
    header.set_size(0);
    set_owner(&mut header, owner);
    tar.append_data(&mut header, path, io::empty())
}

/// A directory's entries sorted by name, so the archive is the same for the same tree.
fn sorted_entries(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", dir.display())))?
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

fn append_tree<W: Write>(
    tar: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &Path,
    owner: (u32, u32),
) -> io::Result<()> {
    for entry in sorted_entries(dir)? {
        let path = entry.path();
        let name = prefix.join(entry.file_name());
        let meta = fs::symlink_metadata(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
        })?;
        let kind = meta.file_type();
        if kind.is_dir() {
            append_dir(tar, &name, &meta, owner)?;
            append_tree(tar, &path, &name, owner)?;
        } else if kind.is_file() {
            let mut header = Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            set_owner(&mut header, owner);
            let file = fs::File::open(&path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
            })?;
            tar.append_data(&mut header, &name, file)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&path)?;
            let mut header = Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            header.set_entry_type(EntryType::Symlink);
            header.set_size(0);
            set_owner(&mut header, owner);
            tar.append_link(&mut header, &name, &target)?;
        }
        // Sockets, FIFOs and devices have no place in an app directory.
    }
    Ok(())
}

/// The app's tree with `project.toml`'s filter (see [`write_filtered_app_archive`]).
struct FilteredWalk<'a> {
    root: &'a Path,
    filter: &'a AppFilter,
    owner: (u32, u32),
    /// Directories written, relative (`a`, `a/b`).
    written: BTreeSet<String>,
}

impl FilteredWalk<'_> {
    fn tree<W: Write>(
        &mut self,
        tar: &mut tar::Builder<W>,
        dir: &Path,
        rel: &str,
    ) -> io::Result<()> {
        for entry in sorted_entries(dir)? {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
            })?;
            let kind = meta.file_type();
            let accepted = self.filter.accepts(&rel);
            let in_tar = Path::new("workspace").join(&rel);
            if kind.is_dir() {
                if accepted {
                    self.parents(tar, &rel)?;
                    append_dir(tar, &in_tar, &meta, self.owner)?;
                    self.written.insert(rel.clone());
                }
                self.tree(tar, &path, &rel)?;
                continue;
            }
            if !accepted || !(kind.is_file() || kind.is_symlink()) {
                continue;
            }
            self.parents(tar, &rel)?;
            let mut header = Header::new_gnu();
            header.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
            set_owner(&mut header, self.owner);
            if kind.is_symlink() {
                let target = fs::read_link(&path)?;
                header.set_entry_type(EntryType::Symlink);
                header.set_size(0);
                tar.append_link(&mut header, &in_tar, &target)?;
            } else {
                let file = fs::File::open(&path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display()))
                })?;
                tar.append_data(&mut header, &in_tar, file)?;
            }
        }
        Ok(())
    }

    /// Writes the directories above `rel` that are not written yet.
    fn parents<W: Write>(&mut self, tar: &mut tar::Builder<W>, rel: &str) -> io::Result<()> {
        let mut at = 0;
        while let Some(slash) = rel[at..].find('/') {
            let dir = &rel[..at + slash];
            if !self.written.contains(dir) {
                let meta = fs::symlink_metadata(self.root.join(dir))?;
                append_dir(tar, Path::new("workspace").join(dir), &meta, self.owner)?;
                self.written.insert(dir.to_string());
            }
            at += slash + 1;
        }
        Ok(())
    }
}

/// One file of a docker-save archive, read from disk.
pub(crate) struct SaveEntry {
    /// Path inside the archive.
    pub name: String,
    pub source: PathBuf,
}

/// Writes a `docker save`-format archive: the given files plus `manifest.json`.
pub(crate) fn write_save_archive<W: Write>(
    out: W,
    manifest_json: &[u8],
    entries: &[SaveEntry],
) -> io::Result<()> {
    let mut tar = tar::Builder::new(out);
    for entry in entries {
        let file = fs::File::open(&entry.source)?;
        let len = file.metadata()?.len();
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(len);
        header.set_mtime(0);
        tar.append_data(&mut header, &entry.name, file)?;
    }
    let mut header = Header::new_gnu();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(manifest_json.len() as u64);
    header.set_mtime(0);
    tar.append_data(&mut header, "manifest.json", manifest_json)?;
    tar.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn app_archive_owns_everything_and_keeps_links_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path();
        fs::create_dir(app.join("bin")).unwrap();
        fs::write(app.join("bin/run"), "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(app.join("bin/run"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(app.join("README"), "hello").unwrap();
        fs::set_permissions(app.join("README"), fs::Permissions::from_mode(0o600)).unwrap();
        symlink("/etc/passwd", app.join("outside")).unwrap();
        let long = "d".repeat(120);
        fs::create_dir(app.join(&long)).unwrap();
        fs::write(app.join(&long).join("f".repeat(120)), "x").unwrap();

        let env = BTreeMap::from([("GREETING".to_string(), "hi there".to_string())]);
        let files = BTreeMap::from([(
            "/platform/cnb/run.toml".to_string(),
            "[[images]]\n".to_string(),
        )]);
        let mut buf = Vec::new();
        write_app_archive(&mut buf, Some(app), &env, &files, (1000, 1001)).unwrap();

        let mut archive = tar::Archive::new(buf.as_slice());
        let mut seen = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let header = entry.header().clone();
            assert_eq!(header.uid().unwrap(), 1000, "{path}");
            assert_eq!(header.gid().unwrap(), 1001, "{path}");
            let mut content = String::new();
            if header.entry_type() == EntryType::Regular {
                io::Read::read_to_string(&mut entry, &mut content).unwrap();
            }
            let link = entry
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            seen.insert(
                path.trim_end_matches('/').to_string(),
                (
                    header.entry_type(),
                    header.mode().unwrap() & 0o777,
                    content,
                    link,
                ),
            );
        }
        assert_eq!(seen["platform/cnb"].0, EntryType::Directory);
        assert_eq!(seen["platform/cnb/run.toml"].2, "[[images]]\n");
        assert_eq!(seen["workspace"].0, EntryType::Directory);
        assert_eq!(
            seen["workspace"].1, 0o777,
            "pack's mode, not the app directory's"
        );
        assert_eq!(seen["workspace/bin"].0, EntryType::Directory);
        assert_eq!(seen["workspace/bin/run"].1, 0o755);
        assert_eq!(seen["workspace/README"].1, 0o600);
        assert_eq!(seen["workspace/README"].2, "hello");
        assert_eq!(seen["workspace/outside"].0, EntryType::Symlink);
        assert_eq!(seen["workspace/outside"].3.as_deref(), Some("/etc/passwd"));
        assert_eq!(
            seen[&format!("workspace/{long}/{}", "f".repeat(120))].2,
            "x"
        );
        assert_eq!(seen["platform/env"].0, EntryType::Directory);
        assert_eq!(seen["platform/env/GREETING"].2, "hi there");
    }

    #[test]
    fn no_platform_dir_without_env_and_bad_names_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        write_app_archive(
            &mut buf,
            Some(dir.path()),
            &BTreeMap::new(),
            &BTreeMap::new(),
            (0, 0),
        )
        .unwrap();
        let mut archive = tar::Archive::new(buf.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["workspace"]);

        let bad = BTreeMap::from([("../x".to_string(), "v".to_string())]);
        let err = write_app_archive(Vec::new(), Some(dir.path()), &bad, &BTreeMap::new(), (0, 0))
            .unwrap_err();
        assert!(err.to_string().contains("../x"), "{err}");
        let bad = BTreeMap::from([("/layers/../etc/passwd".to_string(), "v".to_string())]);
        let err = write_app_archive(Vec::new(), None, &BTreeMap::new(), &bad, (0, 0)).unwrap_err();
        assert!(err.to_string().contains("/layers/../etc/passwd"), "{err}");
    }

    #[test]
    fn project_filters_choose_the_uploaded_files_and_keep_their_parents() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path();
        fs::create_dir_all(app.join("docs/deep")).unwrap();
        fs::write(app.join("docs/deep/keep.md"), "k").unwrap();
        fs::write(app.join("docs/drop.md"), "d").unwrap();
        fs::write(app.join("secret.key"), "s").unwrap();
        fs::write(app.join("message"), "m").unwrap();
        let names = |filter: AppFilter| {
            let mut buf = Vec::new();
            write_filtered_app_archive(
                &mut buf,
                Some(app),
                Some(&filter),
                &BTreeMap::new(),
                &BTreeMap::new(),
                (1000, 1001),
            )
            .unwrap();
            let mut archive = tar::Archive::new(buf.as_slice());
            archive
                .entries()
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    assert_eq!(e.header().uid().unwrap(), 1000);
                    e.path()
                        .unwrap()
                        .to_string_lossy()
                        .trim_end_matches('/')
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        let patterns = |lines: &[&str]| {
            crate::project::Patterns::new(&lines.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap()
        };
        assert_eq!(
            names(AppFilter::Exclude(patterns(&[
                "*.key",
                "docs",
                "!docs/deep/keep.md"
            ]))),
            [
                "workspace",
                "workspace/docs",
                "workspace/docs/deep",
                "workspace/docs/deep/keep.md",
                "workspace/message"
            ]
        );
        assert_eq!(
            names(AppFilter::Include(patterns(&["keep.md"]))),
            [
                "workspace",
                "workspace/docs",
                "workspace/docs/deep",
                "workspace/docs/deep/keep.md"
            ]
        );
    }

    #[test]
    fn without_an_app_only_the_files_and_their_directories() {
        let files = BTreeMap::from([("/layers/run.toml".to_string(), "x".to_string())]);
        let mut buf = Vec::new();
        write_app_archive(&mut buf, None, &BTreeMap::new(), &files, (1000, 1001)).unwrap();
        let mut archive = tar::Archive::new(buf.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["layers", "layers/run.toml"]);
    }

    #[test]
    fn app_path_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.jar");
        fs::write(&file, "x").unwrap();
        let err = write_app_archive(
            Vec::new(),
            Some(&file),
            &BTreeMap::new(),
            &BTreeMap::new(),
            (0, 0),
        )
        .unwrap_err();
        assert!(err.to_string().contains("app.jar"), "{err}");
    }
}
