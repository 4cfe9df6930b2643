//! Behind a corporate network (SPEC §9), with the real lifecycle: registries with their
//! own CA off loopback (a network namespace the daemon does not trust), a real HTTP
//! proxy (tinyproxy) in front of them, bindings through `--volume`, and the app's
//! `project.toml` and `--env-file`. See docs/corporate-network.md.

mod support;

use std::time::Duration;

use support::*;

const LIMIT: Duration = Duration::from_secs(300);

/// `cnb <args>` in `home` with extra environment variables.
fn cnb_with_env(home: &TestHome, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = cnb_cmd(home);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(&mut cmd, LIMIT).unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(ToString::to_string).collect()
}

/// The app image's `/workspace`, listed by the run image's busybox.
fn workspace_of(image: &str) -> String {
    let out = docker_run(&[
        "--pull",
        "never",
        "--entrypoint",
        "/bin/ls",
        image,
        "-a",
        "/workspace",
    ]);
    assert!(out.success(), "{}", out.stderr);
    out.stdout
}

#[test]
fn resolve_verifies_an_off_loopback_registry_with_its_ca_and_says_how_without_it() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let registry = TestRegistry::start_in_netns(&netns, RegistryOptions::plain().tls());
    let other = TestRegistry::start(RegistryOptions::plain().tls());
    push_test_image(&registry, "team/app", "1");
    let home = TestHome::new();
    let host = registry.host();
    let image = registry.image("team/app", "1");
    let ca = registry.cert_path().unwrap().display().to_string();

    // Without the CA: the host, the reason and both fixes.
    let out = run_cnb(&home, ["resolve", &image]);
    assert!(!out.success());
    assert!(out.stderr.contains(&host), "{}", out.stderr);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("cnb config registry-ca add {host} <PEM-FILE>")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("cnb config insecure-registries add {host}")),
        "{}",
        out.stderr
    );

    // For one run.
    let out = run_cnb(
        &home,
        ["resolve", &image, "--registry-ca", &format!("{host}={ca}")],
    );
    out.assert_success();
    assert!(out.stdout.contains("chosen"), "{}", out.stdout);

    // A CA that did not sign it: the file is named.
    let wrong = other.cert_path().unwrap().display().to_string();
    let out = run_cnb(
        &home,
        [
            "resolve",
            &image,
            "--registry-ca",
            &format!("{host}={wrong}"),
        ],
    );
    assert!(!out.success());
    assert!(
        out.stderr
            .contains(&format!("the CA file {wrong}, which did not sign it")),
        "{}",
        out.stderr
    );

    // In the config: a host entry covers its ports; list shows it, remove drops it.
    run_cnb(
        &home,
        ["config", "registry-ca", "add", &netns.ip().to_string(), &ca],
    )
    .assert_success();
    let out = run_cnb(&home, ["config", "registry-ca", "list", "--output", "json"]);
    out.assert_success();
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list[0]["registry"], netns.ip().to_string());
    assert_eq!(list[0]["file"], ca);
    assert!(home.read_config().unwrap().contains("[registry-ca]"));
    run_cnb(&home, ["resolve", &image]).assert_success();
    run_cnb(
        &home,
        ["config", "registry-ca", "remove", &netns.ip().to_string()],
    )
    .assert_success();
    assert!(!run_cnb(&home, ["resolve", &image]).success());

    // A file that is not a CA is refused when it is added.
    let not_pem = home.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let out = run_cnb(
        &home,
        [
            "config",
            "registry-ca",
            "add",
            &host,
            not_pem.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code(), 2, "{}", out.stderr);
    assert!(out.stderr.contains("no PEM certificate"), "{}", out.stderr);
}

#[test]
fn a_daemon_build_from_a_registry_the_daemon_does_not_trust_loads_through_cnb() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let registry = TestRegistry::start_in_netns(&netns, RegistryOptions::plain().tls());
    let ca = registry.cert_path().unwrap().to_path_buf();
    let Some(world) = RealWorld::on(registry, RealBuilderOptions::new("")) else {
        return;
    };
    let host = world.registry.host();
    let _loaded = DaemonImages(vec![world.builder.clone(), world.run_image.clone()]);
    let args = world.build_args(&["--network", "host"]);

    let refused = run_cnb(&world.home, &args);
    assert!(!refused.success(), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("cnb config registry-ca add {host} <PEM-FILE>")),
        "{}",
        refused.stderr
    );

    run_cnb(
        &world.home,
        ["config", "registry-ca", "add", &host, ca.to_str().unwrap()],
    )
    .assert_success();
    let out = run_cnb(&world.home, &args);
    assert_built(&out);
    assert!(
        out.stderr.contains(&format!(
            "The Docker daemon refused the certificate of {host}"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("cnb verifies it with the registry CA configured for it"),
        "{}",
        out.stderr
    );
    assert!(run_app(&world.image).contains("hello from the app: hi from the test"));
}

/// A run image on a loopback registry whose CA only the builder's own bundle has, and an
/// output registry off loopback whose CA only `--registry-ca` gives: the lifecycle needs
/// both, so it must have kept the builder's roots and added the CA.
#[test]
fn publish_to_a_private_ca_registry_keeps_the_builders_own_roots() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let target = TestRegistry::start_in_netns(&netns, RegistryOptions::plain().tls());
    let origin = TestRegistry::start(RegistryOptions::plain().tls());
    let origin_ca = origin.cert_path().unwrap().to_path_buf();
    let options = RealBuilderOptions::new("").build_image_ca(&origin_ca);
    let Some(world) = RealWorld::on(origin, options) else {
        return;
    };
    let target_ca = target.cert_path().unwrap().display().to_string();
    let image = target.image(&format!("cnbtest/{}-app", world.id), "1");
    let mut args = world.build_args(&["--publish", "--network", "host"]);
    args[1] = image.clone();
    // cnb itself trusts the origin through its system roots, as a corporate laptop would.
    let env = [("SSL_CERT_FILE", origin_ca.to_str().unwrap())];

    let refused = cnb_with_env(&world.home, &args, &env);
    assert!(!refused.success(), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!(
            "cannot publish {image}: {}: TLS failure",
            target.host()
        )),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(&format!(
            "cnb config registry-ca add {} <PEM-FILE>",
            target.host()
        )),
        "{}",
        refused.stderr
    );

    let mut with_ca = args.clone();
    with_ca.extend(strings(&[
        "--registry-ca",
        &format!("{}={target_ca}", target.host()),
        "-vv",
    ]));
    let out = cnb_with_env(&world.home, &with_ca, &env);
    assert_built(&out);
    assert!(
        out.stderr.contains(
            "SSL_CERT_DIR\": \"/etc/ssl/certs:/etc/pki/tls/certs:/platform/cnb/registry-ca"
        ),
        "{}",
        out.stderr
    );
    let _trust = target.trust_in_docker();
    docker_pull(&image);
    let _app = DaemonImages(vec![image.clone()]);
    assert!(run_app(&image).contains("hello from the app: hi from the test"));
    assert_eq!(recorded_run_image(&image), world.run_image);

    // The phases of an untrusted builder: the lifecycle image has no roots of its own,
    // so both CAs come from cnb.
    let Some(lifecycle) = world.push_lifecycle_image() else {
        return;
    };
    let mut phases = with_ca.clone();
    phases.retain(|a| a != "--trust-builder");
    phases.extend(strings(&[
        "--lifecycle-image",
        &lifecycle,
        "--registry-ca",
        &format!("{}={}", world.registry.host(), origin_ca.display()),
    ]));
    phases[1] = target.image(&format!("cnbtest/{}-app", world.id), "2");
    let out = cnb_with_env(&world.home, &phases, &env);
    assert_built(&out);
    assert!(out.stderr.contains("Phase 5/5: export"), "{}", out.stderr);
}

/// cnb's probes and fetches and the lifecycle's registry traffic go through a real proxy
/// in front of registries in other networks; `NO_PROXY` sends them around it.
#[test]
fn registry_traffic_goes_through_a_real_proxy_and_no_proxy_is_honoured() {
    if !docker_available() {
        return;
    }
    let Some(netns) = NetnsHost::start() else {
        return;
    };
    let Some(target_ns) = NetnsHost::start() else {
        return;
    };
    let Some(proxy) = TinyProxy::start_with_auth("cnbtest", "pr0xy-s3cret") else {
        return;
    };
    // Plain HTTP in one network (cnb reaches it through HTTP_PROXY), TLS with its own CA
    // in another (the lifecycle publishes there through HTTPS_PROXY).
    let far = TestRegistry::start_in_netns(&netns, RegistryOptions::plain());
    let target = TestRegistry::start_in_netns(&target_ns, RegistryOptions::plain().tls());
    let target_ca = target.cert_path().unwrap().display().to_string();
    let Some(world) = RealWorld::on(far, RealBuilderOptions::new("")) else {
        return;
    };
    let host = world.registry.host();
    let _loaded = DaemonImages(vec![world.builder.clone(), world.run_image.clone()]);
    let url = proxy.url();
    let env = [
        ("HTTP_PROXY", url.as_str()),
        ("HTTPS_PROXY", url.as_str()),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ];
    let through = |path: &str| {
        proxy
            .requests()
            .iter()
            .any(|r| r.contains(&format!("http://{host}{path}")))
    };
    let connects = || {
        proxy
            .requests()
            .iter()
            .filter(|r| r.starts_with(&format!("CONNECT {}", target.host())))
            .count()
    };

    // Daemon mode: cnb probes the builder and the run image and, since the daemon refuses
    // plain HTTP off loopback, fetches them itself, all through the proxy.
    let daemon = world.build_args(&["--insecure-registry", &host]);
    let out = cnb_with_env(&world.home, &daemon, &env);
    assert_built(&out);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("pr0xy-s3cret"), "{text}");
    }
    assert!(
        out.stderr.contains(&format!(
            "because the lifecycle must reach the proxy {}, which is on loopback",
            proxy.host()
        )),
        "{}",
        out.stderr
    );
    for path in [
        format!("/v2/cnbtest/{}-builder/manifests/latest", world.id),
        format!("/v2/cnbtest/{}-builder/blobs/", world.id),
        format!("/v2/cnbtest/{}-run/manifests/latest", world.id),
    ] {
        assert!(through(&path), "{path}: {:#?}", proxy.requests());
    }
    assert!(run_app(&world.image).contains("hello from the app"));

    // --publish to the TLS registry: what cnb itself sends there (the dry run) and then
    // what the build sends; the lifecycle's own tunnels are the difference.
    let mut publish = world.build_args(&[
        "--publish",
        "--insecure-registry",
        &host,
        "--registry-ca",
        &format!("{}={target_ca}", target.host()),
    ]);
    let image = target.image(&format!("cnbtest/{}-app", world.id), "1");
    publish[1] = image.clone();
    let before = connects();
    let mut dry = publish.clone();
    dry.push("--dry-run".to_string());
    cnb_with_env(&world.home, &dry, &env).assert_success();
    let by_cnb = connects() - before;
    assert!(
        by_cnb >= 1,
        "cnb's check of {image} did not go through the proxy"
    );
    let before = connects();
    let out = cnb_with_env(&world.home, &publish, &env);
    assert_built(&out);
    assert!(
        out.stderr.contains(&format!(
            "the lifecycle reaches the insecure registry {host} directly"
        )),
        "{}",
        out.stderr
    );
    assert!(
        connects() - before > by_cnb,
        "the lifecycle did not publish through the proxy ({by_cnb} tunnels by cnb alone, {} by the build): {:#?}\n{}",
        connects() - before,
        proxy.requests(),
        out.stderr
    );
    let client = HttpClient::trusting(target.cert_path().unwrap());
    let manifest = client
        .request(
            "GET",
            &format!("{}/v2/cnbtest/{}-app/manifests/1", target.url(), world.id),
            &[("Accept", MANIFEST_ACCEPT)],
            None,
        )
        .unwrap();
    assert_eq!(manifest.status, 200, "the app was not published");

    // NO_PROXY names both registries: nothing goes through the proxy, and it builds.
    let before = proxy.requests().len();
    let no_proxy = format!("{},{}", netns.ip(), target_ns.ip());
    let direct = [
        ("HTTP_PROXY", url.as_str()),
        ("HTTPS_PROXY", url.as_str()),
        ("NO_PROXY", no_proxy.as_str()),
    ];
    publish[1] = target.image(&format!("cnbtest/{}-app", world.id), "2");
    publish.extend(strings(&["--network", "host"]));
    let out = cnb_with_env(&world.home, &publish, &direct);
    assert_built(&out);
    assert_eq!(
        proxy.requests().len(),
        before,
        "NO_PROXY was not honoured: {:#?}",
        &proxy.requests()[before..]
    );
}

#[test]
fn bindings_env_files_and_project_toml_change_what_the_real_build_makes() {
    if !docker_available() {
        return;
    }
    let Some(world) = RealWorld::new() else {
        return;
    };
    world.app_file("secret.txt", "do not ship\n");
    world.app_file(
        "project.toml",
        r#"[_]
schema-version = "0.2"

[io.buildpacks]
exclude = ["secret.txt", "notes/"]

[[io.buildpacks.group]]
id = "cnb-test/hello"

[[io.buildpacks.build.env]]
name = "GREETING"
value = "from project.toml"

[[io.buildpacks.build.env]]
name = "OVERRIDDEN"
value = "from project.toml"
"#,
    );
    std::fs::create_dir(world.app.join("notes")).unwrap();
    world.app_file("notes/todo", "x");
    let bindings = world.home.mkdir("bindings/db");
    std::fs::write(bindings.join("user"), "admin").unwrap();
    std::fs::write(bindings.join("type"), "postgres").unwrap();
    let env_file = world.home.path().join("build.env");
    std::fs::write(
        &env_file,
        "# build settings\nOVERRIDDEN=from the env file\nFROM_FILE=yes\n",
    )
    .unwrap();
    let volume = format!("{}:/platform/bindings/db", bindings.display());
    let env_file = env_file.display().to_string();
    let extra = ["--volume", &volume, "--env-file", &env_file, "-v"];

    let out = world.build(&extra);
    assert_built(&out);
    for line in [
        "cnb-test/hello: binding db/user=admin",
        "cnb-test/hello: binding db/type=postgres",
        "cnb-test/hello: platform env GREETING=from project.toml",
        "cnb-test/hello: platform env OVERRIDDEN=from the env file",
        "cnb-test/hello: platform env FROM_FILE=yes",
    ] {
        assert!(out.stdout.contains(line), "{line}:\n{}", out.stdout);
    }
    let files = workspace_of(&world.image);
    assert!(files.contains("message"), "{files}");
    assert!(files.contains("project.toml"), "{files}");
    assert!(!files.contains("secret.txt"), "{files}");
    // `notes/` excludes what is in the directory, not the directory itself (as pack).
    let notes = docker_run(&[
        "--pull",
        "never",
        "--entrypoint",
        "/bin/ls",
        &world.image,
        "-a",
        "/workspace/notes",
    ]);
    assert!(!notes.stdout.contains("todo"), "{}", notes.stdout);
    assert!(run_app(&world.image).contains("hello from the app: hi from the test"));

    // The phases: volumes reach the builder's detect and build.
    let Some(lifecycle) = world.push_lifecycle_image() else {
        return;
    };
    let mut args = world.build_args(&extra);
    args.retain(|a| a != "--trust-builder");
    args.extend(strings(&["--lifecycle-image", &lifecycle]));
    let out = run_cnb(&world.home, &args);
    assert_built(&out);
    assert!(
        out.stderr.contains("gets your --volume mounts"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("cnb-test/hello: binding db/user=admin"),
        "{}",
        out.stdout
    );
    assert!(!workspace_of(&world.image).contains("secret.txt"));

    // What cnb cannot honour stops the build before it starts.
    world.app_file(
        "project.toml",
        "[_]\nschema-version = \"0.2\"\n[[io.buildpacks.group]]\nuri = \"docker://registry.corp.example/bp:1\"\n",
    );
    let out = world.build(&[]);
    assert_eq!(out.code(), 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("cnb-test/hello@0.0.1"),
        "{}",
        out.stderr
    );
    let out = world.build(&["--volume", &format!("{}:/workspace/x", bindings.display())]);
    assert_eq!(out.code(), 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("/platform/bindings/<name>"),
        "{}",
        out.stderr
    );
}

#[test]
fn dry_run_shows_mounts_proxies_cas_and_the_filter_without_secrets() {
    if !docker_available() {
        return;
    }
    let Some(world) = RealWorld::new() else {
        return;
    };
    world.app_file(
        "project.toml",
        "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\nexclude = [\"*.log\"]\n",
    );
    let bindings = world.home.mkdir("bindings/npm");
    let ca_registry = TestRegistry::start(RegistryOptions::plain().tls());
    let ca = ca_registry.cert_path().unwrap().display().to_string();
    let volume = format!("{}:/platform/bindings/npm:rw", bindings.display());
    let mut args = world.build_args(&[
        "--dry-run",
        "--output",
        "json",
        "--volume",
        &volume,
        "--registry-ca",
        &format!("{}={ca}", world.registry.host()),
        "-vv",
    ]);
    args.retain(|a| a != "-vv");
    let env = [
        (
            "HTTPS_PROXY",
            "http://me:pr0xy-s3cret@proxy.corp.example:3128",
        ),
        (
            "http_proxy",
            "http://me:pr0xy-s3cret@proxy.corp.example:3128",
        ),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ];
    let out = cnb_with_env(&world.home, &args, &env);
    out.assert_success();
    assert!(!out.stdout.contains("pr0xy-s3cret"), "{}", out.stdout);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let lifecycle = &plan["lifecycle"];
    assert_eq!(
        lifecycle["env"]["HTTPS_PROXY"],
        "http://me:<redacted>@proxy.corp.example:3128"
    );
    assert_eq!(
        lifecycle["env"]["http_proxy"],
        "http://me:<redacted>@proxy.corp.example:3128"
    );
    assert_eq!(lifecycle["env"]["NO_PROXY"], "localhost,127.0.0.1");
    let mounts: Vec<&str> = lifecycle["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert!(mounts.contains(&volume.as_str()), "{mounts:?}");
    let ca_file = format!(
        "/platform/cnb/registry-ca/1-{}.crt",
        world.registry.host().replace(':', "_")
    );
    assert_eq!(lifecycle["files"][&ca_file], "(1 PEM certificate)");
    assert_eq!(
        lifecycle["env"]["SSL_CERT_DIR"],
        "/etc/ssl/certs:/etc/pki/tls/certs:/platform/cnb/registry-ca"
    );
    assert_eq!(lifecycle["app_filter"], "exclude: *.log");

    // The text plan and -vv say the same, and no password either.
    args.retain(|a| a != "json" && a != "--output");
    args.push("-vv".to_string());
    let out = cnb_with_env(&world.home, &args, &env);
    out.assert_success();
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("pr0xy-s3cret"), "{text}");
    }
    assert!(out.stdout.contains(&volume), "{}", out.stdout);
    assert!(
        out.stdout.contains("(project.toml exclude: *.log)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("HTTPS_PROXY=http://me:<redacted>@proxy.corp.example:3128"),
        "{}",
        out.stderr
    );
}
