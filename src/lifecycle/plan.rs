//! The `--dry-run` plan (SPEC §7.11): one serialisable value, shown as JSON or text.
//! Secrets are redacted when the plan is made, so no rendering can leak them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::metadata::BuilderMetadata;
use super::platform_api::ApiVersion;
use super::run_image::{RunImageSelection, RunImageStatus};
use super::trust::Trust;
use super::{ContainerSpec, Execution};
use crate::env_vars::lifecycle::CNB_REGISTRY_AUTH;
use crate::reference::ImageRef;

use crate::secret::REDACTED;

/// The dry-run plan. Field names are a contract (SPEC §7.11): add, never rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The image being built.
    pub image: String,
    pub builder: PlanBuilder,
    pub platform_api: ApiVersion,
    pub run_image: PlanRunImage,
    pub lifecycle: PlanLifecycle,
    /// Warnings the build would print (builder metadata, mirror recorded in the image, ...).
    pub warnings: Vec<String>,
    /// `--local-registry`: the registry found and the names for pod specs and in-cluster
    /// tools (SPEC §10); `null` without it.
    pub local_registry: Option<crate::local_registry::LocalRegistryPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanBuilder {
    /// Original name.
    pub name: String,
    /// Where it is fetched from (a mirror location or the original).
    pub fetch: String,
    /// Why it may run (`trusted by default (...)`).
    pub trust: Option<String>,
    pub lifecycle_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRunImage {
    pub chosen: String,
    pub fetch: String,
    /// The registry whose candidates were preferred.
    pub target_registry: String,
    pub candidates: Vec<PlanCandidate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanCandidate {
    pub image: String,
    /// `chosen`, `unreadable` or `unused`.
    pub status: String,
    /// Chosen: why it came first; unreadable: why it could not be used; unused: that an
    /// earlier one was chosen.
    pub reason: Option<String>,
    /// Where the candidate came from and its place in the order (`user mirror, on target registry T`).
    pub source: String,
}

/// How the lifecycle runs. The creator path keeps the container's fields at this level
/// (`image`, `command`, `env`, ...), as it always had; the phases path lists one entry per
/// phase container in `phases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanLifecycle {
    /// `creator` (one container: a trusted builder) or `phases` (analyze, detect,
    /// restore, build, export in containers of their own).
    pub path: String,
    #[serde(flatten)]
    pub creator: Option<PlanContainer>,
    /// `null` for Docker's default network.
    pub network: Option<String>,
    pub network_reason: Option<String>,
    /// The image of the analyze, restore and export phases (phases path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_image: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PlanPhase>,
    /// Volumes made for this build only and removed after it (phases path).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub temporary_volumes: Vec<String>,
}

/// One container of the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanContainer {
    /// The container image (the builder or the lifecycle image, by original name).
    pub image: String,
    pub command: Vec<String>,
    /// Container environment, secrets as `<redacted>`.
    pub env: BTreeMap<String, String>,
    /// `/platform/env/<NAME>` files from `--env`, secret-looking values as `<redacted>`.
    pub platform_env: BTreeMap<String, String>,
    /// Binds (`source:target`) then volumes (`name:target`).
    pub mounts: Vec<String>,
    pub user: String,
    /// Docker security options (`label=disable` with the socket).
    pub security_opt: Vec<String>,
    /// cnb's own files for the lifecycle, by absolute path (`/platform/cnb/run.toml`).
    pub files: BTreeMap<String, String>,
    /// Whether the app directory is sent into this container.
    pub gets_app: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanPhase {
    /// `analyze`, `detect`, `restore`, `build` or `export`.
    pub phase: String,
    #[serde(flatten)]
    pub container: PlanContainer,
}

impl PlanContainer {
    fn of(spec: &ContainerSpec) -> PlanContainer {
        let mounts = spec
            .binds
            .iter()
            .cloned()
            .chain(
                spec.volumes
                    .iter()
                    .map(|(name, target)| format!("{name}:{target}")),
            )
            .collect();
        PlanContainer {
            image: spec.image.clone(),
            command: spec.command.clone(),
            env: redact(&spec.env),
            platform_env: redact(&spec.platform_env),
            mounts,
            user: spec.user.clone(),
            security_opt: spec.security_opt.clone(),
            files: spec.files.clone(),
            gets_app: spec.app_dir.is_some(),
        }
    }

    fn write_text(&self, out: &mut String, indent: &str) -> std::fmt::Result {
        writeln!(out, "{indent}image:    {}", self.image)?;
        writeln!(out, "{indent}command:  {}", self.command.join(" "))?;
        writeln!(out, "{indent}user:     {}", self.user)?;
        if !self.security_opt.is_empty() {
            writeln!(out, "{indent}security: {}", self.security_opt.join(", "))?;
        }
        writeln!(out, "{indent}env:")?;
        for (k, v) in &self.env {
            writeln!(out, "{indent}  {k}={v}")?;
        }
        if !self.platform_env.is_empty() {
            writeln!(out, "{indent}platform env (/platform/env):")?;
            for (k, v) in &self.platform_env {
                writeln!(out, "{indent}  {k}={v}")?;
            }
        }
        if self.gets_app {
            writeln!(out, "{indent}app:      sent to /workspace")?;
        }
        for (path, content) in &self.files {
            writeln!(out, "{indent}{path}:")?;
            for line in content.lines() {
                writeln!(out, "{indent}  {line}")?;
            }
        }
        writeln!(out, "{indent}mounts:")?;
        for m in &self.mounts {
            writeln!(out, "{indent}  {m}")?;
        }
        Ok(())
    }
}

/// What a plan is made from.
#[derive(Debug, Clone)]
pub struct PlanFacts<'a> {
    pub output: &'a ImageRef,
    pub builder: &'a BuilderMetadata,
    /// Where the builder is fetched from.
    pub builder_fetch: &'a ImageRef,
    pub trust: Option<&'a Trust>,
    pub selection: &'a RunImageSelection,
    /// Where the chosen run image is fetched from.
    pub run_image_fetch: &'a ImageRef,
    pub execution: &'a Execution,
}

/// Whether a variable's value should be hidden: `CNB_REGISTRY_AUTH` and anything whose
/// name says it is a secret.
fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == CNB_REGISTRY_AUTH
        || [
            "PASSWORD",
            "PASSWD",
            "SECRET",
            "TOKEN",
            "AUTH",
            "CREDENTIAL",
            "KEY",
        ]
        .iter()
        .any(|word| upper.contains(word))
}

pub(super) fn redact(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.iter()
        .map(|(k, v)| {
            let v = if is_secret_name(k) {
                REDACTED.to_string()
            } else {
                redact_url_passwords(v)
            };
            (k.clone(), v)
        })
        .collect()
}

/// `postgres://user:secret@db:5432/app` -> `postgres://user:<redacted>@db:5432/app`: the
/// password of every URL in `value`, whatever the variable is called.
pub fn redact_url_passwords(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(REDACTED);
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

impl Plan {
    pub fn new(facts: &PlanFacts<'_>) -> Plan {
        let selection = facts.selection;
        let target = &selection.target;
        let candidates = selection
            .candidates
            .iter()
            .map(|(candidate, status)| {
                let source = candidate.why(target);
                let reason = match status {
                    RunImageStatus::Chosen => Some(format!("first readable candidate: {source}")),
                    RunImageStatus::Unreadable(reason) => Some(reason.clone()),
                    RunImageStatus::Unused => Some("an earlier candidate was chosen".to_string()),
                };
                PlanCandidate {
                    image: candidate.image.to_string(),
                    status: status.as_str().to_string(),
                    reason,
                    source,
                }
            })
            .collect();
        let mut warnings = facts.builder.warnings.clone();
        warnings.extend(facts.execution.warnings().iter().cloned());
        let lifecycle = match facts.execution {
            Execution::Creator(creator) => PlanLifecycle {
                path: "creator".to_string(),
                creator: Some(PlanContainer::of(&creator.spec)),
                network: creator.spec.network.clone(),
                network_reason: creator.network_reason.clone(),
                lifecycle_image: None,
                phases: Vec::new(),
                temporary_volumes: Vec::new(),
            },
            Execution::Phases(phases) => PlanLifecycle {
                path: "phases".to_string(),
                creator: None,
                network: phases.network.clone(),
                network_reason: phases.network_reason.clone(),
                lifecycle_image: Some(phases.lifecycle_image.to_string()),
                phases: phases
                    .containers
                    .iter()
                    .map(|c| PlanPhase {
                        phase: c.phase.to_string(),
                        container: PlanContainer::of(&c.spec),
                    })
                    .collect(),
                temporary_volumes: phases.temporary_volumes.clone(),
            },
        };
        Plan {
            image: facts.output.to_string(),
            builder: PlanBuilder {
                name: facts.builder.builder.to_string(),
                fetch: facts.builder_fetch.to_string(),
                trust: facts.trust.map(Trust::describe),
                lifecycle_version: facts.builder.lifecycle_version.clone(),
            },
            platform_api: facts.execution.platform_api(),
            run_image: PlanRunImage {
                chosen: selection.chosen().image.to_string(),
                fetch: facts.run_image_fetch.to_string(),
                target_registry: target.to_string(),
                candidates,
            },
            lifecycle,
            warnings,
            local_registry: None,
        }
    }

    /// The plan as one JSON object (pretty-printed).
    pub fn to_json(&self) -> String {
        // Strings, lists and maps of strings: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The plan for people.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "Image:         {}", self.image)?;
        writeln!(out, "Builder:       {}", self.builder.name)?;
        if self.builder.fetch != self.builder.name {
            writeln!(out, "  fetch from:  {}", self.builder.fetch)?;
        }
        if let Some(trust) = &self.builder.trust {
            writeln!(out, "  trust:       {trust}")?;
        }
        if let Some(version) = &self.builder.lifecycle_version {
            writeln!(out, "  lifecycle:   {version}")?;
        }
        writeln!(out, "Platform API:  {}", self.platform_api)?;
        writeln!(out, "Run image:     {}", self.run_image.chosen)?;
        if self.run_image.fetch != self.run_image.chosen {
            writeln!(out, "  fetch from:  {}", self.run_image.fetch)?;
        }
        writeln!(
            out,
            "  candidates (target registry {}):",
            self.run_image.target_registry
        )?;
        for (i, c) in self.run_image.candidates.iter().enumerate() {
            let detail = match c.status.as_str() {
                "chosen" => format!("chosen ({})", c.source),
                "unreadable" => format!(
                    "passed over: {} ({})",
                    c.reason.as_deref().unwrap_or("not readable"),
                    c.source
                ),
                _ => format!("not needed ({})", c.source),
            };
            writeln!(out, "    {}. {}  {detail}", i + 1, c.image)?;
        }
        let network = match (&self.lifecycle.network, &self.lifecycle.network_reason) {
            (Some(n), Some(reason)) => format!("{n} ({reason})"),
            (Some(n), None) => n.clone(),
            (None, _) => "Docker's default".to_string(),
        };
        match &self.lifecycle.creator {
            Some(container) => {
                writeln!(out, "Lifecycle container (creator):")?;
                writeln!(out, "  network:  {network}")?;
                container.write_text(out, "  ")?;
            }
            None => {
                writeln!(
                    out,
                    "Lifecycle phases, each in its own container (untrusted builder or image extensions):"
                )?;
                if let Some(image) = &self.lifecycle.lifecycle_image {
                    writeln!(out, "  lifecycle image: {image}")?;
                }
                writeln!(out, "  network:  {network}")?;
                if !self.lifecycle.temporary_volumes.is_empty() {
                    writeln!(
                        out,
                        "  temporary volumes: {}",
                        self.lifecycle.temporary_volumes.join(", ")
                    )?;
                }
                for (i, phase) in self.lifecycle.phases.iter().enumerate() {
                    writeln!(out, "  {}. {}", i + 1, phase.phase)?;
                    phase.container.write_text(out, "     ")?;
                }
            }
        }
        if let Some(local) = &self.local_registry {
            local.write_text(out)?;
        }
        for w in &self.warnings {
            writeln!(out, "warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::credentials::Credential;
    use crate::lifecycle::creator::tests::{Facts, img, reg};
    use crate::lifecycle::{Readability, check_trust, run_image_order};
    use crate::reference::Mirror;

    const PASSWORD: &str = "pa55-w0rd-xyz";
    const TOKEN: &str = "tok-3f9a1c-secret";
    const USER_SECRET: &str = "npm-secret-value";

    fn secret_facts() -> Facts {
        let mut f = Facts::daemon();
        f.publish = true;
        f.output = img("registry.corp.example/team/app");
        f.run_image_fetch = img("mirror.corp.example/paketobuildpacks/run-jammy-base");
        f.chosen_mirrors = vec![(
            reg("mirror.corp.example"),
            Mirror::parse("https://m2.corp.example").unwrap(),
        )];
        f.credentials.insert(
            reg("registry.corp.example"),
            Credential::Basic {
                username: "robot".into(),
                password: PASSWORD.into(),
            },
        );
        f.credentials
            .insert(reg("mirror.corp.example"), Credential::Token(TOKEN.into()));
        f.platform_env = [
            ("NPM_TOKEN".to_string(), USER_SECRET.to_string()),
            ("BP_NODE_VERSION".to_string(), "20".to_string()),
        ]
        .into_iter()
        .collect();
        f
    }

    fn plan_for(f: &Facts) -> Plan {
        let creator = f.creator();
        let order = run_image_order(
            None,
            &f.builder.run_image,
            &[img("registry.corp.example/run")],
            &reg("registry.corp.example"),
        );
        let selection = order
            .select(&[
                Readability::Unreadable("not found".into()),
                Readability::Readable,
            ])
            .unwrap();
        let trust = check_trust(&f.builder.builder, &[], false);
        Plan::new(&PlanFacts {
            output: &f.output,
            builder: &f.builder,
            builder_fetch: &img("mirror.corp.example/paketobuildpacks/builder-jammy-base"),
            trust: Some(&trust),
            selection: &selection,
            run_image_fetch: &f.run_image_fetch,
            execution: &Execution::Creator(creator.clone()),
        })
    }

    #[test]
    fn json_has_the_spec_shape() {
        let plan = plan_for(&secret_facts());
        let v: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
        assert_eq!(v["image"], "registry.corp.example/team/app:latest");
        assert_eq!(
            v["builder"]["name"],
            "docker.io/paketobuildpacks/builder-jammy-base:latest"
        );
        assert_eq!(
            v["builder"]["fetch"],
            "mirror.corp.example/paketobuildpacks/builder-jammy-base:latest"
        );
        assert_eq!(v["platform_api"], "0.13");
        assert_eq!(
            v["run_image"]["chosen"],
            "docker.io/paketobuildpacks/run-jammy-base:latest"
        );
        assert_eq!(
            v["run_image"]["fetch"],
            "mirror.corp.example/paketobuildpacks/run-jammy-base:latest"
        );
        let candidates = v["run_image"]["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 2);
        assert_eq!(candidates[0]["image"], "registry.corp.example/run:latest");
        assert_eq!(candidates[0]["status"], "unreadable");
        assert_eq!(candidates[0]["reason"], "not found");
        assert_eq!(
            candidates[0]["source"],
            "user mirror, on target registry registry.corp.example"
        );
        assert_eq!(candidates[1]["status"], "chosen");
        assert_eq!(
            candidates[1]["reason"],
            "first readable candidate: builder's run image"
        );
        let lifecycle = &v["lifecycle"];
        assert_eq!(
            lifecycle["image"],
            "docker.io/paketobuildpacks/builder-jammy-base:latest"
        );
        assert_eq!(lifecycle["command"][0], "/cnb/lifecycle/creator");
        assert_eq!(lifecycle["env"]["CNB_PLATFORM_API"], "0.13");
        assert_eq!(lifecycle["env"]["CNB_REGISTRY_AUTH"], REDACTED);
        assert_eq!(
            lifecycle["env"]["CNB_REGISTRY_MIRRORS"],
            "mirror.corp.example=https://m2.corp.example"
        );
        assert_eq!(lifecycle["platform_env"]["BP_NODE_VERSION"], "20");
        assert_eq!(lifecycle["platform_env"]["NPM_TOKEN"], REDACTED);
        assert!(
            lifecycle["mounts"][0]
                .as_str()
                .unwrap()
                .ends_with(".build:/cache")
        );
        assert!(lifecycle["network"].is_null());
        assert_eq!(lifecycle["user"], "0:0");
        assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn daemon_json_mounts_socket_and_uses_root() {
        let mut f = Facts::daemon();
        f.output = img("localhost:5000/app");
        let plan = plan_for(&f);
        let v: serde_json::Value = serde_json::from_str(&plan.to_json()).unwrap();
        let mounts: Vec<&str> = v["lifecycle"]["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(mounts[0], "/var/run/docker.sock:/var/run/docker.sock");
        assert!(mounts[1].ends_with(".build:/cache"));
        assert!(mounts[2].ends_with(".launch:/launch-cache"));
        assert_eq!(v["lifecycle"]["user"], "0:0");
        assert_eq!(
            v["lifecycle"]["security_opt"],
            serde_json::json!(["label=disable"])
        );
        assert_eq!(v["lifecycle"]["network"], "host");
        assert!(v["lifecycle"]["env"].get("CNB_REGISTRY_AUTH").is_none());
        // With --run-image, the run.toml cnb writes is part of the plan.
        f.run_image = img("registry.example/run:2");
        f.run_image_given = true;
        f.platform_api = ApiVersion::new(0, 13);
        let v: serde_json::Value = serde_json::from_str(&plan_for(&f).to_json()).unwrap();
        assert_eq!(
            v["lifecycle"]["files"]["/platform/cnb/run.toml"],
            "[[images]]\nimage = \"registry.example/run:2\"\n"
        );
    }

    #[test]
    fn no_secret_survives_either_rendering() {
        let f = secret_facts();
        // The secrets really are in the container spec...
        let creator = f.creator();
        assert!(creator.spec.env["CNB_REGISTRY_AUTH"].contains(TOKEN));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("robot:{PASSWORD}"));
        assert!(creator.spec.env["CNB_REGISTRY_AUTH"].contains(&basic));
        // ... and in no rendering of the plan.
        let plan = plan_for(&f);
        for rendered in [plan.to_json(), plan.render_text(), format!("{plan:?}")] {
            for secret in [
                PASSWORD,
                TOKEN,
                USER_SECRET,
                basic.as_str(),
                "Basic ",
                "Bearer ",
            ] {
                assert!(
                    !rendered.contains(secret),
                    "{secret} leaked in:\n{rendered}"
                );
            }
            assert!(rendered.contains(REDACTED));
        }
    }

    #[test]
    fn text_shows_candidates_command_env_mounts_and_network() {
        let mut f = secret_facts();
        f.network = None;
        f.output = img("127.0.0.1:5000/app");
        let text = plan_for(&f).render_text();
        for expected in [
            "Image:         127.0.0.1:5000/app:latest",
            "Builder:       docker.io/paketobuildpacks/builder-jammy-base:latest",
            "  fetch from:  mirror.corp.example/paketobuildpacks/builder-jammy-base:latest",
            "  trust:       trusted by default (paketobuildpacks/builder-jammy-base)",
            "Platform API:  0.13",
            "Run image:     docker.io/paketobuildpacks/run-jammy-base:latest",
            "  fetch from:  mirror.corp.example/paketobuildpacks/run-jammy-base:latest",
            "  candidates (target registry registry.corp.example):",
            "    1. registry.corp.example/run:latest  passed over: not found (user mirror, on target registry registry.corp.example)",
            "    2. docker.io/paketobuildpacks/run-jammy-base:latest  chosen (builder's run image)",
            "  command:  /cnb/lifecycle/creator -app /workspace -cache-dir /cache -run-image mirror.corp.example/paketobuildpacks/run-jammy-base:latest -log-level info 127.0.0.1:5000/app:latest",
            "  user:     0:0",
            "  security: no-new-privileges=true",
            "  network:  host (the lifecycle must reach 127.0.0.1:5000, which is on loopback)",
            "    CNB_PLATFORM_API=0.13",
            "    CNB_REGISTRY_AUTH=<redacted>",
            "    NPM_TOKEN=<redacted>",
            "    BP_NODE_VERSION=20",
            "  mounts:",
            "warning: the run image is read from mirror.corp.example/paketobuildpacks/run-jammy-base:latest",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }

    #[test]
    fn url_passwords_are_redacted_whatever_the_name() {
        for (value, shown) in [
            (
                "postgres://u:pw@h:5432/db",
                "postgres://u:<redacted>@h:5432/db",
            ),
            (
                "a=https://x:y@one.example b=http://z:w@two.example/p?q",
                "a=https://x:<redacted>@one.example b=http://z:<redacted>@two.example/p?q",
            ),
            (
                "https://user@host/only-a-user",
                "https://user@host/only-a-user",
            ),
            ("https://host/path?u=a:b@c", "https://host/path?u=a:b@c"),
            ("no url here", "no url here"),
            ("redis://:pw@cache", "redis://:<redacted>@cache"),
        ] {
            assert_eq!(redact_url_passwords(value), shown, "{value}");
        }
        let env = BTreeMap::from([("DATABASE_URL".to_string(), "postgres://u:pw@h".to_string())]);
        assert_eq!(redact(&env)["DATABASE_URL"], "postgres://u:<redacted>@h");
    }
}
