//! `cnb build` behind a corporate network (SPEC §9): the project descriptor, env files,
//! and what the lifecycle's containers get besides the translated registry settings
//! (proxies, registry CAs, volumes, the descriptor's buildpacks and filter).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::BuildSettings;
use crate::error::UsageError;
use crate::lifecycle::extras::{self, Extras};
use crate::lifecycle::{self, Execution, METADATA_LABEL};
use crate::project::{self, Descriptor};
use crate::reference::ImageRef;
use crate::ui::Ui;

/// The descriptor: `--descriptor FILE` (which must exist), else the app's `project.toml`.
/// Problems with it are usage errors (exit status 2).
pub(super) fn descriptor(
    app_dir: &Path,
    flag: Option<&Path>,
) -> anyhow::Result<Option<Descriptor>> {
    if let Some(path) = flag
        && !path.is_file()
    {
        return Err(UsageError(format!(
            "--descriptor {}: no such file; give the path of a project.toml",
            path.display()
        ))
        .into());
    }
    let found = project::load(app_dir, flag).map_err(|e| UsageError(e.to_string()))?;
    if let Some(d) = &found {
        for (name, _) in &d.env {
            lifecycle::parse_user_env(&[format!("{name}=")], |_| None).map_err(|_| {
                UsageError(format!(
                    "{}: the build env name '{name}' cannot be used; names are letters, digits and '_', not starting with a digit",
                    d.path.display()
                ))
            })?;
        }
    }
    Ok(found)
}

/// The descriptor's `builder`, as an image.
pub(super) fn descriptor_builder(
    named: &str,
    descriptor: Option<&Descriptor>,
) -> anyhow::Result<ImageRef> {
    let path = descriptor
        .map(|d| d.path.display().to_string())
        .unwrap_or_default();
    ImageRef::parse(named).map_err(|e| UsageError(format!("the builder of {path}: {e}")).into())
}

/// The build's platform env, pack's precedence: `project.toml`'s `build.env`, then each
/// `--env-file` in order, then `--env` in order (a later value wins).
pub(super) fn platform_env(
    descriptor: Option<&Descriptor>,
    env_files: &[PathBuf],
    flags: &[String],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    if let Some(d) = descriptor {
        env.extend(d.env.iter().cloned());
    }
    for file in env_files {
        env.extend(read_env_file(file, lookup)?);
    }
    env.extend(lifecycle::parse_user_env(flags, lookup)?);
    Ok(env)
}

/// One `--env-file`: a `K=V` or `K` per line (as `--env`), blank lines and lines starting
/// with `#` skipped, whitespace around a line ignored.
fn read_env_file(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "cannot read --env-file {}: {e}; give a file of K=V lines",
            path.display()
        ))
    })?;
    let mut env = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = lifecycle::parse_user_env(&[line.to_string()], lookup).map_err(|e| {
            UsageError(format!(
                "--env-file {}, line {}: {}",
                path.display(),
                n + 1,
                e.0.replace("--env ", "")
            ))
        })?;
        env.extend(parsed);
    }
    Ok(env)
}

/// The buildpacks `project.toml` names, as an order for the lifecycle: only the
/// builder's own buildpacks can be used (by `id`, with an optional `version`, or as
/// `uri = "urn:cnb:builder:<id>[@<version>]"`); anything else is an error, since cnb
/// does not make a builder for the build as pack does.
pub(super) fn order(
    descriptor: Option<&Descriptor>,
    builder: &ImageRef,
    labels: &HashMap<String, String>,
) -> anyhow::Result<Option<String>> {
    let Some(d) = descriptor.filter(|d| !d.buildpacks.is_empty()) else {
        return Ok(None);
    };
    let available = builder_buildpacks(labels);
    let list = || {
        available
            .iter()
            .map(|(id, v)| format!("{id}@{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut group = Vec::new();
    for entry in &d.buildpacks {
        let cannot = |why: String| {
            UsageError(format!(
                "{}: the buildpack {} {why}; cnb only builds with the builder's own buildpacks \
                 ({}), so name one of those or remove the entry (pack can add others: `pack build`)",
                d.path.display(),
                entry.describe(),
                list()
            ))
        };
        if entry.inline {
            return Err(cannot("is an inline script".to_string()).into());
        }
        let (id, version) = match (&entry.uri, &entry.id) {
            (Some(uri), _) => match uri.strip_prefix("urn:cnb:builder:") {
                Some(rest) => match rest.split_once('@') {
                    Some((id, v)) => (id.to_string(), Some(v.to_string())),
                    None => (rest.to_string(), None),
                },
                None => return Err(cannot("is not in the builder".to_string()).into()),
            },
            (None, Some(id)) => (id.clone(), entry.version.clone()),
            (None, None) => return Err(cannot("has no id".to_string()).into()),
        };
        let versions: Vec<&String> = available
            .iter()
            .filter(|(i, _)| *i == id)
            .map(|(_, v)| v)
            .collect();
        let chosen = match (&version, versions.as_slice()) {
            (_, []) => {
                return Err(cannot(format!("is not in the builder {builder}")).into());
            }
            (Some(v), found) if found.contains(&v) => v.clone(),
            (Some(v), _) => {
                return Err(
                    cannot(format!("is not in the builder {builder} at version {v}")).into(),
                );
            }
            (None, [only]) => (*only).clone(),
            (None, _) => {
                return Err(cannot(format!(
                    "has several versions in the builder {builder}; give the version"
                ))
                .into());
            }
        };
        group.push((id, chosen));
    }
    Ok(Some(extras::order_toml(&group)))
}

/// `(id, version)` of the builder's buildpacks (`buildpacks` of its metadata label).
fn builder_buildpacks(labels: &HashMap<String, String>) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Md {
        #[serde(default)]
        buildpacks: Vec<Bp>,
    }
    #[derive(serde::Deserialize)]
    struct Bp {
        id: String,
        #[serde(default)]
        version: String,
    }
    labels
        .get(METADATA_LABEL)
        .and_then(|text| serde_json::from_str::<Md>(text).ok())
        .map(|md| {
            md.buildpacks
                .into_iter()
                .map(|bp| (bp.id, bp.version))
                .collect()
        })
        .unwrap_or_default()
}

/// Adds proxies, registry CAs, volumes, the descriptor's order and filter to the
/// containers; says what it adds with `-v`.
pub(super) fn apply(
    execution: &mut Execution,
    settings: &BuildSettings,
    builder_env: &[String],
    lifecycle_image_env: &[String],
    order: Option<String>,
    ui: &Ui,
) {
    let proxy = &settings.registry.proxy;
    if !proxy.is_empty() {
        ui.verbose(
            1,
            format!("Proxies for the lifecycle: {}", proxy.describe()),
        );
    }
    // The lifecycle's transport for insecure registries (imgutil's) has no proxy.
    let insecure = match &*execution {
        Execution::Creator(c) => &c.insecure_registries,
        Execution::Phases(p) => &p.insecure_registries,
    };
    if settings.publish {
        for host in insecure {
            let behind_proxy = crate::reference::Registry::parse(host)
                .is_ok_and(|registry| proxy.proxies(&registry));
            if behind_proxy {
                ui.warn(format!(
                    "the lifecycle reaches the insecure registry {host} directly, not through the proxy \
                     (its transport for insecure registries ignores HTTP_PROXY and HTTPS_PROXY); if {host} \
                     is only reachable through the proxy, trust its CA with `cnb config registry-ca add {host} <PEM-FILE>` \
                     instead of an insecure entry"
                ));
            }
        }
    }
    if !settings.volumes.is_empty() && !matches!(execution, Execution::Creator(_)) {
        ui.warn(
            "the builder is not trusted and gets your --volume mounts in its detect and build \
             phases; if they hold sensitive data, trust the builder only if you trust its buildpacks",
        );
    }
    extras::apply(
        execution,
        &Extras {
            proxy: Some(proxy),
            cas: &settings.registry.cas,
            builder_env,
            lifecycle_image_env,
            volumes: &settings.volumes,
            order,
            filter: settings.descriptor.as_ref().and_then(|d| d.filter.as_ref()),
        },
    );
}

/// With `--publish`, that cnb's TLS policy lets it reach the output's registry (the
/// lifecycle's is the same): a certificate that does not verify fails here with the
/// host, the reason and the fix, rather than deep in the lifecycle.
pub(super) async fn check_output_registry(
    settings: &BuildSettings,
    resolver: &crate::registry::Resolver,
) -> anyhow::Result<()> {
    if !settings.publish {
        return Ok(());
    }
    let image = &settings.image;
    if let Err(failure) = resolver.check_tls(image).await {
        let mut message = format!("cannot publish {image}: {}: {failure}", image.registry());
        if let Some(hint) = crate::registry::tls_hint(image.registry(), &failure) {
            message.push_str(&format!(" ({hint})"));
        }
        anyhow::bail!(message);
    }
    Ok(())
}

/// Says which descriptor is used and what it warns about.
pub(super) fn report_descriptor(settings: &BuildSettings, ui: &Ui) -> anyhow::Result<()> {
    if let Some(d) = &settings.descriptor {
        for warning in &d.warnings {
            ui.warn(warning);
        }
        ui.verbose(
            1,
            format!(
                "Project descriptor {} (schema {})",
                d.path.display(),
                d.schema
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_precedence_is_packs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("build.env");
        std::fs::write(
            &file,
            "# comment\n\n A=from-file \nB=from-file\nINHERITED\n",
        )
        .unwrap();
        let d = project::parse(
            "[[build.env]]\nname = \"A\"\nvalue = \"descriptor\"\n[[build.env]]\nname = \"C\"\nvalue = \"descriptor\"\n",
            &dir.path().join("project.toml"),
        )
        .unwrap();
        let env = platform_env(
            Some(&d),
            std::slice::from_ref(&file),
            &["B=flag".to_string()],
            &|k| (k == "INHERITED").then(|| "yes".to_string()),
        )
        .unwrap();
        assert_eq!(env["A"], "from-file");
        assert_eq!(env["B"], "flag");
        assert_eq!(env["C"], "descriptor");
        assert_eq!(env["INHERITED"], "yes");

        std::fs::write(&file, "OK=1\n1BAD=x\n").unwrap();
        let err = platform_env(None, std::slice::from_ref(&file), &[], &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = platform_env(None, &[dir.path().join("missing")], &[], &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn only_the_builders_own_buildpacks_make_an_order() {
        let labels = HashMap::from([(
            METADATA_LABEL.to_string(),
            r#"{"buildpacks":[{"id":"cnb-test/hello","version":"0.0.1"},{"id":"two","version":"1"},{"id":"two","version":"2"}]}"#
                .to_string(),
        )]);
        let builder = ImageRef::parse("reg.example/builder").unwrap();
        let d = |text: &str| {
            project::parse(
                &format!("[_]\nschema-version = \"0.2\"\n{text}"),
                Path::new("project.toml"),
            )
            .unwrap()
        };
        let ok = d(
            "[[io.buildpacks.group]]\nid = \"cnb-test/hello\"\n[[io.buildpacks.group]]\nuri = \"urn:cnb:builder:two@2\"\n",
        );
        let order = order(Some(&ok), &builder, &labels).unwrap().unwrap();
        assert!(
            order.contains("id = \"cnb-test/hello\"\nversion = \"0.0.1\""),
            "{order}"
        );
        assert!(order.contains("id = \"two\"\nversion = \"2\""), "{order}");
        for bad in [
            "[[io.buildpacks.group]]\nuri = \"docker://reg.example/bp:1\"\n",
            "[[io.buildpacks.group]]\nid = \"missing\"\n",
            "[[io.buildpacks.group]]\nid = \"two\"\n",
            "[[io.buildpacks.group]]\nid = \"two\"\nversion = \"3\"\n",
            "[[io.buildpacks.group]]\nid = \"x\"\n[io.buildpacks.group.script]\ninline = \"echo\"\napi = \"0.10\"\n",
        ] {
            let err = super::order(Some(&d(bad)), &builder, &labels)
                .unwrap_err()
                .to_string();
            assert!(err.contains("cnb-test/hello@0.0.1"), "{bad}: {err}");
            assert!(err.contains("pack build"), "{bad}: {err}");
        }
        assert_eq!(super::order(None, &builder, &labels).unwrap(), None);
    }
}
