use super::*;
use crate::lifecycle::lifecycle_registries;
use crate::lifecycle::{BuilderRunImage, RunImageSource};

pub(crate) fn img(s: &str) -> ImageRef {
    ImageRef::parse(s).unwrap()
}

pub(crate) fn reg(s: &str) -> Registry {
    Registry::parse(s).unwrap()
}

pub(crate) fn builder() -> BuilderMetadata {
    BuilderMetadata {
        builder: img("paketobuildpacks/builder-jammy-base"),
        run_image: BuilderRunImage {
            image: img("paketobuildpacks/run-jammy-base"),
            mirrors: vec![],
            source: RunImageSource::Images,
        },
        lifecycle_version: Some("0.20.1".into()),
        supported_platform_apis: vec![ApiVersion::new(0, 13)],
        deprecated_platform_apis: vec![],
        uid: 1001,
        gid: 1000,
        warnings: vec![],
        has_extensions: false,
    }
}

/// Owned facts, so each test states only what it changes.
pub(crate) struct Facts {
    pub output: ImageRef,
    pub builder: BuilderMetadata,
    pub platform_api: ApiVersion,
    pub run_image: ImageRef,
    pub run_image_fetch: ImageRef,
    pub publish: bool,
    pub log_level: LogLevel,
    pub insecure: Vec<InsecureEntry>,
    pub resolved: HashMap<String, Vec<IpAddr>>,
    pub chosen_mirrors: Vec<(Registry, Mirror)>,
    pub credentials: BTreeMap<Registry, Credential>,
    pub platform_env: BTreeMap<String, String>,
    pub network: Option<String>,
    pub docker_api_version: Option<String>,
    pub run_image_given: bool,
}

impl Facts {
    pub(crate) fn daemon() -> Facts {
        Facts {
            output: img("myapp"),
            builder: builder(),
            platform_api: ApiVersion::new(0, 13),
            run_image: img("paketobuildpacks/run-jammy-base"),
            run_image_fetch: img("paketobuildpacks/run-jammy-base"),
            publish: false,
            log_level: LogLevel::Info,
            insecure: vec![],
            resolved: HashMap::new(),
            chosen_mirrors: vec![],
            credentials: BTreeMap::new(),
            platform_env: BTreeMap::new(),
            network: None,
            docker_api_version: None,
            run_image_given: false,
        }
    }

    pub(crate) fn creator(&self) -> Creator {
        creator_spec(&self.creator_inputs())
    }

    pub(crate) fn creator_inputs(&self) -> CreatorInputs<'_> {
        CreatorInputs {
            output: &self.output,
            builder: &self.builder,
            platform_api: self.platform_api,
            run_image: &self.run_image,
            run_image_fetch: &self.run_image_fetch,
            publish: self.publish,
            log_level: self.log_level,
            insecure: &self.insecure,
            resolved: &self.resolved,
            chosen_mirrors: &self.chosen_mirrors,
            credentials: &self.credentials,
            platform_env: self.platform_env.clone(),
            network: self.network.as_deref(),
            docker_socket: "/var/run/docker.sock",
            docker_api_version: self.docker_api_version.as_deref(),
            run_image_given: self.run_image_given,
            app_dir: Path::new("/src/app"),
        }
    }
}

fn mirror(s: &str) -> Mirror {
    Mirror::parse(s).unwrap()
}

fn insecure(s: &str) -> InsecureEntry {
    InsecureEntry::parse(s).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

#[test]
fn daemon_mode_spec() {
    let mut f = Facts::daemon();
    f.chosen_mirrors = vec![(reg("docker.io"), mirror("mirror.corp.example/hub"))];
    f.credentials.insert(
        reg("docker.io"),
        Credential::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    let c = f.creator();
    assert_eq!(
        c.spec.command,
        strings(&[
            "/cnb/lifecycle/creator",
            "-app",
            "/workspace",
            "-cache-dir",
            "/cache",
            "-run-image",
            "docker.io/paketobuildpacks/run-jammy-base:latest",
            "-log-level",
            "info",
            "-daemon",
            "-launch-cache",
            "/launch-cache",
            "docker.io/library/myapp:latest",
        ])
    );
    assert_eq!(
        c.spec.image,
        "docker.io/paketobuildpacks/builder-jammy-base:latest"
    );
    let env: Vec<_> = c.spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        env,
        strings(&[
            "CNB_PLATFORM_API=0.13",
            "CNB_REGISTRY_MIRRORS=index.docker.io=https://mirror.corp.example/hub",
        ]),
        "no CNB_REGISTRY_AUTH and no CNB_INSECURE_REGISTRIES in daemon mode without insecure hosts"
    );
    assert_eq!(
        c.spec.binds,
        strings(&["/var/run/docker.sock:/var/run/docker.sock"])
    );
    assert_eq!(c.spec.volumes.len(), 2);
    assert_eq!(c.spec.volumes[0].1, "/cache");
    assert!(c.spec.volumes[0].0.starts_with("cnb-cache-library_myapp-"));
    assert!(c.spec.volumes[0].0.ends_with(".build"));
    assert_eq!(c.spec.volumes[1].1, "/launch-cache");
    assert!(c.spec.volumes[1].0.ends_with(".launch"));
    assert_eq!(c.spec.user, "0:0", "root by number, in both modes");
    assert_eq!(c.spec.security_opt, strings(&["label=disable"]));
    assert!(c.spec.files.is_empty());
    assert_eq!(c.spec.network, None);
    assert_eq!(c.network_reason, None);
    assert_eq!(c.spec.app_owner, (1001, 1000));
    assert_eq!(c.spec.app_dir.as_deref(), Some(Path::new("/src/app")));
    assert!(c.warnings.is_empty());
    let keys: Vec<_> = c.registries.iter().map(Registry::key).collect();
    assert_eq!(keys, strings(&["index.docker.io", "mirror.corp.example"]));
    assert_eq!(
        lifecycle_registries(
            &f.output,
            &f.run_image,
            &f.run_image_fetch,
            false,
            &f.chosen_mirrors
        ),
        c.registries
    );
}

fn publish_facts() -> Facts {
    let mut f = Facts::daemon();
    f.publish = true;
    f.output = img("registry.corp.example:5000/team/app:1");
    f.run_image_fetch = img("mirror.corp.example/hub/paketobuildpacks/run-jammy-base");
    f.chosen_mirrors = vec![
        (reg("docker.io"), mirror("mirror.corp.example/hub")),
        (
            reg("registry.corp.example:5000"),
            mirror("http://cache.corp.example:5001"),
        ),
        (reg("mirror.corp.example"), mirror("mirror2.corp.example")),
    ];
    f.insecure = vec![
        insecure("mirror.corp.example"),
        insecure("198.18.0.0/15"),
        insecure("unrelated.example:5000"),
    ];
    f.resolved.insert(
        "registry.corp.example".into(),
        vec!["198.18.4.2".parse().unwrap()],
    );
    f.credentials.insert(
        reg("registry.corp.example:5000"),
        Credential::Basic {
            username: "ci".into(),
            password: "hunter2".into(),
        },
    );
    f.credentials.insert(
        reg("mirror.corp.example"),
        Credential::Token("tok123".into()),
    );
    f.credentials.insert(
        reg("mirror2.corp.example"),
        Credential::Token("tok456".into()),
    );
    f.credentials.insert(
        reg("not-reached.example"),
        Credential::Token("never".into()),
    );
    f
}

#[test]
fn an_http_mirror_the_lifecycle_reaches_is_insecure_for_it() {
    // --publish with the run image read from a plain-HTTP mirror off loopback that no
    // insecure entry names: cnb reached it over HTTP, so must the lifecycle.
    let mut f = Facts::daemon();
    f.publish = true;
    f.output = img("127.0.0.1:5000/team/app:1");
    f.run_image = img("registry.corp.example/run:1");
    f.run_image_fetch = img("198.18.3.2:5000/run:1");
    f.chosen_mirrors = vec![(
        reg("registry.corp.example"),
        mirror("http://198.18.3.2:5000"),
    )];
    let c = f.creator();
    assert_eq!(c.insecure_registries, strings(&["198.18.3.2:5000"]));
    assert_eq!(c.spec.env["CNB_INSECURE_REGISTRIES"], "198.18.3.2:5000");
    assert_eq!(
        c.spec
            .command
            .iter()
            .filter(|a| *a == "-insecure-registry")
            .count(),
        1
    );
    // A TLS mirror is not made insecure by being a mirror.
    f.chosen_mirrors = vec![(reg("registry.corp.example"), mirror("198.18.3.2:5000"))];
    let c = f.creator();
    assert!(
        c.insecure_registries.is_empty(),
        "{:?}",
        c.insecure_registries
    );
    assert!(!c.spec.env.contains_key("CNB_INSECURE_REGISTRIES"));
}

#[test]
fn docker_api_version_only_with_the_socket() {
    let mut f = Facts::daemon();
    f.docker_api_version = Some("1.41".into());
    assert_eq!(f.creator().spec.env["DOCKER_API_VERSION"], "1.41");
    f.publish = true;
    assert!(!f.creator().spec.env.contains_key("DOCKER_API_VERSION"));
    f.publish = false;
    f.docker_api_version = None;
    assert!(!f.creator().spec.env.contains_key("DOCKER_API_VERSION"));
}

#[test]
fn a_given_run_image_is_named_in_run_metadata_the_lifecycle_reads() {
    let mut f = Facts::daemon();
    f.run_image = img("registry.example/other/run:2");
    f.run_image_fetch = f.run_image.clone();
    f.run_image_given = true;
    f.platform_api = ApiVersion::new(0, 12);
    let c = f.creator();
    let at = c
        .spec
        .command
        .iter()
        .position(|a| a == "-run")
        .expect("-run");
    assert_eq!(c.spec.command[at + 1], "/platform/cnb/run.toml");
    assert_eq!(
        c.spec.files["/platform/cnb/run.toml"],
        "[[images]]\nimage = \"registry.example/other/run:2\"\n"
    );
    // Older platform APIs read the run image from stack.toml.
    f.platform_api = ApiVersion::new(0, 11);
    let c = f.creator();
    let at = c
        .spec
        .command
        .iter()
        .position(|a| a == "-stack")
        .expect("-stack");
    assert_eq!(c.spec.command[at + 1], "/platform/cnb/stack.toml");
    assert_eq!(
        c.spec.files["/platform/cnb/stack.toml"],
        "[run-image]\nimage = \"registry.example/other/run:2\"\n"
    );
    assert!(!c.spec.command.iter().any(|a| a == "-run"));
    // The builder's own run metadata names its run image: nothing to write.
    f.run_image_given = false;
    let c = f.creator();
    assert!(c.spec.files.is_empty());
    assert!(!c.spec.command.iter().any(|a| a == "-run" || a == "-stack"));
}

#[test]
fn publish_mode_spec() {
    let f = publish_facts();
    let c = f.creator();
    let keys: Vec<_> = lifecycle_registries(
        &f.output,
        &f.run_image,
        &f.run_image_fetch,
        true,
        &f.chosen_mirrors,
    )
    .iter()
    .map(Registry::key)
    .collect();
    assert_eq!(
        keys,
        strings(&[
            "mirror.corp.example",
            "mirror2.corp.example",
            "registry.corp.example:5000"
        ])
    );
    assert_eq!(
        c.registries.iter().map(Registry::key).collect::<Vec<_>>(),
        keys
    );
    assert_eq!(
        c.spec.command,
        strings(&[
            "/cnb/lifecycle/creator",
            "-app",
            "/workspace",
            "-cache-dir",
            "/cache",
            "-run-image",
            "mirror.corp.example/hub/paketobuildpacks/run-jammy-base:latest",
            "-log-level",
            "info",
            "-insecure-registry",
            "mirror.corp.example",
            "-insecure-registry",
            "registry.corp.example:5000",
            "registry.corp.example:5000/team/app:1",
        ])
    );
    assert_eq!(
        c.spec
            .env
            .get("CNB_INSECURE_REGISTRIES")
            .map(String::as_str),
        Some("mirror.corp.example,registry.corp.example:5000")
    );
    // The run image's name is the mirror itself, so only the mirror's own mirror applies;
    // the output registry never gets one.
    assert_eq!(
        c.spec.env.get("CNB_REGISTRY_MIRRORS").map(String::as_str),
        Some("mirror.corp.example=https://mirror2.corp.example")
    );
    let auth: BTreeMap<String, String> =
        serde_json::from_str(&c.spec.env["CNB_REGISTRY_AUTH"]).unwrap();
    let expected: BTreeMap<String, String> = [
        ("mirror.corp.example", "Bearer tok123"),
        ("mirror2.corp.example", "Bearer tok456"),
        ("registry.corp.example:5000", "Basic Y2k6aHVudGVyMg=="),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(auth, expected);
    assert!(c.spec.binds.is_empty());
    assert_eq!(c.spec.volumes.len(), 1);
    assert_eq!(
        c.spec.user, "0:0",
        "the creator must start as root to chown its volumes"
    );
    assert_eq!(c.spec.security_opt, strings(&["no-new-privileges=true"]));
    assert_eq!(c.spec.network, None);
    assert_eq!(c.warnings.len(), 1);
    assert!(
        c.warnings[0]
            .contains("mirror.corp.example will be recorded in the image's runImage.reference"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn hub_auth_is_keyed_index_docker_io() {
    let mut f = Facts::daemon();
    f.publish = true;
    f.output = img("docker.io/me/app");
    f.credentials
        .insert(reg("registry-1.docker.io"), Credential::Token("t".into()));
    let c = f.creator();
    assert_eq!(
        c.spec.env["CNB_REGISTRY_AUTH"],
        r#"{"index.docker.io":"Bearer t"}"#
    );
    assert!(!c.spec.env.contains_key("CNB_REGISTRY_MIRRORS"));
    assert!(!c.spec.env.contains_key("CNB_INSECURE_REGISTRIES"));
    assert!(c.warnings.is_empty());
}

#[test]
fn insecure_flags_only_from_platform_api_0_13() {
    let mut f = publish_facts();
    f.platform_api = ApiVersion::new(0, 12);
    let c = f.creator();
    assert!(!c.spec.command.iter().any(|a| a == "-insecure-registry"));
    assert_eq!(
        c.spec.env["CNB_INSECURE_REGISTRIES"],
        "mirror.corp.example,registry.corp.example:5000"
    );
    f.platform_api = ApiVersion::new(0, 15);
    let c = f.creator();
    assert_eq!(
        c.spec
            .command
            .iter()
            .filter(|a| *a == "-insecure-registry")
            .count(),
        2
    );
    assert_eq!(
        c.spec.command.last().unwrap(),
        "registry.corp.example:5000/team/app:1"
    );
}

#[test]
fn insecure_hosts_use_the_exact_registry_spelling_with_port() {
    let mut f = Facts::daemon();
    f.output = img("LocalHost:5000/app");
    f.run_image = img("[::1]:5001/run");
    f.run_image_fetch = f.run_image.clone();
    f.insecure = vec![insecure("localhost"), insecure("::1/128")];
    let c = f.creator();
    assert_eq!(
        c.spec.env["CNB_INSECURE_REGISTRIES"],
        "[::1]:5001,localhost:5000"
    );
    assert!(!c.spec.env["CNB_INSECURE_REGISTRIES"].contains(' '));
    assert_eq!(
        c.insecure_registries,
        strings(&["[::1]:5001", "localhost:5000"])
    );
}

#[test]
fn insecure_hosts_are_spelled_as_in_the_references_the_lifecycle_gets() {
    // The lifecycle matches insecure registries as prefixes of the references it is given:
    // image names use the display form (docker.io), mirror URLs the stored form.
    let mut f = Facts::daemon();
    f.insecure = vec![insecure("registry-1.docker.io")];
    let c = f.creator();
    let i = c
        .spec
        .command
        .iter()
        .position(|a| a == "-run-image")
        .unwrap();
    assert!(c.spec.command[i + 1].starts_with("docker.io/"));
    assert_eq!(c.spec.env["CNB_INSECURE_REGISTRIES"], "docker.io");
}

#[test]
fn insecure_variable_is_absent_rather_than_empty() {
    let mut f = Facts::daemon();
    f.insecure = vec![insecure("10.20.0.0/16"), insecure("elsewhere.example")];
    let c = f.creator();
    assert!(!c.spec.env.contains_key("CNB_INSECURE_REGISTRIES"));
    assert!(c.insecure_registries.is_empty());
}

#[test]
fn daemon_mode_names_the_run_image_by_its_original_name() {
    let mut f = Facts::daemon();
    f.run_image_fetch = img("mirror.corp.example/hub/paketobuildpacks/run-jammy-base");
    let c = f.creator();
    let i = c
        .spec
        .command
        .iter()
        .position(|a| a == "-run-image")
        .unwrap();
    assert_eq!(
        c.spec.command[i + 1],
        "docker.io/paketobuildpacks/run-jammy-base:latest"
    );
    assert!(c.warnings.is_empty());
}

#[test]
fn daemon_mode_keeps_a_mirror_for_the_output_registry_but_publish_drops_it() {
    let mut f = Facts::daemon();
    f.output = img("quay.io/me/app");
    f.run_image = img("quay.io/org/run");
    f.run_image_fetch = f.run_image.clone();
    f.chosen_mirrors = vec![(reg("quay.io"), mirror("http://q.corp.example:5000/quay"))];
    let c = f.creator();
    assert_eq!(
        c.spec.env["CNB_REGISTRY_MIRRORS"],
        "quay.io=http://q.corp.example:5000/quay"
    );
    f.publish = true;
    let c = f.creator();
    assert!(!c.spec.env.contains_key("CNB_REGISTRY_MIRRORS"));
}

#[test]
fn mirrors_are_one_per_registry_sorted_and_separated_by_semicolons() {
    let mut f = Facts::daemon();
    f.output = img("quay.io/me/app");
    f.chosen_mirrors = vec![
        (reg("quay.io"), mirror("q1.corp.example")),
        (reg("quay.io"), mirror("q2.corp.example")),
        (
            reg("index.docker.io"),
            mirror("http://hub.corp.example:5000"),
        ),
        (reg("gcr.io"), mirror("g.corp.example")),
    ];
    let c = f.creator();
    assert_eq!(
        c.spec.env["CNB_REGISTRY_MIRRORS"],
        "index.docker.io=http://hub.corp.example:5000;quay.io=https://q1.corp.example"
    );
}

#[test]
fn network_flag_wins_else_host_for_loopback() {
    let mut f = Facts::daemon();
    f.run_image = img("localhost:5000/run");
    f.run_image_fetch = f.run_image.clone();
    let c = f.creator();
    assert_eq!(c.spec.network.as_deref(), Some("host"));
    assert_eq!(
        c.network_reason.as_deref(),
        Some("the lifecycle must reach localhost:5000, which is on loopback")
    );
    f.network = Some("bridge".into());
    let c = f.creator();
    assert_eq!(c.spec.network.as_deref(), Some("bridge"));
    assert_eq!(c.network_reason, None);

    // A host name that resolves to loopback counts too.
    let mut f = Facts::daemon();
    f.output = img("registry.test:5000/app");
    f.resolved
        .insert("registry.test".into(), vec!["127.0.0.1".parse().unwrap()]);
    assert_eq!(f.creator().spec.network.as_deref(), Some("host"));
    // ... and so does a mirror the lifecycle will use.
    let mut f = Facts::daemon();
    f.chosen_mirrors = vec![(reg("docker.io"), mirror("http://127.0.0.1:5000"))];
    let c = f.creator();
    assert_eq!(c.spec.network.as_deref(), Some("host"));
    assert!(c.network_reason.unwrap().contains("127.0.0.1:5000"));
}

#[test]
fn log_level_follows_verbosity() {
    assert_eq!(LogLevel::from_verbosity(0, false), LogLevel::Info);
    assert_eq!(LogLevel::from_verbosity(1, false), LogLevel::Debug);
    assert_eq!(LogLevel::from_verbosity(3, false), LogLevel::Debug);
    assert_eq!(LogLevel::from_verbosity(0, true), LogLevel::Warn);
    let mut f = Facts::daemon();
    f.log_level = LogLevel::Warn;
    let cmd = f.creator().spec.command;
    let i = cmd.iter().position(|a| a == "-log-level").unwrap();
    assert_eq!(cmd[i + 1], "warn");
}

#[test]
fn user_env_parsing() {
    let lookup = |k: &str| (k == "FROM_ENV").then(|| "inherited".to_string());
    let env = parse_user_env(
        &strings(&["A=1", "B=x=y", "EMPTY=", "FROM_ENV", "A=2", "_x9=ok"]),
        lookup,
    )
    .unwrap();
    let got: Vec<_> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        got,
        strings(&["A=2", "B=x=y", "EMPTY=", "FROM_ENV=inherited", "_x9=ok"])
    );

    for bad in ["=v", "1A=v", "A-B=v", "A B=v", "../x=v", "", "A/B"] {
        let err = parse_user_env(&strings(&[bad]), lookup)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("invalid --env name"), "{bad}: {err}");
    }
    let err = parse_user_env(&strings(&["MISSING"]), lookup)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "--env MISSING takes its value from the environment, but MISSING is not set; pass --env MISSING=VALUE"
    );
}

#[test]
fn user_env_goes_to_platform_env_not_container_env() {
    let mut f = Facts::daemon();
    f.platform_env = parse_user_env(&strings(&["BP_JVM_VERSION=17"]), |_| None).unwrap();
    let c = f.creator();
    assert_eq!(c.spec.platform_env["BP_JVM_VERSION"], "17");
    assert!(!c.spec.env.contains_key("BP_JVM_VERSION"));
}

#[test]
fn cache_volume_names_are_stable_per_normalised_name() {
    let a = cache_volume_name(&img("myapp"), "build");
    assert_eq!(
        a,
        cache_volume_name(&img("docker.io/library/myapp:latest"), "build")
    );
    assert_ne!(a, cache_volume_name(&img("myapp:2"), "build"));
    assert_ne!(
        a,
        cache_volume_name(&img("other.example/library/myapp"), "build")
    );
    assert_ne!(a, cache_volume_name(&img("myapp"), "launch"));
    assert!(a.starts_with("cnb-cache-library_myapp-"), "{a}");
    let hash = a
        .trim_start_matches("cnb-cache-library_myapp-")
        .trim_end_matches(".build");
    assert_eq!(hash.len(), 12);
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    // Docker's volume-name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*
    let long = cache_volume_name(&img("reg:5000/a/b_c/d.e/f-g"), "launch");
    assert!(
        long.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)),
        "{long}"
    );
    assert!(long.starts_with("cnb-cache-a_b_c_d.e_f-g-"), "{long}");
}
