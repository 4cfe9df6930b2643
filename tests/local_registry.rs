//! Local cluster registries (SPEC §10, KEP-1755) against a real Kubernetes API server on
//! loopback (tests/support/cluster.rs): the ConfigMap written through the API, kubeconfigs
//! with client certificates, bearer tokens and exec plugins, `cnb local-registry`, and
//! `cnb build --local-registry` publishing with the real lifecycle into the registry the
//! ConfigMap names. See docs/local-registry.md.

mod support;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use support::*;

const KEY_V1: &str = "localRegistryHosting.v1";
const KEY_V2: &str = "localRegistryHosting.v2";

/// A test home whose `~/.kube/config` (or `KUBECONFIG`) leads to test clusters.
struct Kube {
    home: TestHome,
    /// `KUBECONFIG` for cnb; `None` leaves it unset (so `~/.kube/config` is read).
    kubeconfig_env: Option<OsString>,
}

impl Kube {
    fn new() -> Kube {
        Kube {
            home: TestHome::new(),
            kubeconfig_env: None,
        }
    }

    /// A new home whose `~/.kube/config` has one context, `name`, for `cluster`,
    /// authenticating with the cluster's client certificate; it is the current one.
    fn with_context(name: &str, cluster: &TestCluster) -> Kube {
        let kube = Kube::new();
        kube.write_context(name, cluster);
        kube
    }

    /// Writes `~/.kube/config` as [`Kube::with_context`] does.
    fn write_context(&self, name: &str, cluster: &TestCluster) {
        Kubeconfig::new()
            .context(
                name,
                cluster,
                KubeUser::ClientCert(cluster.client_cert().clone()),
            )
            .current(name)
            .write(&self.default_kubeconfig());
    }

    /// `~/.kube/config` in the test home.
    fn default_kubeconfig(&self) -> PathBuf {
        self.home.path().join(".kube").join("config")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = cnb_cmd(&self.home);
        if let Some(env) = &self.kubeconfig_env {
            cmd.env("KUBECONFIG", env);
        }
        cmd.args(args);
        run_with_timeout(&mut cmd, Duration::from_secs(300))
            .unwrap_or_else(|e| panic!("cannot run cnb: {e}"))
    }

    /// `cnb local-registry --output json <extra>`, which must succeed.
    #[track_caller]
    fn report(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["local-registry", "--output", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        out.assert_success();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout))
    }

    /// `cnb local-registry <extra>`, which must fail with status 1 and one error line.
    #[track_caller]
    fn error(&self, extra: &[&str]) -> String {
        let mut args = vec!["local-registry"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_eq!(out.code(), 1, "{}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        one_error_line(&out.stderr)
    }
}

/// The single `error:` line of stderr (and that there is exactly one line in all).
#[track_caller]
fn one_error_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "{line}");
    line.to_string()
}

/// A started test cluster, or `None` when the test world is missing (skip outside CI).
fn cluster() -> Option<TestCluster> {
    TestCluster::start()
}

// ------------------------------------------------------------------ discovery

#[test]
fn v1_only_is_found_through_a_client_certificate_context() {
    let Some(cluster) = cluster() else {
        return;
    };
    cluster.set_local_registry_hosting(&[(
        KEY_V1,
        "host: \"localhost:5001\"\n\
         hostFromContainerRuntime: \"kind-registry:5000\"\n\
         hostFromClusterNetwork: \"kind-registry.local:5000\"\n\
         help: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
    )]);
    let kube = Kube::with_context("kind-dev", &cluster);

    let report = kube.report(&[]);
    assert_eq!(report["host"], "localhost:5001");
    assert_eq!(report["host_from_container_runtime"], "kind-registry:5000");
    assert_eq!(
        report["host_from_cluster_network"],
        "kind-registry.local:5000"
    );
    assert_eq!(report["pod_host"], "kind-registry:5000");
    assert_eq!(
        report["help"],
        "https://kind.sigs.k8s.io/docs/user/local-registry/"
    );
    let source = &report["source"];
    assert_eq!(source["type"], "cluster");
    assert_eq!(source["kube_context"], "kind-dev");
    assert_eq!(source["server"], cluster.server().as_str());
    assert_eq!(source["kubeconfig_from"], "~/.kube/config");
    assert_eq!(
        source["kubeconfig"],
        serde_json::json!([kube.default_kubeconfig().display().to_string()])
    );
    assert_eq!(source["config_map"], "kube-public/local-registry-hosting");
    assert_eq!(source["key"], KEY_V1);
    assert_eq!(source["ignored_keys"], serde_json::json!([]));

    let out = kube.run(&["local-registry"]);
    out.assert_success();
    let text = &out.stdout;
    for line in [
        "host:                     localhost:5001",
        "hostFromContainerRuntime: kind-registry:5000",
        "hostFromClusterNetwork:   kind-registry.local:5000",
        "help:                     https://kind.sigs.k8s.io/docs/user/local-registry/",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "source:                   ConfigMap kube-public/local-registry-hosting ({KEY_V1}) of kube context 'kind-dev' ({})",
            cluster.server()
        )),
        "{text}"
    );
}

#[test]
fn v1_is_read_when_a_newer_unknown_v2_is_there_with_a_bearer_token_and_a_kubeconfig_list() {
    let Some(cluster) = cluster() else {
        return;
    };
    cluster.set_local_registry_hosting(&[
        (KEY_V1, "host: 127.0.0.1:5002\n"),
        // A future version may rename every field; cnb must not read it as v1.
        (
            KEY_V2,
            "pushTo: {address: 127.0.0.1:6000}\nhelp: https://example.test/v2\n",
        ),
        ("unrelated", "kept by the cluster tool, ignored by cnb"),
    ]);
    let mut kube = Kube::new();
    let dir = kube.home.mkdir("kubeconfigs");
    let first = dir.join("current-only");
    std::fs::write(&first, "current-context: token-ctx\n").unwrap();
    let second = Kubeconfig::new()
        .context(
            "token-ctx",
            &cluster,
            KubeUser::Token(cluster.token().to_string()),
        )
        .write(&dir.join("contexts"));
    // The list form: a missing file is skipped, the first to set current-context wins.
    kube.kubeconfig_env =
        Some(std::env::join_paths([dir.join("missing"), first.clone(), second.clone()]).unwrap());
    let report = kube.report(&[]);
    assert_eq!(report["host"], "127.0.0.1:5002");
    assert_eq!(report["pod_host"], "127.0.0.1:5002");
    assert_eq!(report["help"], serde_json::Value::Null);
    assert_eq!(report["source"]["key"], KEY_V1);
    assert_eq!(
        report["source"]["ignored_keys"],
        serde_json::json!([KEY_V2])
    );
    assert_eq!(report["source"]["kubeconfig_from"], "KUBECONFIG");
    assert_eq!(
        report["source"]["kubeconfig"],
        serde_json::json!([first.display().to_string(), second.display().to_string()])
    );
    let out = kube.run(&["local-registry"]);
    out.assert_success();
    assert!(
        out.stdout.contains(&format!(
            "ignored:                  {KEY_V2} (this cnb reads {KEY_V1})"
        )),
        "{}",
        out.stdout
    );

    // The API server checks the token: a wrong one is refused, and cnb says by whom.
    Kubeconfig::new()
        .context("token-ctx", &cluster, KubeUser::Token("not-a-token".into()))
        .write(&second);
    let line = kube.error(&[]);
    assert!(line.contains("refused"), "{line}");
    assert!(line.contains("HTTP 401"), "{line}");
    assert!(line.contains("kube context 'token-ctx'"), "{line}");
}

#[test]
fn missing_fields_take_the_keps_defaults_with_an_exec_plugin() {
    let Some(cluster) = cluster() else {
        return;
    };
    let kube = Kube::new();
    let plugin = kube.home.path().join("bin").join("cluster-login");
    std::fs::create_dir_all(plugin.parent().unwrap()).unwrap();
    let calls = write_exec_plugin(&plugin, cluster.token());
    Kubeconfig::new()
        .context("exec-ctx", &cluster, KubeUser::Exec(plugin))
        .current("exec-ctx")
        .write(&kube.default_kubeconfig());

    // Only `host`: pods use it too, and tools in the cluster cannot reach it.
    cluster.set_local_registry_hosting(&[(KEY_V1, "host: localhost:5003\n")]);
    let report = kube.report(&[]);
    assert!(
        std::fs::read_to_string(&calls).is_ok_and(|c| c.contains("called")),
        "the exec plugin was not run"
    );
    assert_eq!(report["host"], "localhost:5003");
    assert_eq!(
        report["host_from_container_runtime"],
        serde_json::Value::Null
    );
    assert_eq!(report["host_from_cluster_network"], serde_json::Value::Null);
    assert_eq!(report["help"], serde_json::Value::Null);
    assert_eq!(report["pod_host"], "localhost:5003");
    let out = kube.run(&["local-registry"]);
    out.assert_success();
    assert!(
        out.stdout
            .contains("hostFromContainerRuntime: (not set: pod specs use host)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "hostFromClusterNetwork:   (not set: tools in the cluster cannot push to it)"
        ),
        "{}",
        out.stdout
    );

    // An empty entry declares nothing; only `help` tells how to set a registry up.
    cluster.set_local_registry_hosting(&[(KEY_V1, "")]);
    let line = kube.error(&[]);
    assert!(
        line.contains("declares no host for tools outside the cluster, so cnb has nowhere to push"),
        "{line}"
    );
    cluster.set_local_registry_hosting(&[(KEY_V1, "help: https://example.test/setup\n")]);
    let line = kube.error(&[]);
    assert!(
        line.ends_with("; help: https://example.test/setup"),
        "{line}"
    );
    // Only the in-cluster host: nothing cnb (outside) can push to, and it says what is there.
    cluster.set_local_registry_hosting(&[(
        KEY_V1,
        "hostFromClusterNetwork: registry.svc:5000\nhelp: https://example.test/setup\n",
    )]);
    let line = kube.error(&[]);
    assert!(
        line.contains("(only hostFromClusterNetwork 'registry.svc:5000')"),
        "{line}"
    );
    assert!(
        line.ends_with("; help: https://example.test/setup"),
        "{line}"
    );
}

#[test]
fn an_unknown_version_only_no_config_map_and_no_kubeconfig_are_one_line_errors() {
    let Some(cluster) = cluster() else {
        return;
    };
    let kube = Kube::new();

    // No kubeconfig at all: no cluster to ask.
    let line = kube.error(&[]);
    assert!(
        line.contains(&format!(
            "no kubeconfig at {} (KUBECONFIG is not set)",
            kube.default_kubeconfig().display()
        )),
        "{line}"
    );
    assert!(
        line.contains("set `local-registry = \"host:port\"`"),
        "{line}"
    );

    kube.write_context("dev", &cluster);
    let line = kube.error(&[]);
    assert!(
        line.contains(&format!(
            "kube context 'dev' ({}) has no ConfigMap kube-public/local-registry-hosting",
            cluster.server()
        )),
        "{line}"
    );

    cluster.set_local_registry_hosting(&[(
        KEY_V2,
        "host: localhost:5000\nhelp: https://example.test/v2-only\n",
    )]);
    let line = kube.error(&[]);
    assert!(
        line.contains(&format!(
            "has only {KEY_V2}, which this cnb does not understand (it reads {KEY_V1})"
        )),
        "{line}"
    );
    assert!(
        line.ends_with("; help: https://example.test/v2-only"),
        "{line}"
    );

    // A v1 entry that is not YAML names the key.
    cluster.set_local_registry_hosting(&[(KEY_V1, "host: [unclosed\n")]);
    let line = kube.error(&[]);
    assert!(
        line.contains(&format!("{KEY_V1} that is not valid YAML: line 1")),
        "{line}"
    );
}

#[test]
fn an_api_server_that_is_down_is_named_in_the_error() {
    let Some(mut cluster) = cluster() else {
        return;
    };
    cluster.set_local_registry_hosting(&[(KEY_V1, "host: localhost:5000\n")]);
    let kube = Kube::with_context("dev", &cluster);
    assert_eq!(kube.report(&[])["host"], "localhost:5000");

    cluster.stop_apiserver();
    let line = kube.error(&[]);
    assert!(
        line.contains(&format!(
            "cannot reach the API server of kube context 'dev' ({})",
            cluster.server()
        )),
        "{line}"
    );
    assert!(line.to_lowercase().contains("connection refused"), "{line}");
    assert!(line.contains("start the cluster"), "{line}");
}

#[test]
fn two_contexts_and_kube_context_picks_one() {
    let Some(first) = cluster() else {
        return;
    };
    let Some(second) = cluster() else {
        return;
    };
    first.set_local_registry_hosting(&[(KEY_V1, "host: localhost:5101\n")]);
    second.set_local_registry_hosting(&[(KEY_V1, "host: localhost:5102\n")]);
    let kube = Kube::new();
    Kubeconfig::new()
        .context(
            "one",
            &first,
            KubeUser::ClientCert(first.client_cert().clone()),
        )
        .context("two", &second, KubeUser::Token(second.token().to_string()))
        .current("one")
        .write(&kube.default_kubeconfig());

    assert_eq!(kube.report(&[])["host"], "localhost:5101");
    let report = kube.report(&["--kube-context", "two"]);
    assert_eq!(report["host"], "localhost:5102");
    assert_eq!(report["source"]["kube_context"], "two");
    assert_eq!(report["source"]["server"], second.server().as_str());

    // A context that is not there is a usage error listing the ones that are.
    let out = kube.run(&["local-registry", "--kube-context", "three"]);
    assert_eq!(out.code(), 2, "{}", out.stderr);
    let line = one_error_line(&out.stderr);
    assert!(
        line.contains("kube context 'three' (from --kube-context) is not in"),
        "{line}"
    );
    assert!(line.contains("one, two"), "{line}");
}

#[test]
fn the_config_key_wins_over_discovery_and_needs_no_cluster() {
    let kube = Kube::new();
    let config = kube
        .home
        .write_config("# the registry of my dev setup\nlocal-registry = \"localhost:5200\"\n");
    // No kubeconfig at all: the key alone is enough.
    let report = kube.report(&[]);
    assert_eq!(report["host"], "localhost:5200");
    assert_eq!(report["pod_host"], "localhost:5200");
    assert_eq!(report["host_from_cluster_network"], serde_json::Value::Null);
    assert_eq!(report["source"]["type"], "config");
    assert_eq!(report["source"]["key"], "local-registry");
    assert_eq!(report["source"]["path"], config.display().to_string());

    let Some(cluster) = cluster() else {
        return;
    };
    cluster.set_local_registry_hosting(&[(KEY_V1, "host: localhost:5201\n")]);
    kube.write_context("dev", &cluster);
    assert_eq!(kube.report(&[])["host"], "localhost:5200");
    let out = kube.run(&["local-registry", "--kube-context", "dev"]);
    out.assert_success();
    assert!(
        out.stdout
            .contains("host:                     localhost:5200"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("--kube-context is not used: local-registry in"),
        "{}",
        out.stderr
    );
    // Without the key, discovery answers.
    kube.home.write_config("");
    assert_eq!(kube.report(&[])["host"], "localhost:5201");
}

// ------------------------------------------------------------------ cnb build --local-registry

/// A builder and its run image on an "origin" registry, an app, and a test home whose
/// current kube context (`dev`, a client certificate) leads to the cluster.
struct Builds {
    kube: Kube,
    builder: String,
    app: PathBuf,
    /// Unique per test: the app's repository is `<id>-app`.
    id: String,
    _stand_in: Option<PublishedBuilder>,
    _sweeper: DockerSweeper,
    _origin: TestRegistry,
}

impl Builds {
    /// With the stand-in builder (fast; it reports, it builds nothing).
    fn stand_in(cluster: &TestCluster) -> Builds {
        let origin = TestRegistry::start(RegistryOptions::plain());
        let published = PublishedBuilder::publish_default(&origin);
        let builder = published.builder.clone();
        Builds::with(cluster, origin, builder, Some(published))
    }

    /// With a real builder (the pinned lifecycle, made by pack); `None` when the test
    /// world cannot be had outside CI.
    fn real(cluster: &TestCluster) -> Option<Builds> {
        let origin = TestRegistry::start(RegistryOptions::plain());
        let id = unique_name("local");
        let run = origin.image(&format!("cnbtest/{id}-run"), "latest");
        let made = RealBuilder::create(RealBuilderOptions::new(&run))?;
        push_image_to(made.run.tag(), &origin, &format!("cnbtest/{id}-run:latest"));
        push_image_to(made.tag(), &origin, &format!("cnbtest/{id}-builder:latest"));
        let builder = origin.image(&format!("cnbtest/{id}-builder"), "latest");
        Some(Builds::with(cluster, origin, builder, None))
    }

    fn with(
        cluster: &TestCluster,
        origin: TestRegistry,
        builder: String,
        stand_in: Option<PublishedBuilder>,
    ) -> Builds {
        let kube = Kube::with_context("dev", cluster);
        let app = kube
            .home
            .write_app("app", &[("message", "hi from the test\n")]);
        let id = unique_name("local");
        Builds {
            _sweeper: DockerSweeper::new()
                .registry(&origin)
                .volumes(&format!("{id}-app")),
            kube,
            builder,
            app,
            id,
            _stand_in: stand_in,
            _origin: origin,
        }
    }

    /// `cnb build <image> -B <builder> -p <app> --trust-builder --local-registry <extra>`.
    fn build(&self, image: &str, extra: &[&str]) -> Output {
        let app = self.app.display().to_string();
        let mut args = vec![
            "build",
            image,
            "-B",
            &self.builder,
            "-p",
            &app,
            "--trust-builder",
            "--local-registry",
        ];
        args.extend_from_slice(extra);
        self.kube.run(&args)
    }
}

/// The plan `--dry-run --output json` printed.
#[track_caller]
fn plan_of(out: &Output) -> serde_json::Value {
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout))
}

#[test]
fn dry_run_json_has_the_references_and_a_given_registry_is_replaced() {
    if !docker_available() {
        return;
    }
    let Some(cluster) = cluster() else {
        return;
    };
    let local = TestRegistry::start(RegistryOptions::plain());
    cluster.set_local_registry_hosting(&[
        (
            KEY_V1,
            &format!(
                "host: {}\nhostFromContainerRuntime: kind-registry:5000\n\
                 hostFromClusterNetwork: registry.kube-system.svc:5000\n",
                local.host()
            ),
        ),
        (KEY_V2, "host2: {}\n"),
    ]);
    let builds = Builds::stand_in(&cluster);
    let id = &builds.id;
    let image = format!("quay.io/team/{id}-app:v1");
    let out = builds.build(&image, &["--dry-run", "--output", "json"]);
    let plan = plan_of(&out);
    let published = format!("{}/team/{id}-app:v1", local.host());
    assert_eq!(plan["image"], published.as_str());
    let local_plan = &plan["local_registry"];
    assert_eq!(local_plan["image"], published.as_str());
    assert_eq!(
        local_plan["pod_image"],
        format!("kind-registry:5000/team/{id}-app:v1").as_str()
    );
    assert_eq!(
        local_plan["cluster_image"],
        format!("registry.kube-system.svc:5000/team/{id}-app:v1").as_str()
    );
    assert_eq!(local_plan["replaced_registry"], "quay.io");
    assert_eq!(
        local_plan["registry"]["source"]["ignored_keys"],
        serde_json::json!([KEY_V2])
    );
    // The normal publish path: the lifecycle exports to the local registry.
    let command = &plan["lifecycle"]["command"];
    let last = command.as_array().and_then(|c| c.last());
    assert_eq!(last, Some(&serde_json::Value::from(published)), "{command}");
    assert!(!command.to_string().contains("\"-daemon\""), "{command}");
    assert!(
        out.stderr.contains(&format!(
            "{image} names the registry quay.io; --local-registry publishes it to {} instead",
            local.host()
        )),
        "{}",
        out.stderr
    );

    // The text plan shows the same.
    let out = builds.build(&format!("{id}-app"), &["--dry-run"]);
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "  pod specs:    kind-registry:5000/{id}-app:latest"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn a_plain_http_registry_off_loopback_needs_an_insecure_entry() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let Some(cluster) = cluster() else {
        return;
    };
    let local = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let host = local.host();
    cluster.set_local_registry_hosting(&[(
        KEY_V1,
        &format!("host: {host}\nhelp: https://example.test/registry-help\n"),
    )]);
    let builds = Builds::stand_in(&cluster);
    let image = format!("{}-app", builds.id);
    let out = builds.build(&image, &["--dry-run", "--output", "json"]);
    assert_eq!(out.code(), 1, "{}\n{}", out.stdout, out.stderr);
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line:\n{}", out.stderr));
    for part in [
        format!("cannot publish to the local registry {host}"),
        format!("cnb config insecure-registries add {host}"),
    ] {
        assert!(error.contains(&part), "{part:?} in {error}");
    }
    assert!(
        error.ends_with("; help: https://example.test/registry-help"),
        "{error}"
    );

    let plan = plan_of(&builds.build(
        &image,
        &[
            "--dry-run",
            "--output",
            "json",
            "--insecure-registry",
            &host,
        ],
    ));
    assert_eq!(plan["image"], format!("{host}/{image}:latest").as_str());
    let insecure = plan["lifecycle"]["env"]["CNB_INSECURE_REGISTRIES"]
        .as_str()
        .unwrap_or_default();
    assert!(insecure.split(',').any(|h| h == host), "{insecure}");
}

#[test]
fn a_failed_build_shows_the_clusters_help_and_keeps_the_lifecycles_status() {
    if !docker_available() {
        return;
    }
    let Some(cluster) = cluster() else {
        return;
    };
    let local = TestRegistry::start(RegistryOptions::plain());
    cluster.set_local_registry_hosting(&[(
        KEY_V1,
        &format!(
            "host: {}\nhelp: https://example.test/registry-help\n",
            local.host()
        ),
    )]);
    let builds = Builds::stand_in(&cluster);
    // The stand-in creator exits with the status the app asks for.
    std::fs::write(builds.app.join("cnb-test-exit"), "3").unwrap();
    let out = builds.build(&format!("{}-app", builds.id), &[]);
    assert_eq!(out.code(), 3, "{}\n{}", out.stdout, out.stderr);
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line:\n{}", out.stderr));
    assert!(
        error.contains(&format!(
            "building for the local registry {} failed (if the push failed, see the cluster's help: https://example.test/registry-help)",
            local.host()
        )),
        "{error}"
    );
    assert!(
        error.ends_with("the lifecycle failed with exit status 3"),
        "{error}"
    );
    assert!(
        !out.stdout.contains("image for pod specs"),
        "{}",
        out.stdout
    );
}

#[test]
fn build_publishes_with_the_real_lifecycle_and_the_image_pulls_from_host() {
    if !docker_available() {
        return;
    }
    let Some(cluster) = cluster() else {
        return;
    };
    // The cluster's registry is named only by the ConfigMap; the builder is elsewhere.
    let local = TestRegistry::start(RegistryOptions::plain());
    cluster.set_local_registry_hosting(&[(
        KEY_V1,
        &format!(
            "host: \"{}\"\nhostFromContainerRuntime: \"kind-registry:5000\"\n\
             hostFromClusterNetwork: \"kind-registry.local:5000\"\n",
            local.host()
        ),
    )]);
    let Some(builds) = Builds::real(&cluster) else {
        return;
    };
    let id = &builds.id;
    let published = local.image(&format!("{id}-app"), "latest");
    let _images = DaemonImages(vec![builds.builder.clone(), published.clone()]);
    let _pulled = DockerSweeper::new().registry(&local);

    let out = builds.build(&format!("{id}-app"), &[]);
    assert!(
        out.success(),
        "cnb build failed ({}):\n{}\n{}",
        out.code(),
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "Published {published} to the local registry (ConfigMap kube-public/local-registry-hosting ({KEY_V1}) of kube context 'dev'"
        )),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    for reference in [
        format!("image for pod specs: kind-registry:5000/{id}-app:latest"),
        format!("image for in-cluster tools: kind-registry.local:5000/{id}-app:latest"),
    ] {
        assert!(
            lines.contains(&reference.as_str()),
            "{reference:?} in:\n{}",
            out.stdout
        );
    }
    assert!(
        !in_daemon(&published),
        "--local-registry publishes, it does not write to the daemon"
    );

    // The image is in the cluster's registry, under `host`, and runs.
    must_run(
        "docker",
        ["pull", "-q", &published],
        Duration::from_secs(120),
    );
    let ran = docker_run(&["--pull", "never", &published]);
    assert!(ran.success(), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("hello from the app: hi from the test"),
        "{}",
        ran.stdout
    );
}
