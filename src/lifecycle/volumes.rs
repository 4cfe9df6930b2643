//! `--volume <host-path>:<target>[:ro|rw]` (SPEC §9), pack's flag: a host directory or
//! file (or a named Docker volume) mounted into the containers that run buildpacks, read
//! only unless `rw` is given. Bindings go to `/platform/bindings/<name>`.
//!
//! Targets where the lifecycle keeps its own state are refused (pack only warns): a mount
//! there would hide or replace what the lifecycle wrote.

use std::path::{Component, Path};

use crate::error::UsageError;

/// One `--volume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// An absolute host path, or a Docker volume name.
    pub source: String,
    /// The absolute path in the container.
    pub target: String,
    pub read_write: bool,
}

impl Volume {
    /// The Docker bind: `source:target:ro|rw`.
    pub fn bind(&self) -> String {
        let mode = if self.read_write { "rw" } else { "ro" };
        format!("{}:{}:{mode}", self.source, self.target)
    }
}

/// Targets a volume may not be mounted at or under: the lifecycle's own directories, the
/// platform directories cnb writes (`/platform/env`, `/platform/cnb`) and the Docker socket.
pub const RESERVED_TARGETS: &[&str] = &[
    "/cnb",
    "/layers",
    "/workspace",
    "/cache",
    "/launch-cache",
    "/platform/env",
    "/platform/cnb",
    "/var/run/docker.sock",
];

/// Parses one `--volume`. A source with a `/` or starting with `.` is a host path, made
/// absolute against `cwd`, and must exist; anything else is a Docker volume name.
pub fn parse_volume(input: &str, cwd: &Path) -> Result<Volume, UsageError> {
    let bad = |why: String| {
        UsageError(format!(
            "invalid --volume '{input}': {why}; expected <host-path>:<target>[:ro|rw], such as ./bindings/db:/platform/bindings/db"
        ))
    };
    let parts: Vec<&str> = input.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [source, target] => (*source, *target, None),
        [source, target, mode] => (*source, *target, Some(*mode)),
        _ => return Err(bad("it needs two or three ':'-separated parts".to_string())),
    };
    let read_write = match mode {
        None | Some("ro") => false,
        Some("rw") => true,
        Some(other) => {
            return Err(bad(format!(
                "the mode '{other}' is not supported (ro or rw)"
            )));
        }
    };
    if source.is_empty() {
        return Err(bad("the host path is empty".to_string()));
    }
    let source = if source.contains('/') || source.starts_with('.') {
        let path = std::path::absolute(cwd.join(source))
            .map_err(|e| bad(format!("the host path cannot be made absolute ({e})")))?;
        let path = normalise(&path);
        if !path.exists() {
            return Err(UsageError(format!(
                "--volume '{input}': the host path {} does not exist; create it or fix the path",
                path.display()
            )));
        }
        path.to_str()
            .map(str::to_string)
            .ok_or_else(|| bad("the host path is not UTF-8".to_string()))?
    } else {
        let valid = source
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            return Err(bad(format!(
                "'{source}' is neither a host path (start it with / or ./) nor a Docker volume name"
            )));
        }
        source.to_string()
    };
    if !target.starts_with('/') {
        return Err(bad(format!(
            "the target '{target}' is not an absolute path"
        )));
    }
    let normalised = normalise(Path::new(target));
    let target = normalised
        .to_str()
        .map(|t| t.trim_end_matches('/').to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("the target cannot be /".to_string()))?;
    if target == "/platform" {
        return Err(UsageError(format!(
            "--volume '{input}': /platform is where the lifecycle reads the build's env and bindings; mount bindings at /platform/bindings/<name>"
        )));
    }
    if let Some(reserved) = RESERVED_TARGETS
        .iter()
        .find(|r| target == **r || target.starts_with(&format!("{r}/")))
    {
        return Err(UsageError(format!(
            "--volume '{input}': {reserved} belongs to the lifecycle, so nothing may be mounted at {target}; mount bindings at /platform/bindings/<name>, or use another path"
        )));
    }
    Ok(Volume {
        source,
        target,
        read_write,
    })
}

/// `path` with `.` and `..` resolved lexically.
fn normalise(path: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_by_default_and_relative_paths_made_absolute() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let v = parse_volume("./db:/platform/bindings/db", dir.path()).unwrap();
        assert_eq!(v.source, dir.path().join("db").display().to_string());
        assert_eq!(v.target, "/platform/bindings/db");
        assert!(!v.read_write);
        assert!(v.bind().ends_with(":/platform/bindings/db:ro"));
        let v = parse_volume("cnb-data:/data/:rw", dir.path()).unwrap();
        assert_eq!(v.bind(), "cnb-data:/data:rw");
    }

    #[test]
    fn lifecycle_paths_and_bad_forms_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().display().to_string();
        for target in [
            "/workspace",
            "/workspace/x",
            "/layers",
            "/cnb/lifecycle",
            "/platform/env",
            "/platform",
            "/platform/cnb/x",
            "/cache",
            "/x/../layers",
        ] {
            let err = parse_volume(&format!("{here}:{target}"), dir.path()).unwrap_err();
            assert!(
                err.to_string().contains("/platform/bindings"),
                "{target}: {err}"
            );
        }
        for bad in [
            "only",
            "a:b:c:d",
            &format!("{here}:relative"),
            &format!("{here}:/x:z"),
            "bad name!:/x",
            "./missing:/x",
            &format!("{here}:/"),
        ] {
            assert!(parse_volume(bad, dir.path()).is_err(), "{bad}");
        }
        // Near misses are fine.
        assert!(parse_volume(&format!("{here}:/workspaces"), dir.path()).is_ok());
        assert!(parse_volume(&format!("{here}:/platform/bindings/x"), dir.path()).is_ok());
    }
}
